"""Pacing on the pages (issue 18 item 2): the step timer every page shows, the "eyes on the projector" overlay on
attendee pages, and the instructor's controls on the dashboard and the manage page.

Pages only render: the pace comes from the live workshop (`live.pace`) and its `pace` messages; every change goes
through the workshop service, which refuses it unless the user manages the workshop. A running timer is one
room-wide message; each page counts down on its own with one `ui.timer`, active only while a timer runs.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from components.forms import guarded
from services.core.auth import UserInfo
from services.wiring import Services
from services.workshops.live import LiveWorkshop
from services.workshops.pacing import Pace, countdown_text
from services.workshops.types import WorkshopInfo


class Countdown:
    """The step timer: hidden while none runs, 'Time is up' once it ran out."""

    def __init__(self, pace: Pace, *, big: bool = False) -> None:
        size = 'text-4xl' if big else 'text-lg'
        with ui.row().classes(f'items-center gap-2 px-3 py-1 rounded bg-amber-100 dark:bg-amber-900 {size}') as box:
            ui.icon('timer')
            self.label = ui.label().classes('font-mono font-semibold').mark('timer')
        self.box = box
        self.timer = ui.timer(1.0, self.tick, active=False)
        self.show(pace)

    def show(self, pace: Pace) -> None:
        self.pace = pace
        self.timer.active = pace.timer_ends is not None
        self.tick()

    def tick(self) -> None:
        left = self.pace.remaining()
        self.box.set_visibility(left is not None)
        if left is None:
            return
        prefix = f'{self.pace.timer_label}: ' if self.pace.timer_label else ''
        self.label.text = f'{prefix}{countdown_text(left)} left' if left else f'{prefix}time is up'
        if not left:
            self.timer.active = False


class FocusOverlay:
    """Eyes on the projector: the attendee's screen dimmed with the instructor's message until released."""

    def __init__(self, pace: Pace) -> None:
        # in the page layout, beside the header and the drawer (not inside the page): it covers them too
        with ui.context.client.layout, ui.element('div') as box:
            self.box = box.classes('fixed inset-0 flex items-center justify-center')
            box.style('z-index: 7000; background: rgba(0, 0, 0, 0.85)').props('role=alertdialog aria-live=assertive')
            with ui.column().classes('items-center gap-4 p-8 text-white text-center'):
                ui.icon('cast_for_education', size='4rem')
                self.label = ui.label().classes('text-3xl font-semibold').mark('focus-message')
                ui.label('Your screen is back when the instructor releases it.').classes('text-sm opacity-80')
        self.show(pace)

    def show(self, pace: Pace) -> None:
        self.label.text = pace.focus or ''
        self.box.set_visibility(bool(pace.focus))


class PacingControls:
    """The instructor's pacing row on the dashboard: pacing mode, unlocking, the timer, eyes on the projector."""

    def __init__(self, services: Services, user: UserInfo, workshop_id: int, live: LiveWorkshop) -> None:
        self.ws = services.workshops
        self.user = user
        self.wid = workshop_id
        self.live = live

    def build(self) -> None:
        with ui.row().classes('w-full items-center gap-2').mark('pacing-controls'):
            self.mode = ui.radio({'open': 'All steps open', 'paced': 'Paced'}, value=self.live.pace.mode)
            self.mode.on_value_change(self._mode_changed)
            self.mode.props('inline dense').mark('pacing-mode')
            self.unlocked = ui.label().classes('text-sm').mark('pacing-unlocked')
            self.unlock = ui.button('Unlock next step', icon='lock_open', on_click=self._unlock)
            self.unlock.props('flat dense').mark('unlock-next')
            ui.separator().props('vertical')
            minutes = ui.number('Minutes', value=10, min=1, max=240, precision=0).props('outlined dense')
            minutes.classes('w-24').mark('timer-minutes')

            async def start() -> None:
                label = self._current_label()
                await guarded(lambda: self.ws.start_timer(self.user.id, self.wid, minutes.value or 0, label))

            minutes.on('keydown.enter', start)
            ui.button('Start timer', icon='timer', on_click=start).props('flat dense').mark('timer-start')
            self.stop = ui.button(icon='timer_off', on_click=self._stop_timer).props('flat dense round')
            self.stop.props('aria-label="Stop the timer"').tooltip('Stop the timer').mark('timer-stop')
            ui.separator().props('vertical')
            self.focus_text = ui.input('Message while screens are dimmed', value='Eyes on the projector, please.')
            self.focus_text.props('outlined dense').classes('w-72').mark('focus-text')
            self.focus = ui.button('Eyes on the projector', icon='visibility_off', on_click=self._focus)
            self.focus.props('dense').mark('focus-on')
            self.release = ui.button('Release screens', icon='visibility', on_click=self._release)
            self.release.props('dense color=warning').mark('focus-off')
        self.render(self.live.pace)
        self.live.changed.subscribe(self._changed)

    def render(self, pace: Pace) -> None:
        total = len(self.live.steps)
        paced = pace.mode == 'paced'
        self.unlocked.text = f'{min(pace.unlocked, total)} of {total} step(s) open' if paced else ''
        self.unlock.set_visibility(paced)
        self.unlock.set_enabled(pace.unlocked < total)
        self.stop.set_visibility(pace.timer_ends is not None)
        self.focus.set_visibility(not pace.focus)
        self.release.set_visibility(bool(pace.focus))
        if self.mode.value != pace.mode:
            self.mode.set_value(pace.mode)

    def _changed(self, payload: dict[str, Any]) -> None:
        if 'pace' in payload:
            self.render(Pace(**payload['pace']))

    def _current_label(self) -> str:
        pace = self.live.pace
        if pace.mode == 'paced' and self.live.steps:
            index = min(pace.unlocked, len(self.live.steps)) - 1
            return f'Step {index + 1}: {self.live.steps[index]["title"]}'
        return ''

    async def _mode_changed(self, e: Any) -> None:
        if e.value != self.live.pace.mode:
            await guarded(lambda: self.ws.set_pacing(self.user.id, self.wid, e.value))

    async def _unlock(self) -> None:
        pace = await guarded(lambda: self.ws.unlock_next(self.user.id, self.wid))
        if pace is not None:
            ui.notify(f'Step {pace.unlocked} is open for everyone.', type='positive')

    async def _stop_timer(self) -> None:
        await guarded(lambda: self.ws.stop_timer(self.user.id, self.wid))

    async def _focus(self) -> None:
        await guarded(lambda: self.ws.focus(self.user.id, self.wid, self.focus_text.value or ''))

    async def _release(self) -> None:
        await guarded(lambda: self.ws.release_focus(self.user.id, self.wid))


def pacing_card(services: Services, user: UserInfo, info: WorkshopInfo, pace: Pace) -> None:
    """Pacing on the manage page (before or while the workshop runs)."""
    ws = services.workshops
    with ui.card().classes('w-full gap-2').props('flat bordered'):
        ui.label('Pacing').classes('font-semibold')
        ui.label(
            'Open: attendees see every step from the start. Paced: they see only the steps you open (from the '
            'dashboard); later ones are greyed with "the instructor will open this".'
        ).classes('text-sm text-gray-500')
        mode = ui.radio({'open': 'All steps open', 'paced': 'Paced: I unlock the steps'}, value=pace.mode)
        mode.props('inline').mark('pacing-setting')

        async def save(e: Any) -> None:
            await guarded(lambda: ws.set_pacing(user.id, info.id, e.value), success='Pacing saved.')

        mode.on_value_change(save)


__all__ = ['Countdown', 'FocusOverlay', 'PacingControls', 'pacing_card']
