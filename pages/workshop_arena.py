"""The blind arena of a workshop (/workshops/{id}/arena): attendees send one prompt to two unnamed models, vote, then
see the names; instructors pick the arena models and export the leaderboard. The leaderboard is live everywhere
(here and on the projector view) from the service's arena event.

Before a vote the page holds no model name anywhere (no text, no prop): it never receives one from the service.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import HTTPException
from fastapi.responses import Response
from nicegui import APIRouter, background_tasks, ui

from components.forms import error_label, guarded
from components.frame import frame
from pages.common import page_user, session_user_id
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.i18n import _
from services.wiring import Services
from services.workshops.arena import VOTES, Battle, export_json, leaderboard_csv


def board_columns() -> list[dict[str, Any]]:
    """The leaderboard's columns, labelled in the current language."""
    return [
        {'name': 'rank', 'label': '#', 'field': 'rank', 'align': 'left'},
        {'name': 'model', 'label': _('Model'), 'field': 'model', 'align': 'left'},
        {'name': 'rating', 'label': _('Elo'), 'field': 'rating'},
        {'name': 'battles', 'label': _('Votes'), 'field': 'battles'},
        {'name': 'wins', 'label': _('Won'), 'field': 'wins'},
        {'name': 'losses', 'label': _('Lost'), 'field': 'losses'},
        {'name': 'ties', 'label': _('Tie'), 'field': 'ties'},
        {'name': 'both_bad', 'label': _('Both bad'), 'field': 'both_bad'},
    ]


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/workshops')

    @router.page('/{workshop_id}/arena')
    async def arena_page(workshop_id: int) -> None:
        user = await page_user(services)
        if user is None:
            return
        ws = services.workshops
        try:
            info = await ws.get(user.id, workshop_id)
            board = [board_row(r) for r in await ws.arena_leaderboard(user.id, workshop_id)]
            models, allowed = await ws.arena_models(user.id, workshop_id) if info.can_manage else ([], [])
            battle = None if info.can_manage else await ws.arena_open_battle(user.id, workshop_id)
        except ServiceError as exc:
            with frame(services, user, _('Arena')):
                ui.label(_(exc.message)).classes('text-negative')
            return
        with frame(services, user, _('Arena · {title}', title=info.title)):
            ui.link(_('Back to the workshop'), f'/workshops/{workshop_id}').classes('text-sm')
            panel = None
            if info.can_manage:
                _settings(services, user, workshop_id, models, allowed)
            else:
                panel = BattlePanel(services, user, workshop_id)
                panel.build()
            ui.label(_('Class leaderboard')).classes('text-lg font-semibold mt-4')
            # an attendee's page starts without the table's rows (they would stay in the page's source during a
            # battle): they arrive once the page is connected, unless a battle waits for the vote
            board_view = Leaderboard(services, workshop_id, board, hidden=panel is not None)
            if info.can_manage:
                base = f'/workshops/{workshop_id}/arena'
                with ui.row().classes('gap-2'):
                    ui.button(_('Export CSV'), icon='download', on_click=lambda: ui.download.from_url(f'{base}.csv'))
                    ui.button(_('Export JSON'), icon='download', on_click=lambda: ui.download.from_url(f'{base}.json'))
        if panel is not None:
            client = ui.context.client  # an attendee in the arena is in the workshop: online on the dashboard
            client.on_connect(lambda: services.workshops.connected(workshop_id, user.id, +1))
            client.on_disconnect(lambda: services.workshops.connected(workshop_id, user.id, -1))
            panel.board = board_view
            panel.resume(battle)
            if battle is None:
                await ui.context.client.connected()
                board_view.hide(False)

    async def export(workshop_id: int, fmt: str) -> Response:
        try:
            data = await services.workshops.arena_export(session_user_id(), workshop_id)
        except ServiceError as exc:
            raise HTTPException(status_code=exc.status_code, detail=exc.message) from exc
        name = f'arena-{workshop_id}.{fmt}'
        body, media = (
            (leaderboard_csv(data['leaderboard']), 'text/csv; charset=utf-8')
            if fmt == 'csv'
            else (export_json(data), 'application/json')
        )
        return Response(body, media_type=media, headers={'Content-Disposition': f'attachment; filename="{name}"'})

    @router.get('/{workshop_id}/arena.csv', include_in_schema=False)
    async def export_csv(workshop_id: int) -> Response:
        return await export(workshop_id, 'csv')

    @router.get('/{workshop_id}/arena.json', include_in_schema=False)
    async def export_json_route(workshop_id: int) -> Response:
        return await export(workshop_id, 'json')

    return router


class Leaderboard:
    """The leaderboard table, kept up to date by the arena event (the service computes it once per vote). Hidden
    (its rows held here, not in the page) while the attendee's battle waits for their vote: the page then names no
    model at all. New standings are announced politely to screen readers (a live region around the table)."""

    def __init__(
        self, services: Services, workshop_id: int, board: list[dict[str, Any]], *, big: bool = False,
        hidden: bool = False,
    ) -> None:  # fmt: skip
        self.rows = board
        self.hidden = hidden
        with ui.element('div').classes('w-full') as region:
            region.props('aria-live=polite aria-relevant="additions text"')
            self.table = ui.table(columns=board_columns(), rows=board, row_key='model')
            self.table.classes('w-full text-xl' if big else 'w-full')
            self.table.props('dense flat bordered hide-pagination').mark('arena-board')
            self.table._props['aria-label'] = _('Arena leaderboard')
            self.note = ui.label().classes('text-gray-700 dark:text-gray-300').mark('arena-board-note')
            self.note.props('role=status')
        self._show()
        services.workshops.arena_event(workshop_id).subscribe(self.update)

    def update(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        if not self.table.is_deleted:
            self._show()

    def hide(self, hidden: bool) -> None:
        self.hidden = hidden
        self._show()

    def _show(self) -> None:
        self.table.rows = [] if self.hidden else self.rows
        self.table.update()
        self.table.set_visibility(bool(self.table.rows))
        self.note.text = (
            _('The leaderboard shows after your vote.') if self.hidden and self.rows
            else '' if self.rows else _('No models in the arena yet.')
        )  # fmt: skip


def leaderboard(services: Services, workshop_id: int, board: list[dict[str, Any]], *, big: bool = False) -> Leaderboard:
    return Leaderboard(services, workshop_id, board, big=big)


def board_row(rating: Any) -> dict[str, Any]:
    return {f: getattr(rating, f) for f in ('rank', 'model', 'rating', 'battles', 'wins', 'losses', 'ties', 'both_bad')}


def _settings(services: Services, user: UserInfo, workshop_id: int, models: list[str], allowed: list[str]) -> None:
    with ui.card().classes('w-full gap-2').props('flat bordered'):
        ui.label(_('Arena models')).classes('font-semibold')
        if not allowed:
            ui.label(
                _('Set the models attendees may use on the workshop page first: the arena picks two or more of them.')
            ).classes('text-sm text-gray-700 dark:text-gray-300')
            return
        ui.label(
            _(
                'Each battle pits two of these against each other (the pair with the fewest battles so far, in a '
                'random order). Attendees see them as A and B until they vote.'
            )
        ).classes('text-sm text-gray-700 dark:text-gray-300')
        picked = ui.select(
            allowed, multiple=True, value=[m for m in models if m in allowed], label=_('Models (2 or more)')
        )
        picked.props('outlined dense use-chips').classes('w-full').mark('arena-models')

        async def save() -> None:
            await guarded(
                lambda: services.workshops.set_arena_models(user.id, workshop_id, list(picked.value or [])),
                success=_('The arena is open with these models.'),
            )

        ui.button(_('Save arena models'), on_click=save).mark('arena-save')


class BattlePanel:
    """One attendee's battles: prompt, two streamed answers as A and B, the vote, then the names."""

    def __init__(self, services: Services, user: UserInfo, workshop_id: int) -> None:
        self.ws = services.workshops
        self.user = user
        self.wid = workshop_id
        self.battle_id: int | None = None
        self.tasks: list[asyncio.Task] = []
        self.texts = {'a': '', 'b': ''}
        self.client = ui.context.client
        self.board: Leaderboard | None = None

    def build(self) -> None:
        ui.label(
            _(
                'Send one prompt to two models. Their answers appear as A and B; vote for the better one, then see '
                'which model was which. Votes build the class leaderboard.'
            )
        ).classes('text-gray-700 dark:text-gray-300')
        with ui.row().classes('w-full items-end no-wrap gap-2'):
            self.prompt = ui.textarea(placeholder=_('Your prompt (Ctrl+Enter sends)')).props('outlined autogrow')
            self.prompt.classes('grow').mark('arena-prompt')
            self.prompt._props['aria-label'] = _('Your prompt')
            self.prompt.on('keydown.ctrl.enter', self.send)
            self.send_button = ui.button(_('Send to A and B'), icon='send', on_click=self.send).mark('arena-send')
        self.error = error_label().mark('arena-error')
        with ui.grid(columns=2).classes('w-full gap-2'):
            self.answers = {}
            for side in 'ab':
                with ui.card().classes('w-full min-w-0').props('flat bordered') as card:
                    card.props('role=region')
                    card._props['aria-label'] = _('Answer {side}', side=side.upper())
                    ui.label(side.upper()).classes('text-2xl font-bold').props('aria-hidden=true')
                    # the streamed answer: a live region, busy while it streams (read once it is complete)
                    self.answers[side] = ui.markdown('').classes('w-full').mark(f'arena-{side}')
                    self.answers[side].props('role=log aria-live=polite aria-atomic=true')
        with ui.row().classes('gap-2') as self.vote_row:
            self.vote_buttons = [
                ui.button(_(label), on_click=lambda v=vote: self.vote(v)).props('outline').mark(f'vote-{vote}')
                for vote, label in VOTES.items()
            ]
        self.vote_row.set_visibility(False)
        self.reveal = ui.label().classes('text-lg font-semibold').mark('arena-reveal').props('role=status')
        self.client.on_delete(self._cancel)

    def resume(self, open_battle: Battle | None) -> None:
        """A battle still waiting for this attendee's vote (after a reload) comes back."""
        if open_battle is not None:
            self.prompt.value = open_battle.prompt
            self._run(open_battle.id)

    async def send(self) -> None:
        if any(not t.done() for t in self.tasks):
            return
        self.error.set_visibility(False)
        try:
            battle = await self.ws.arena_start(self.user.id, self.wid, self.prompt.value or '')
        except ServiceError as exc:
            self.error.text = _(exc.message)
            self.error.set_visibility(True)
            return
        self._run(battle.id)

    def _run(self, battle_id: int) -> None:
        self.battle_id = battle_id
        if self.board is not None:
            self.board.hide(True)
        self.reveal.text = ''
        self.vote_row.set_visibility(False)
        self.send_button.set_enabled(False)
        for side in 'ab':
            self.texts[side] = ''
            self.answers[side].content = '_…_'
            self.answers[side].props('aria-busy=true')
        self.tasks = [background_tasks.create(self._stream(battle_id, side), name='arena') for side in 'ab']

    async def _stream(self, battle_id: int, side: str) -> None:
        def waiting(ahead: int) -> None:
            self.answers[side].content = '_{}_'.format(_('Waiting for a free slot ({ahead} ahead)…', ahead=ahead))

        try:
            async for piece in self.ws.arena_answer(self.user.id, self.wid, battle_id, side, on_wait=waiting):
                self.texts[side] += piece
                self.answers[side].content = self.texts[side]
        except ServiceError as exc:
            self.answers[side].content = f'_{_(exc.message)}_'
        finally:
            if not self.client.is_deleted:
                self.answers[side].props(remove='aria-busy')
            if not self.client.is_deleted and all(t.done() or t is asyncio.current_task() for t in self.tasks):
                self.vote_row.set_visibility(True)
                self.send_button.set_enabled(True)

    async def vote(self, vote: str) -> None:
        if self.battle_id is None:
            return
        reveal = await guarded(lambda: self.ws.arena_vote(self.user.id, self.wid, self.battle_id, vote))
        if reveal is None:
            return
        self.vote_row.set_visibility(False)
        self.battle_id = None
        if self.board is not None:
            self.board.hide(False)
        self.reveal.text = _(
            'You voted: {vote}. A was {model_a}, B was {model_b}.',
            vote=_(VOTES[vote]),
            model_a=reveal.model_a,
            model_b=reveal.model_b,
        )

    def _cancel(self) -> None:
        for task in self.tasks:
            task.cancel()
