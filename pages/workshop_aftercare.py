"""After the session: the printable certificate of completion (an attendee's own, or any attendee's for the
instructors) and the timeline replay of the session (instructors)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nicegui import APIRouter, ui

from components import theme
from components.frame import frame
from pages.common import page_user
from services.core import i18n
from services.core.auth import Role
from services.core.errors import ServiceError
from services.core.i18n import _
from services.wiring import Services
from services.workshops.aftercare import Certificate, certificate, timeline

PRINT_CSS = """
@media print {
  .no-print, .q-header, .q-drawer, .q-footer, .q-notifications { display: none !important; }
  .q-page-container { padding: 0 !important; }
  body { background: white !important; }
  .certificate { border: 6px double #555 !important; box-shadow: none !important; }
}
@page { size: A4 landscape; margin: 12mm; }
"""


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/workshops')

    async def show_certificate(workshop_id: int, user_id: int | None) -> None:
        user = await page_user(services)
        if user is None:
            return
        try:
            record = await certificate(services.workshops, user.id, workshop_id, user_id)
        except ServiceError as exc:
            with frame(services, user, _('Certificate')):
                ui.label(_(exc.message)).classes('text-negative')
                ui.link(_('Back to your workshops'), '/workshops')
            return
        theme.apply()
        ui.page_title(_('Certificate · {name} · {workshop}', name=record.attendee_name, workshop=record.workshop_title))
        ui.add_css(PRINT_CSS)
        _certificate(record, back=f'/workshops/{workshop_id}' + ('/timeline' if user_id else ''))

    @router.page('/{workshop_id}/certificate')
    async def own_certificate(workshop_id: int) -> None:
        await show_certificate(workshop_id, None)

    @router.page('/{workshop_id}/certificate/{user_id}')
    async def attendee_certificate(workshop_id: int, user_id: int) -> None:
        await show_certificate(workshop_id, user_id)

    @router.page('/{workshop_id}/timeline')
    async def timeline_page(workshop_id: int) -> None:
        user = await page_user(services, Role.INSTRUCTOR)
        if user is None:
            return
        try:
            data = await timeline(services.workshops, user.id, workshop_id)
            people = await services.workshops.identity.attendees(user.id, workshop_id)
        except ServiceError as exc:
            with frame(services, user, _('Timeline')):
                ui.label(_(exc.message)).classes('text-negative')
            return
        with frame(services, user, _('Timeline · {title}', title=data['workshop']['title'])):
            Replay(data).build()
            _certificates(workshop_id, people)

    return router


def _certificate(record: Certificate, *, back: str) -> None:
    """The certificate as a document: a main landmark, its title the page's one h1, the attendee and the workshop
    as h2, the completed steps as a list."""
    passed = record.passed
    with ui.element('main').classes('w-full flex flex-col items-center p-6 gap-4'):
        with ui.row().classes('no-print gap-2'):
            ui.button(_('Print'), icon='print', on_click=lambda: ui.run_javascript('window.print()')).mark('cert-print')
            ui.button(_('Back'), icon='arrow_back', on_click=lambda: ui.navigate.to(back)).props('flat')
        with ui.card().classes('certificate w-full max-w-3xl items-center gap-3 p-10 text-center').props('bordered'):
            ui.label(theme.PRODUCT_NAME).classes('text-sm uppercase tracking-widest text-gray-700 dark:text-gray-300')
            _heading(1, _('Certificate of completion'), 'text-4xl font-serif font-normal').mark('cert-title')
            ui.label(_('This certifies that')).classes('text-gray-700 dark:text-gray-300')
            _heading(2, record.attendee_name, 'text-3xl font-semibold').mark('cert-name')
            ui.label(_('took part in the workshop')).classes('text-gray-700 dark:text-gray-300')
            _heading(2, record.workshop_title, 'text-2xl font-normal').mark('cert-workshop')
            when = i18n.day(record.date.astimezone())
            ui.label(
                _('held on {date} · run by {instructor}', date=when, instructor=record.instructor_name)
                if record.ended
                else _('in progress since {date} · run by {instructor}', date=when, instructor=record.instructor_name)
            )
            ui.label(_('and completed {done} of {total} steps:', done=len(passed), total=len(record.steps))).classes(
                'mt-2'
            ).mark('cert-count')
            if not passed:
                ui.label(_('No step completed yet.')).classes('text-gray-700 dark:text-gray-300')
            with ui.element('ul').classes('flex flex-col items-start gap-1 list-none p-0 m-0'):
                for step in passed:
                    with ui.element('li').classes('flex items-center gap-2 no-wrap'):
                        ui.icon('check_circle', color='positive').props('aria-hidden=true')
                        ui.label(step.title).mark('cert-step')
            if not record.ended:
                ui.label(_('The workshop is still running: this record grows as you complete steps.')).classes(
                    'text-sm text-gray-700 dark:text-gray-300 no-print'
                )


def _heading(level: int, text: str, classes: str) -> ui.label:
    """A real heading (h1, h2, ...) that looks like the label it replaces (not like Quasar's h1, h2)."""
    label = ui.label(text).classes(f'{classes} m-0 tracking-normal')
    label.tag = f'h{level}'
    return label


def _certificates(workshop_id: int, people: list[dict[str, Any]]) -> None:
    ui.label(_('Certificates of completion')).classes('text-lg font-semibold mt-4')
    if not people:
        ui.label(_('No attendees.')).classes('text-gray-700 dark:text-gray-300')
    with ui.row().classes('w-full gap-3'):
        for p in people:
            link = ui.link(f'{p["name"]} ({p["steps_done"]})', f'/workshops/{workshop_id}/certificate/{p["user_id"]}')
            link.mark(f'cert-link-{p["user_id"]}')
            link._props['aria-label'] = _(
                'Certificate of {name} ({steps} step(s) done)', name=p['name'], steps=p['steps_done']
            )


class Replay:
    """The session over time: a chart of attendees, completed steps and hands, and a slider that shows the class at
    one moment (steps done per step, hands open)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.frames = data['frames']

    def build(self) -> None:
        data = self.data
        with ui.row().classes('w-full items-center gap-4'):
            ui.label(
                _(
                    '{attendees} attendee(s) · {hands} raised hand(s)',
                    attendees=data['attendees'],
                    hands=len(data['hands']),
                )
            ).mark('tl-head')
            stuck = next((s for s in data['per_step'] if s['stuck']), None)
            if stuck:
                ui.label(_('The class got stuck most at: {title}', title=stuck['title'])).classes(
                    'text-warning font-semibold'
                ).mark('tl-stuck')
        start, end = (datetime.fromisoformat(data['workshop'][k]).astimezone() for k in ('start', 'end'))
        ui.label(_('From {start} to {end}', start=i18n.moment(start), end=i18n.moment(end))).classes(
            'text-sm text-gray-700 dark:text-gray-300'
        ).mark('tl-span')
        if not data['steps'] and not data['attendees']:
            ui.label(_('Nothing happened in this workshop yet: no attendees, no steps.')).classes(
                'text-gray-700 dark:text-gray-300'
            )
            return
        chart = ui.echart(self._over_time()).classes('w-full h-72').mark('tl-chart')
        chart.props('role=img')
        chart._props['aria-label'] = _(
            'Chart: attendees, steps completed and hands up over the session, minute by minute. The tables below '
            'hold the same figures.'
        )
        with ui.row().classes('w-full items-center gap-4'):
            ui.label(_('Replay')).classes('font-semibold')
            self.slider = ui.slider(min=0, max=len(self.frames) - 1, value=len(self.frames) - 1, step=1)
            self.slider.classes('grow').props('label-always=false').mark('tl-slider')
            self.slider._props['aria-label'] = _('Moment of the session to replay')
            self.moment = ui.label().classes('w-80 text-sm').mark('tl-moment').props('aria-live=polite')
        self.steps_chart = ui.echart(self._at_frame(len(self.frames) - 1)).classes('w-full h-64').mark('tl-steps')
        self.steps_chart.props('role=img')
        self.steps_chart._props['aria-label'] = _('Chart: how many attendees had done each step at that moment.')
        self.slider.on_value_change(lambda e: self.show(int(e.value)))
        self.show(len(self.frames) - 1)
        self._stuck_table()
        self._hands_table()

    def show(self, index: int) -> None:
        frame_ = self.frames[max(0, min(index, len(self.frames) - 1))]
        self.moment.text = _(
            'minute {minute}: {attendees} attendee(s), {completed} step(s) done, {hands} hand(s) up',
            minute=i18n.number(frame_['minute']),
            attendees=frame_['attendees'],
            completed=frame_['completed'],
            hands=frame_['hands_open'],
        )
        self.steps_chart.options.update(self._at_frame(index))
        self.steps_chart.update()

    def _over_time(self) -> dict[str, Any]:
        minutes = [f['minute'] for f in self.frames]
        return {
            'title': {'text': _('The session over time (minutes since the start)'), 'textStyle': {'fontSize': 13}},
            'tooltip': {'trigger': 'axis'},
            'legend': {'bottom': 0},
            'xAxis': {'type': 'category', 'data': minutes, 'name': _('min')},
            'yAxis': {'type': 'value', 'minInterval': 1},
            'series': [
                {'name': _('attendees'), 'type': 'line', 'step': 'end', 'data': [f['attendees'] for f in self.frames]},
                {'name': _('steps completed'), 'type': 'line', 'data': [f['completed'] for f in self.frames]},
                {'name': _('hands up'), 'type': 'bar', 'data': [f['hands_open'] for f in self.frames]},
            ],
        }

    def _at_frame(self, index: int) -> dict[str, Any]:
        frame_ = self.frames[max(0, min(index, len(self.frames) - 1))]
        titles = [f'{i + 1}. {t}' for i, t in enumerate(self.data['steps'])]
        return {
            'title': {
                'text': _('Done per step at minute {minute}', minute=i18n.number(frame_['minute'])),
                'textStyle': {'fontSize': 13},
            },
            'xAxis': {'type': 'value', 'max': max(self.data['attendees'], 1), 'minInterval': 1},
            'yAxis': {'type': 'category', 'data': list(reversed(titles))},
            'series': [{'type': 'bar', 'data': list(reversed(frame_['per_step']))}],
            'grid': {'left': 180},
        }

    def _stuck_table(self) -> None:
        ui.label(_('Where the class got stuck')).classes('text-lg font-semibold')
        columns = [
            {'name': 'title', 'label': _('Step'), 'field': 'title', 'align': 'left'},
            {'name': 'done', 'label': _('Done'), 'field': 'done'},
            {'name': 'not_done', 'label': _('Not done'), 'field': 'not_done'},
            {'name': 'median', 'label': _('Median minutes'), 'field': 'median'},
            {'name': 'hands', 'label': _('Hands raised'), 'field': 'hands'},
            {'name': 'flag', 'label': _('Note'), 'field': 'flag', 'align': 'left'},
        ]
        rows = [
            {**s, 'id': i,
             'median': i18n.number(s['median_minutes']) if s['median_minutes'] is not None else '–',
             'flag': _('most stuck') if s['stuck'] else ''}
            for i, s in enumerate(self.data['per_step'])
        ]  # fmt: skip
        table = ui.table(columns=columns, rows=rows, row_key='id').props('dense flat bordered').classes('w-full')
        table.mark('tl-per-step')._props['aria-label'] = _('Where the class got stuck')

    def _hands_table(self) -> None:
        ui.label(_('Raised hands')).classes('text-lg font-semibold')
        if not self.data['hands']:
            ui.label(_('No hand was raised.')).classes('text-gray-700 dark:text-gray-300')
            return
        columns = [
            {'name': 'at', 'label': _('Time'), 'field': 'at', 'align': 'left'},
            {'name': 'minute', 'label': _('Minute'), 'field': 'minute'},
            {'name': 'name', 'label': _('Attendee'), 'field': 'name', 'align': 'left'},
            {'name': 'step', 'label': _('Step'), 'field': 'step', 'align': 'left'},
            {'name': 'message', 'label': _('Question'), 'field': 'message', 'align': 'left'},
            {'name': 'resolved', 'label': _('Resolved'), 'field': 'resolved', 'align': 'left'},
        ]
        rows = [
            {'id': i, 'at': i18n.clock(datetime.fromisoformat(h['at']).astimezone()),
             'minute': i18n.number(h['minute']), 'name': h['name'], 'step': h['step'], 'message': h['message'] or '',
             'resolved': _('after {minutes} min', minutes=i18n.number(h['resolved_after_min']))
             if h['resolved_after_min'] is not None else _('open')}
            for i, h in enumerate(self.data['hands'])
        ]  # fmt: skip
        table = ui.table(columns=columns, rows=rows, row_key='id').props('dense flat bordered').classes('w-full')
        table.mark('tl-hands')._props['aria-label'] = _('Raised hands')
