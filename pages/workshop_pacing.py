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
from services.core.i18n import N_, _
from services.wiring import Services
from services.workshops.live import LiveWorkshop
from services.workshops.pacing import Pace, countdown_text
from services.workshops.types import WorkshopInfo


class Countdown:
    """The step timer: hidden while none runs, 'Time is up' once it ran out."""

    def __init__(self, pace: Pace, *, big: bool = False) -> None:
        size = 'text-4xl' if big else 'text-lg'
        with ui.row().classes(f'items-center gap-2 px-3 py-1 rounded bg-amber-100 dark:bg-amber-900 {size}') as box:
            box.props('role=timer')
            box._props['aria-label'] = _('Step timer')
            ui.icon('timer').props('aria-hidden=true')
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
        name = _(self.pace.timer_label) if self.pace.timer_label else ''
        if left:
            time = countdown_text(left)
            self.label.text = _('{label}: {time} left', label=name, time=time) if name else _('{time} left', time=time)
        else:
            self.label.text = _('{label}: time is up', label=name) if name else _('time is up')
        if not left:
            self.timer.active = False


class FocusOverlay:
    """Eyes on the projector: the attendee's screen dimmed with the instructor's message until released.

    A modal alert dialog: announced at once, focused, and everything behind it (header, drawer, page) is made inert
    while it shows, so neither the keyboard nor a screen reader can reach what is dimmed."""

    def __init__(self, pace: Pace) -> None:
        self.client = ui.context.client
        self.shown = False
        # in the page layout, beside the header and the drawer (not inside the page): it covers them too
        with self.client.layout, ui.element('div') as box:
            self.box = box.classes('fixed inset-0 flex items-center justify-center')
            box.style('z-index: 7000; background: rgba(0, 0, 0, 0.85)')
            box.props('role=alertdialog aria-modal=true aria-live=assertive tabindex=-1').mark('focus-overlay')
            with ui.column().classes('items-center gap-4 p-8 text-white text-center'):
                ui.icon('cast_for_education', size='4rem').props('aria-hidden=true')
                self.label = ui.label().classes('text-3xl font-semibold').mark('focus-message')
                note = ui.label(_('Your screen is back when the instructor releases it.')).classes('text-sm')
            box.props(f'aria-labelledby=c{self.label.id} aria-describedby=c{note.id}')
        self.show(pace)

    def show(self, pace: Pace) -> None:
        self.label.text = pace.focus or ''
        shown = bool(pace.focus)
        self.box.set_visibility(shown)
        if shown != self.shown:
            self.shown = shown
            self._hold_focus(shown)

    def _hold_focus(self, on: bool) -> None:
        """Make the rest of the layout inert (or usable again) and move the focus into the overlay."""
        flag = 'true' if on else 'false'
        self.client.run_javascript(
            f'(() => {{ const box = document.getElementById("c{self.box.id}"); if (!box) return; '
            f'for (const el of box.parentElement.children) if (el !== box) el.inert = {flag}; '
            f'if ({flag}) box.focus(); }})()'
        )


class PacingControls:
    """The instructor's pacing row on the dashboard: pacing mode, unlocking, the timer, eyes on the projector."""

    def __init__(self, services: Services, user: UserInfo, workshop_id: int, live: LiveWorkshop) -> None:
        self.ws = services.workshops
        self.user = user
        self.wid = workshop_id
        self.live = live

    def build(self) -> None:
        with ui.row().classes('w-full items-center gap-2').mark('pacing-controls'):
            self.mode = ui.radio({'open': _('All steps open'), 'paced': _('Paced')}, value=self.live.pace.mode)
            self.mode.on_value_change(self._mode_changed)
            self.mode.props('inline dense').mark('pacing-mode')
            self.mode._props['aria-label'] = _('Pacing')
            self.unlocked = ui.label().classes('text-sm').mark('pacing-unlocked').props('role=status')
            self.unlock = ui.button(_('Unlock next step'), icon='lock_open', on_click=self._unlock)
            self.unlock.props('flat dense').mark('unlock-next')
            ui.separator().props('vertical')
            minutes = ui.number(_('Minutes'), value=10, min=1, max=240, precision=0).props('outlined dense')
            minutes.classes('w-24').mark('timer-minutes')

            async def start() -> None:
                label = self._current_label()
                await guarded(lambda: self.ws.start_timer(self.user.id, self.wid, minutes.value or 0, label))

            minutes.on('keydown.enter', start)
            ui.button(_('Start timer'), icon='timer', on_click=start).props('flat dense').mark('timer-start')
            self.stop = ui.button(icon='timer_off', on_click=self._stop_timer).props('flat dense round')
            self.stop._props['aria-label'] = _('Stop the timer')
            self.stop.tooltip(_('Stop the timer')).mark('timer-stop')
            ui.separator().props('vertical')
            self.focus_text = ui.input(_('Message while screens are dimmed'), value=_('Eyes on the projector, please.'))
            self.focus_text.props('outlined dense').classes('w-72').mark('focus-text')
            self.focus = ui.button(_('Eyes on the projector'), icon='visibility_off', on_click=self._focus)
            self.focus.props('dense').mark('focus-on')
            self.release = ui.button(_('Release screens'), icon='visibility', on_click=self._release)
            self.release.props('dense color=warning').mark('focus-off')
        self.render(self.live.pace)
        self.live.changed.subscribe(self._changed)

    def render(self, pace: Pace) -> None:
        total = len(self.live.steps)
        paced = pace.mode == 'paced'
        self.unlocked.text = (
            _('{open} of {total} step(s) open', open=min(pace.unlocked, total), total=total) if paced else ''
        )
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
            # stored in English and shown in each reader's language (recognised by its template)
            return N_('Step {number}: {title}', number=index + 1, title=self.live.steps[index]['title'])
        return ''

    async def _mode_changed(self, e: Any) -> None:
        if e.value != self.live.pace.mode:
            await guarded(lambda: self.ws.set_pacing(self.user.id, self.wid, e.value))

    async def _unlock(self) -> None:
        pace = await guarded(lambda: self.ws.unlock_next(self.user.id, self.wid))
        if pace is not None:
            ui.notify(_('Step {number} is open for everyone.', number=pace.unlocked), type='positive')

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
        ui.label(_('Pacing')).classes('font-semibold')
        ui.label(
            _(
                'Open: attendees see every step from the start. Paced: they see only the steps you open (from the '
                'dashboard); later ones are greyed with "the instructor will open this".'
            )
        ).classes('text-sm text-gray-700 dark:text-gray-300')
        mode = ui.radio({'open': _('All steps open'), 'paced': _('Paced: I unlock the steps')}, value=pace.mode)
        mode.props('inline').mark('pacing-setting')
        mode._props['aria-label'] = _('Pacing')

        async def save(e: Any) -> None:
            await guarded(lambda: ws.set_pacing(user.id, info.id, e.value), success=_('Pacing saved.'))

        mode.on_value_change(save)


__all__ = ['Countdown', 'FocusOverlay', 'PacingControls', 'pacing_card']
