"""The live instructor dashboard: rendered once from the in-memory workshop state, then updated only by pushed deltas.

No timers and no database queries per viewer: the workshop's `changed` event carries a precomputed payload (changed
matrix rows, step counts, new feed items, open hands, a usage point, Ollama load) at most ~10 times a second.
"""

from __future__ import annotations

from typing import Any

from nicegui import APIRouter, ui

from components.forms import confirm, guarded
from components.frame import frame
from components.workshop_checks import CheckSummary
from pages.common import page_user, session_user_id
from pages.workshop_assistants import message_box
from pages.workshop_attend import LINK_CLASSES
from pages.workshop_pacing import Countdown, PacingControls
from pages.workshop_projector import projector_parts
from services.core import i18n
from services.core.auth import Role, UserInfo
from services.core.errors import ServiceError
from services.core.i18n import N_, _, _n
from services.wiring import Services
from services.workshops.live import LiveWorkshop
from services.workshops.pacing import Pace

FEED_ROWS = 50
MATRIX_CHUNK = 50  # the matrix is several tables of this many rows: a changed row re-sends only its table
CHART_POINTS = 60
PRESENCE_ICON = {'online': N_('● online'), 'idle': N_('◐ idle'), 'offline': N_('○ offline')}
CELL_MEANINGS = {  # the matrix symbols, as screen readers say them (the symbol itself is hidden from them)
    '✔': N_('ticked'),
    '⚡': N_('completed automatically (all checks passed)'),
    '✗': N_('a check failed'),
    '◐': N_('some checks passed'),
    '': N_('not tried'),
}
CELL_SLOT = (
    '<q-td :props="props"><span aria-hidden="true">{{ props.value }}</span>'
    '<span class="sr-only">{{ props.row[props.col.name + "_text"] }}</span></q-td>'
)
HAND_STATES = {'raised': N_('raised'), 'acknowledged': N_('acknowledged'), 'resolved': N_('resolved')}
FEED_LABELS = {
    'at': N_('At'),
    'name': N_('Name'),
    'action': N_('Action'),
    'model': N_('Model'),
    'tokens': N_('Tokens'),
    'latency': N_('Latency'),
    'detail': N_('Detail'),
}


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/workshops')

    @router.page('/{workshop_id}/dashboard')
    async def dashboard_page(workshop_id: int, projector: bool = False) -> None:
        assisting = await services.workshops.is_assistant(session_user_id(), workshop_id)  # any role may assist
        user = await page_user(services, Role.ATTENDEE if assisting else Role.INSTRUCTOR)
        if user is None:
            return
        try:
            info = await services.workshops.get(user.id, workshop_id)
            live = await services.workshops.dashboard(user.id, workshop_id)
        except ServiceError as exc:
            with frame(services, user, _('Dashboard')):
                ui.label(_(exc.message)).classes('text-red-700 dark:text-red-300')
            return
        with frame(services, user, _('Dashboard · {title}', title=info.title)):
            if live is None:
                ui.label(_('This workshop is not live. Start it to see the dashboard, or open its summary.'))
                ui.link(_('Summary'), f'/workshops/{workshop_id}/summary').classes(LINK_CLASSES)
                return
            dashboard = Dashboard(services, user, workshop_id, info.join_code, live, projector=projector)
            dashboard.manage = info.can_manage
            dashboard.build()
            if projector:
                await projector_parts(services, user, workshop_id)  # the arena leaderboard and the results gallery

    return router


class Dashboard:
    def __init__(
        self, services: Services, user: UserInfo, workshop_id: int, code: str, live: LiveWorkshop, *, projector: bool
    ) -> None:
        self.services = services
        self.user = user
        self.wid = workshop_id
        self.code = code
        self.live = live
        self.projector = projector
        self.name_key = 'alias' if projector else 'name'
        self.rows: list[dict[str, Any]] = []  # all matrix rows, in joining order
        self.where: dict[int, tuple[int, int]] = {}  # attendee id -> (chunk, index in chunk)
        self.chunks: list[list[dict[str, Any]]] = []
        self.tables: list[ui.table] = []
        self.filters: dict[str, Any] = {'user_id': None, 'action': None, 'model': None}
        self.manage = True  # False for an assistant: no announcements, moves, pacing or ending

    # ----- building --------------------------------------------------------------------------------------------------
    def build(self) -> None:
        snap = self.live.snapshot()
        big = 'text-2xl' if self.projector else ''
        with ui.row().classes(f'w-full items-center gap-4 {big}'):
            ui.label(_('Join at /join with code')).classes('text-gray-700 dark:text-gray-300')
            ui.label(self.code).classes('text-4xl font-mono font-bold tracking-widest').mark('dash-code')
            ui.space()
            self.summary = ui.label().classes('text-lg').props('role=status aria-live=polite').mark('dash-summary')
            target = f'/workshops/{self.wid}/dashboard' + ('' if self.projector else '?projector=true')
            ui.button(_('Normal mode') if self.projector else _('Projector mode'), icon='cast',
                      on_click=lambda: ui.navigate.to(target)).props('flat')  # fmt: skip
            if not self.projector:
                for label, icon, page in (
                    (_('Arena'), 'sports_mma', 'arena'),
                    (_('Gallery'), 'collections', 'gallery'),
                ):
                    ui.button(label, icon=icon, on_click=lambda p=page: ui.navigate.to(f'/workshops/{self.wid}/{p}')
                              ).props('flat').mark(f'dash-{page}')  # fmt: skip
        with ui.row().classes('items-center gap-2') as self.ended:
            ui.label(_('The workshop has ended.')).classes('text-lg text-amber-800 dark:text-amber-300').mark(
                'dash-ended'
            )
            ui.link(_('Open the summary'), f'/workshops/{self.wid}/summary').classes(LINK_CLASSES)
        self.ended.set_visibility(False)
        self.countdown = Countdown(self.live.pace, big=self.projector)
        if not self.projector and self.manage:
            self._actions()
            PacingControls(self.services, self.user, self.wid, self.live).build()
        if not self.projector:
            message_box(self.services, self.user, self.wid, self.live)
        with ui.row().classes('w-full gap-2').mark('step-counts') as self.counts_row:
            self.counts_row.props(f'role=status aria-live=polite aria-label="{_("Steps done")}"')
            self.count_labels = [
                ui.chip(
                    _('{number}. {title}: {count}', number=i + 1, title=s['title'], count=0), color='primary'
                ).props('outline')
                for i, s in enumerate(self.live.steps)
            ]
        self.hands_box = ui.column().classes('w-full gap-1').mark('hands')
        self.hands_box.props(f'role=log aria-live=polite aria-label="{_("Raised hands")}"')
        self._render_hands(snap['hands'])
        self.check_summary = CheckSummary(snap['checks'])
        self._matrix(snap['rows'])
        self._set_counts(snap['counts'])
        if not self.projector:
            self._feeds(snap['feed'])
            self._charts(snap)
        self.live.changed.subscribe(self.apply)

    def _actions(self) -> None:
        ws = self.services.workshops
        with ui.row().classes('w-full items-center gap-2'):
            text = ui.input(_('Announcement to everyone')).props('outlined dense').classes('grow').mark('announce-text')

            async def broadcast() -> None:
                if await guarded(lambda: ws.announce(self.user.id, self.wid, text.value or ''), success=_('Sent.')):
                    text.value = ''

            text.on('keydown.enter', broadcast)
            ui.button(_('Broadcast'), icon='campaign', on_click=broadcast).mark('announce-send')
            options = {i: _('{number}. {title}', number=i + 1, title=s['title']) for i, s in enumerate(self.live.steps)}
            step = (
                ui.select(options, value=0 if options else None, label=_('Step'))
                .props('outlined dense')
                .classes('w-56')
            )

            async def move() -> None:
                if step.value is None:
                    return
                await guarded(
                    lambda: ws.move_all(self.user.id, self.wid, int(step.value)), success=_('Everyone moved.')
                )

            ui.button(_('Move everyone'), on_click=move).props('flat').mark('move-all')

            async def end() -> None:
                if await confirm(
                    _('End the workshop?'), _('Attendees can no longer join, tick or raise hands.'), action=_('End')
                ):
                    await guarded(lambda: ws.end(self.user.id, self.wid), success=_('The workshop has ended.'))

            ui.button(_('End workshop'), icon='stop', color='negative', on_click=end).props('outline').mark('dash-end')

    def _matrix(self, rows: list[dict[str, Any]]) -> None:
        columns = [
            {'name': 'who', 'label': _('Attendee'), 'field': self.name_key, 'align': 'left', 'sortable': True},
            {'name': 'presence', 'label': _('Presence'), 'field': 'presence_text', 'align': 'left'},
            {'name': 'step', 'label': _('At step'), 'field': 'step', 'sortable': True},
        ]
        columns += [{'name': f's{i}', 'label': f'{i + 1}', 'field': f's{i}'} for i in range(len(self.live.steps))]
        columns.append({'name': 'stuck', 'label': _('Stuck'), 'field': 'stuck', 'align': 'left'})
        if not self.projector:
            columns += [
                {'name': 'last_seen', 'label': _('Last seen'), 'field': 'last_seen'},
                {'name': 'requests', 'label': _('Requests'), 'field': 'requests', 'sortable': True},
                {'name': 'tokens', 'label': _('Tokens'), 'field': 'tokens', 'sortable': True},
                {'name': 'latency', 'label': _('Avg ms'), 'field': 'latency', 'sortable': True},
                {'name': 'errors', 'label': _('Errors'), 'field': 'errors', 'sortable': True},
            ]
        for column in columns:
            column.pop('sortable', None)  # the matrix is split into tables of MATRIX_CHUNK rows: no global sort
        self.columns = columns
        self.matrix_classes = 'w-full text-xl' if self.projector else 'w-full'
        with ui.column().classes('w-full gap-0 overflow-y-auto').style('max-height: 60vh') as self.matrix_box:
            self._new_chunk()
            for row in rows:
                self._place(self._decorate(row))
        ui.label(
            _(
                'Click an attendee for their recent activity. ✔ ticked, ⚡ completed automatically (all checks '
                'passed), ✗ a check failed, ◐ some checks passed, empty: not tried.'
            )
        ).classes('text-xs text-gray-700 dark:text-gray-300')

    def _place(self, row: dict[str, Any]) -> int:
        """Put a row into its chunk (a new attendee goes into the last one, or a new table); returns the chunk."""
        found = self.where.get(row['id'])
        if found is not None:
            chunk, index = found
            self.chunks[chunk][index] = row
            self.rows[chunk * MATRIX_CHUNK + index] = row
            return chunk
        if not self.chunks or len(self.chunks[-1]) >= MATRIX_CHUNK:
            self._new_chunk()
        chunk = len(self.chunks) - 1
        self.chunks[chunk].append(row)
        self.rows.append(row)
        self.where[row['id']] = (chunk, len(self.chunks[chunk]) - 1)
        self.tables[chunk].rows = self.chunks[chunk]
        return chunk

    def _new_chunk(self) -> None:
        self.chunks.append([])
        with self.matrix_box:
            table = ui.table(columns=self.columns, rows=[], row_key='id', pagination=0).classes(self.matrix_classes)
        table.props('dense flat bordered hide-pagination table-style="table-layout: fixed"').mark('matrix')
        for i in range(len(self.live.steps)):  # the symbols carry meaning: screen readers get it in words
            table.add_slot(f'body-cell-s{i}', CELL_SLOT)
        if self.tables:
            table.props('hide-header')
        if not self.projector:
            table.on('row-click', lambda e: self._drill(e.args[1]['id']))
        self.tables.append(table)

    def _decorate(self, row: dict[str, Any]) -> dict[str, Any]:
        row = dict(row)
        row['alias'] = _(row['alias']) if row.get('alias') else ''  # "Attendee 3" on the projector, translated
        row['stuck'] = _(row['stuck']) if row.get('stuck') else ''  # "no progress for 5 min", likewise
        row['presence_text'] = _(PRESENCE_ICON.get(row['presence'], row['presence']))
        for i in range(len(self.live.steps)):
            row[f's{i}_text'] = _(CELL_MEANINGS.get(row.get(f's{i}', ''), ''))
        return row

    def _feeds(self, feed: list[dict[str, Any]]) -> None:
        people = {a.user_id: a.name for a in self.live.attendees.values()}
        with ui.row().classes('w-full items-center gap-2'):
            ui.label(_('Activity')).classes('text-lg font-semibold')
            who = ui.select({None: _('everyone'), **people}, value=None, label=_('Attendee'))
            who.on_value_change(lambda e: self._filter('user_id', e.value))
            who.props('outlined dense').classes('w-48').mark('filter-attendee')
            ui.input(_('Type (action)'), on_change=lambda e: self._filter('action', e.value or None)).props(
                'outlined dense debounce=300'
            ).classes('w-40')
            ui.input(_('Model'), on_change=lambda e: self._filter('model', e.value or None)).props(
                'outlined dense debounce=300'
            ).classes('w-40')
        columns = [
            {'name': c, 'label': _(FEED_LABELS[c]), 'field': c, 'align': 'left'}
            for c in ('at', 'name', 'action', 'model', 'tokens', 'latency', 'detail')
        ]
        self.feed_table = ui.table(columns=columns, rows=[], row_key='id', pagination=0).classes('w-full')
        self.feed_table.props('dense flat bordered hide-pagination').style('max-height: 40vh').mark('feed')
        ui.label(_('Errors')).classes('text-lg font-semibold')
        error_columns = [*columns[:4], {'name': 'error', 'label': _('Error'), 'field': 'error', 'align': 'left'}]
        self.error_table = ui.table(columns=error_columns, rows=[], row_key='id', pagination=0).classes('w-full')
        self.error_table.props('dense flat bordered hide-pagination').style('max-height: 30vh').mark('errors')
        self._reset_feeds(feed)

    def _charts(self, snap: dict[str, Any]) -> None:
        self.points: list[dict[str, Any]] = list(snap['timeline'])[-CHART_POINTS:]
        with ui.row().classes('w-full gap-4 no-wrap max-lg:flex-wrap'):
            self.model_chart = ui.echart(self._model_options()).classes('w-full h-64').mark('chart-models')
            self.total_chart = ui.echart(self._total_options()).classes('w-full h-64').mark('chart-totals')
        with ui.row().classes('w-full gap-4 no-wrap max-lg:flex-wrap'):
            self.top_chart = ui.echart(self._top_options(self.live.top_attendees())).classes('w-full h-64')
            with ui.column().classes('w-full gap-1'):
                ui.label(_('Ollama load')).classes('text-lg font-semibold')
                self.load_label = ui.markdown(self._load_text(snap['load'])).mark('load')
        for chart, name in (
            (self.model_chart, _('Chart: requests per model over time')),
            (self.total_chart, _('Chart: tokens, average latency and errors over time')),
            (self.top_chart, _('Chart: requests per attendee, the top 15')),
        ):
            chart._props['role'] = 'img'
            chart._props['aria-label'] = name

    # ----- live updates ----------------------------------------------------------------------------------------------
    def apply(self, payload: dict[str, Any]) -> None:
        if 'pace' in payload:
            self.countdown.show(Pace(**payload['pace']))
        if payload.get('ended'):
            self.ended.set_visibility(True)
            return
        if payload.get('reload'):
            ui.navigate.reload()
            return
        if 'rows' in payload:
            dirty: set[int] = set()
            for row in payload['rows']:
                dirty.add(self._place(self._decorate(row)))
            for chunk in dirty:  # only the tables whose rows changed are sent again
                self.tables[chunk].rows = self.chunks[chunk]
                self.tables[chunk].update()
            self._set_counts(payload['counts'])
        if 'hands' in payload:
            self._render_hands(payload['hands'])
        if 'checks' in payload:
            self.check_summary.show(payload['checks'])
        if self.projector:
            return
        if 'feed' in payload:
            self._add_feed(payload['feed'])
        if 'point' in payload:
            self.points = [*self.points, payload['point']][-CHART_POINTS:]
            self.model_chart.options.update(self._model_options())
            self.model_chart.update()
            self.total_chart.options.update(self._total_options())
            self.total_chart.update()
            self.top_chart.options.update(self._top_options(payload['top']))
            self.top_chart.update()
            self.load_label.content = self._load_text(payload['load'])

    def _set_counts(self, counts: list[int]) -> None:
        total = len(self.rows)
        for chip, step, count in zip(self.count_labels, self.live.steps, counts, strict=False):
            chip.text = _('{title}: {count}/{total} done', title=step['title'], count=count, total=total)
        online = sum(1 for r in self.rows if r['presence'] == 'online')
        stuck = sum(1 for r in self.rows if r['stuck'])
        self.summary.text = _(
            '{total} attendee(s) · {online} online · {stuck} stuck', total=total, online=online, stuck=stuck
        )

    def _render_hands(self, hands: list[dict[str, Any]]) -> None:
        self.hands_box.clear()
        ws = self.services.workshops
        with self.hands_box:
            if not hands:
                return
            ui.label(_('Raised hands ({count})', count=len(hands))).classes('text-lg font-semibold')
            for number, hand in enumerate(hands, start=1):
                with ui.row().classes('w-full items-center gap-2 bg-amber-50 dark:bg-amber-950 px-2 rounded'):
                    ui.icon('back_hand', color='warning').props('aria-hidden=true')
                    who = _('Hand {number}', number=number) if self.projector else hand['name']
                    said = hand['message'] or _('(no message)')
                    ui.label(_('{at} {who}: {message}', at=hand['at'], who=who, message=said)).mark(
                        f'hand-{hand["id"]}'
                    )
                    ui.badge(_(HAND_STATES.get(hand['state'], hand['state'])))
                    if self.projector:
                        continue

                    async def set_state(state: str, hid: int = hand['id']) -> None:
                        await guarded(lambda: ws.update_hand(self.user.id, self.wid, hid, state))

                    if hand.get('claimed_by'):
                        ui.label(_('{name} is on the way', name=hand['claimed_by'])).classes('text-sm').mark(
                            f'claimed-{hand["id"]}'
                        )
                    else:
                        ui.button(_('Claim'), on_click=lambda hid=hand['id']: self._claim(hid)).props(
                            'flat dense'
                        ).mark(f'claim-{hand["id"]}')
                    ui.button(_('Resolve'), on_click=lambda s=set_state: s('resolved')).props('flat dense').mark(
                        f'resolve-{hand["id"]}'
                    )

    async def _claim(self, hand_id: int) -> None:
        await guarded(lambda: self.services.workshops.claim_hand(self.user.id, self.wid, hand_id))

    def _matches(self, item: dict[str, Any]) -> bool:
        f = self.filters
        return (
            (f['user_id'] is None or item['user_id'] == f['user_id'])
            and (f['action'] is None or f['action'].lower() in item['action'])
            and (f['model'] is None or f['model'].lower() in item['model'].lower())
        )

    def _filter(self, key: str, value: Any) -> None:
        self.filters[key] = value
        self._reset_feeds(list(self.live.feed))

    def _reset_feeds(self, feed: list[dict[str, Any]]) -> None:
        items = [i for i in reversed(feed) if self._matches(i)]
        self.feed_table.rows = items[:FEED_ROWS]
        self.error_table.rows = [i for i in items if i['error']][:FEED_ROWS]
        self.feed_table.update()
        self.error_table.update()

    def _add_feed(self, items: list[dict[str, Any]]) -> None:
        new = [i for i in reversed(items) if self._matches(i)]
        if not new:
            return
        self.feed_table.rows = (new + self.feed_table.rows)[:FEED_ROWS]
        self.feed_table.update()
        errors = [i for i in new if i['error']]
        if errors:
            self.error_table.rows = (errors + self.error_table.rows)[:FEED_ROWS]
            self.error_table.update()

    async def _drill(self, user_id: int) -> None:
        items = await guarded(lambda: self.services.workshops.attendee_activity(self.user.id, self.wid, user_id))
        if items is None:
            return
        attendee = self.live.attendees.get(user_id)
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-3xl'):
            title = (
                _('Recent activity of {name}', name=attendee.name) if attendee else _('Recent activity of the attendee')
            )
            ui.label(title).classes('text-lg font-semibold')
            if not items:
                ui.label(_('Nothing recorded in this workshop yet.')).classes('text-gray-700 dark:text-gray-300')
            rows = [
                {'id': a.id, 'at': a.created_at.strftime('%H:%M:%S'), 'action': a.action, 'model': a.model or '',
                 'tokens': a.tokens or 0, 'latency': round(a.latency_ms or 0), 'error': a.error or ''}
                for a in items
            ]  # fmt: skip
            labels = {'id': _('ID'), 'at': _('AT'), 'action': _('ACTION'), 'model': _('MODEL'), 'tokens': _('TOKENS'),
                      'latency': _('LATENCY'), 'error': _('ERROR')}  # fmt: skip
            columns = [{'name': key, 'label': label, 'field': key, 'sortable': True} for key, label in labels.items()]
            ui.table(columns=columns, rows=rows, row_key='id').props('dense flat').classes('w-full').mark('drill')
            ui.button(_('Close'), on_click=dialog.close).props('flat')
        dialog.open()

    # ----- chart options ---------------------------------------------------------------------------------------------
    def _model_options(self) -> dict[str, Any]:
        models = sorted({m for p in self.points for m in p['models']})
        return {
            'title': {'text': _('Requests per model (per sample)'), 'textStyle': {'fontSize': 13}},
            'tooltip': {'trigger': 'axis'},
            'legend': {'bottom': 0},
            'xAxis': {'type': 'category', 'data': [p['t'] for p in self.points]},
            'yAxis': {'type': 'value'},
            'series': [
                {'name': m, 'type': 'line', 'data': [p['models'].get(m, {}).get('requests', 0) for p in self.points]}
                for m in models
            ],
        }

    def _total_options(self) -> dict[str, Any]:
        def total(p: dict[str, Any], key: str) -> int:
            return sum(v[key] for v in p['models'].values())

        def latency(p: dict[str, Any]) -> int:
            values = [v['latency'] for v in p['models'].values() if v['latency']]
            return round(sum(values) / len(values)) if values else 0

        return {
            'title': {'text': _('Tokens, avg latency (ms), errors'), 'textStyle': {'fontSize': 13}},
            'tooltip': {'trigger': 'axis'},
            'legend': {'bottom': 0},
            'xAxis': {'type': 'category', 'data': [p['t'] for p in self.points]},
            'yAxis': [{'type': 'value'}, {'type': 'value'}],
            'series': [
                {'name': _('tokens'), 'type': 'line', 'data': [total(p, 'tokens') for p in self.points]},
                {'name': _('avg ms'), 'type': 'line', 'yAxisIndex': 1, 'data': [latency(p) for p in self.points]},
                {
                    'name': _('errors'),
                    'type': 'bar',
                    'yAxisIndex': 1,
                    'data': [total(p, 'errors') for p in self.points],
                },
            ],
        }

    def _top_options(self, top: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            'title': {'text': _('Requests per attendee (top 15)'), 'textStyle': {'fontSize': 13}},
            'xAxis': {'type': 'value'},
            'yAxis': {'type': 'category', 'data': [_(t[self.name_key]) for t in reversed(top)]},
            'series': [{'name': _('Requests'), 'type': 'bar', 'data': [t['requests'] for t in reversed(top)]}],
            'grid': {'left': 120},
        }

    @staticmethod
    def _load_text(load: dict[str, Any]) -> str:
        if not load:
            return _('_Sampling…_')
        lines = []
        rates = load.get('rates', {})
        room = load.get('room') or {}
        slots = {h['url']: h for h in room.get('hosts', [])}
        for url, models in load.get('hosts', {}).items():
            running = _('unreachable') if models is None else (', '.join(models) or _('no model loaded'))
            rate = rates.get(url, 0)
            line = _n(
                '- `{url}`: {running}; {count} request(s) in the last sample',
                '- `{url}`: {running}; {count} request(s) in the last sample',
                rate,
                url=url,
                running=running,
                count=rate,
            )
            if (h := slots.get(url)) is not None:
                slots_text = _(
                    '; slots {active}/{slots} in use, {queued} waiting',
                    active=h['active'],
                    slots=h['slots'],
                    queued=h['queued'],
                )
                line += slots_text
                if h['down']:
                    line += _(' — **down** (calls go to other hosts)')
            lines.append(line)
        waiting = room.get('waiting') or []
        if waiting:
            people = ', '.join(f'{w["name"]} ({i18n.number(w["waited_s"], 0)} s)' for w in waiting[:8])
            people += ' …' if len(waiting) > 8 else ''
            lines.append('\n' + _('**Waiting for a slot:** {people}', people=people))
        if room.get('refused_busy'):
            lines.append('\n' + _('Calls refused because the room was busy: {count}', count=room['refused_busy']))
        return '\n'.join(lines) or _('_No Ollama hosts configured._')
