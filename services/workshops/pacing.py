"""Pacing a workshop (issue 18 item 2): open or paced steps, a step timer and "eyes on the projector".

Mixed into `WorkshopService`. The pace of a workshop is room-wide: it is kept on the workshop row (so a live state
rebuilt from the database, on this or another process, has it too) and travels as one `pace` message through
`_apply`, which every attendee page, dashboard and projector view renders. Only managers (owner, co-instructors,
admins) change it; assistants and attendees are refused in `_manage`. Locked steps are refused in `set_step` and
`tick` through `_require_open`, not only greyed on the page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from models import Workshop, WorkshopState, WorkshopStep
from services.core.errors import Conflict, InvalidInput, NotFound
from services.core.i18n import N_
from services.workshops.live import MODES, LiveWorkshop, Pace

MAX_TIMER_MINUTES = 240
LOCKED_SENTENCE = N_('The instructor has not opened this step yet: the instructor will open this.')


def countdown_text(seconds: int) -> str:
    return f'{seconds // 60}:{seconds % 60:02d}'


class PacingMixin:
    """Needs `_manage`, `_apply`, `live` and `_workshop` of `WorkshopSession`."""

    live: dict[int, LiveWorkshop]

    # ----- reading -------------------------------------------------------------------------------------------------
    async def pace_of(self, actor_id: int, workshop_id: int) -> Pace:
        """The pace as the attendee pages and dashboards show it (anyone who may read the workshop)."""
        await self.get(actor_id, workshop_id)  # type: ignore[attr-defined]
        live = self.live.get(workshop_id)
        return live.pace if live is not None else Pace.of(await self._workshop(workshop_id))  # type: ignore[attr-defined]

    # ----- the instructor ------------------------------------------------------------------------------------------
    async def set_pacing(self, actor_id: int, workshop_id: int, mode: str) -> Pace:
        """Open (every step visible) or paced (the instructor unlocks steps one by one)."""
        _, workshop = await self._manage(actor_id, workshop_id)  # type: ignore[attr-defined]
        if mode not in MODES:
            raise InvalidInput(N_('Pacing is either "open" (all steps visible) or "paced" (you unlock steps).'))
        workshop.pacing = mode
        await workshop.save(update_fields=['pacing', 'updated_at'])
        return self._publish_pace(workshop)

    async def set_unlocked(self, actor_id: int, workshop_id: int, count: int) -> Pace:
        """In paced mode: open the first `count` steps (at least the first one stays open)."""
        _, workshop = await self._manage(actor_id, workshop_id)  # type: ignore[attr-defined]
        steps = await WorkshopStep.filter(workshop_id=workshop_id).count()
        if not 1 <= int(count) <= max(steps, 1):
            raise InvalidInput(N_('Open between 1 and {steps} step(s).', steps=max(steps, 1)))
        workshop.unlocked_steps = int(count)
        await workshop.save(update_fields=['unlocked_steps', 'updated_at'])
        return self._publish_pace(workshop)

    async def unlock_next(self, actor_id: int, workshop_id: int) -> Pace:
        _, workshop = await self._manage(actor_id, workshop_id)  # type: ignore[attr-defined]
        steps = await WorkshopStep.filter(workshop_id=workshop_id).count()
        if workshop.unlocked_steps >= steps:
            raise Conflict(N_('Every step is open already.'))
        return await self.set_unlocked(actor_id, workshop_id, workshop.unlocked_steps + 1)

    async def start_timer(self, actor_id: int, workshop_id: int, minutes: float, label: str = '') -> Pace:
        """A countdown of `minutes` shown on every attendee page and the projector view."""
        _, workshop = await self._manage(actor_id, workshop_id)  # type: ignore[attr-defined]
        self._require_running(workshop)
        try:
            minutes = float(minutes)
        except (TypeError, ValueError):
            minutes = 0
        if not 0 < minutes <= MAX_TIMER_MINUTES:
            raise InvalidInput(
                N_(
                    'A timer runs for more than 0 and at most {MAX_TIMER_MINUTES} minutes.',
                    MAX_TIMER_MINUTES=MAX_TIMER_MINUTES,
                )
            )
        workshop.timer_ends_at = datetime.now(UTC) + timedelta(minutes=minutes)
        workshop.timer_label = (label or '').strip()[:300]
        await workshop.save(update_fields=['timer_ends_at', 'timer_label', 'updated_at'])
        return self._publish_pace(workshop)

    async def stop_timer(self, actor_id: int, workshop_id: int) -> Pace:
        _, workshop = await self._manage(actor_id, workshop_id)  # type: ignore[attr-defined]
        workshop.timer_ends_at, workshop.timer_label = None, ''
        await workshop.save(update_fields=['timer_ends_at', 'timer_label', 'updated_at'])
        return self._publish_pace(workshop)

    async def focus(self, actor_id: int, workshop_id: int, message: str = '') -> Pace:
        """Eyes on the projector: every attendee's screen is dimmed with this message until `release_focus`."""
        _, workshop = await self._manage(actor_id, workshop_id)  # type: ignore[attr-defined]
        self._require_running(workshop)
        workshop.focus_message = (message or '').strip()[:500] or 'Eyes on the projector, please.'
        await workshop.save(update_fields=['focus_message', 'updated_at'])
        return self._publish_pace(workshop)

    async def release_focus(self, actor_id: int, workshop_id: int) -> Pace:
        _, workshop = await self._manage(actor_id, workshop_id)  # type: ignore[attr-defined]
        workshop.focus_message = None
        await workshop.save(update_fields=['focus_message', 'updated_at'])
        return self._publish_pace(workshop)

    # ----- enforcing -----------------------------------------------------------------------------------------------
    async def _require_open(self, workshop: Workshop, *, index: int | None = None, step_id: int | None = None) -> None:
        """Refuse a locked step (by its index in the agenda or its id) of a paced workshop."""
        if workshop.pacing != 'paced':
            return
        if step_id is not None:
            steps = WorkshopStep.filter(workshop_id=workshop.id).order_by('position', 'id')
            ids = await steps.values_list('id', flat=True)
            if step_id not in ids:
                raise NotFound(N_('No such step.'))
            index = ids.index(step_id)
        if index is not None and Pace.of(workshop).locked(index):
            raise Conflict(LOCKED_SENTENCE)

    async def _open_through(self, workshop_id: int, index: int) -> None:
        """Moving everyone to a step of a paced workshop opens the steps up to it."""
        workshop = await Workshop.get(id=workshop_id)
        if workshop.pacing == 'paced' and workshop.unlocked_steps < index + 1:
            workshop.unlocked_steps = index + 1
            await workshop.save(update_fields=['unlocked_steps', 'updated_at'])
            self._publish_pace(workshop)

    @staticmethod
    def _require_running(workshop: Workshop) -> None:
        if workshop.state != WorkshopState.LIVE:
            raise Conflict(N_('Start the workshop first: timers and "eyes on the projector" reach a running room.'))

    # ----- live ----------------------------------------------------------------------------------------------------
    def _publish_pace(self, workshop: Workshop) -> Pace:
        pace = Pace.of(workshop)
        self._apply('pace', workshop_id=workshop.id, pace=pace.to_dict())  # type: ignore[attr-defined]
        return pace

    def _live_pace(self, p: dict[str, Any]) -> None:
        live = self.live.get(p['workshop_id'])
        if live is None:
            return
        live.pace = Pace(**p['pace'])
        live.broadcast.emit({'kind': 'pace', 'pace': p['pace']})  # attendee pages
        live.changed.emit({'pace': p['pace']})  # dashboards and the projector view


__all__ = ['LOCKED_SENTENCE', 'MODES', 'Pace', 'PacingMixin', 'countdown_text']
