"""Which workshops a person belongs to: the live workshop they take part in (what their activity, quotas and model
calls are attributed to), every workshop they attend, own or co-teach (what objects shared with a workshop reach),
the workshops a person teaches (owns or co-teaches: what they may manage), and the models a workshop allows.

The boundary between workshops lives here once: `managed` is the one answer to "which workshops may this person act
on as an instructor" (admins: every workshop), used by workshops, quotas, the activity log and sharing.

Built first in the composition root and handed to every service that needs it; the workshops feature calls
`forget` when a membership or a workshop's state or allowed models change. Lookups are cached because every model
call asks them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from models import Role, Workshop, WorkshopInstructor, WorkshopMembership, WorkshopState

if TYPE_CHECKING:
    from services.core.bus import LiveBus


class Membership:
    def __init__(self, bus: LiveBus | None = None) -> None:
        self._live: dict[int, int | None] = {}  # user id -> live workshop id
        self._allowed: dict[int, list[str]] = {}  # workshop id -> allowed model names ([] = any)
        self.bus = bus
        if bus is not None:  # another process's join, start or end: forget here too
            bus.on('forget', lambda p: self._forget(user_id=p.get('user_id'), workshop_id=p.get('workshop_id')))
            bus.on_gap(self._forget)

    async def workshop_of(self, user_id: int) -> int | None:
        """The live workshop this user attends (cached; forgotten on join, leave, start and end)."""
        if user_id in self._live:
            return self._live[user_id]
        row = (
            await WorkshopMembership.filter(user_id=user_id, left_at__isnull=True, workshop__state=WorkshopState.LIVE)
            .order_by('-joined_at')
            .first()
            .values('workshop_id')
        )
        workshop_id = row['workshop_id'] if row else None
        self._live[user_id] = workshop_id
        return workshop_id

    async def workshop_ids_of(self, user_id: int) -> set[int]:
        """Every workshop this user attends, owns or co-teaches (what objects shared with a workshop are visible to)."""
        attending = await WorkshopMembership.filter(user_id=user_id).values_list('workshop_id', flat=True)
        teaching = await WorkshopInstructor.filter(user_id=user_id).values_list('workshop_id', flat=True)
        owning = await Workshop.filter(owner_id=user_id).values_list('id', flat=True)
        return {*attending, *teaching, *owning}

    async def taught_ids(self, user_id: int) -> set[int]:
        """The workshops this person owns or co-teaches."""
        owning = await Workshop.filter(owner_id=user_id).values_list('id', flat=True)
        teaching = await WorkshopInstructor.filter(user_id=user_id).values_list('workshop_id', flat=True)
        return {*owning, *teaching}

    async def managed(self, user_id: int, role: Role | str) -> set[int] | None:
        """The workshops this person may act on as an instructor: the ones they own or co-teach; None for an admin
        (every workshop); empty for an attendee."""
        role = Role(role)
        if role == Role.ADMIN:
            return None
        if role != Role.INSTRUCTOR:
            return set()
        return await self.taught_ids(user_id)

    async def manages(self, user_id: int, role: Role | str, workshop_id: int | None) -> bool:
        """Whether this person may act on this workshop as an instructor (its owner, a co-instructor, an admin)."""
        if workshop_id is None:
            return False
        managed = await self.managed(user_id, role)
        return managed is None or workshop_id in managed

    async def attends(self, user_id: int, workshop_id: int) -> bool:
        """Whether this person is an attendee of this workshop now (joined and not left)."""
        return await WorkshopMembership.exists(workshop_id=workshop_id, user_id=user_id, left_at__isnull=True)

    async def allowed_models(self, workshop_id: int) -> list[str]:
        """The models attendees of this workshop may use ([]: any model)."""
        if workshop_id not in self._allowed:
            row = await Workshop.get_or_none(id=workshop_id).values('allowed_models')
            self._allowed[workshop_id] = sorted(full_name(m) for m in (row or {}).get('allowed_models') or [])
        return self._allowed[workshop_id]

    def forget(self, *, user_id: int | None = None, workshop_id: int | None = None) -> None:
        """Drop what is cached about this user or workshop (everything without either), here and on every other
        process (the live bus)."""
        self._forget(user_id=user_id, workshop_id=workshop_id)
        if self.bus is not None:
            self.bus.publish('forget', user_id=user_id, workshop_id=workshop_id)

    def _forget(self, *, user_id: int | None = None, workshop_id: int | None = None) -> None:
        if user_id is not None:
            self._live.pop(user_id, None)
        if workshop_id is not None:
            self._allowed.pop(workshop_id, None)
            self._live.clear()  # a workshop that starts or ends changes everybody's live workshop
        if user_id is None and workshop_id is None:
            self._live.clear()
            self._allowed.clear()


def full_name(model: str) -> str:
    """`llama3.2` and `llama3.2:latest` are the same model."""
    model = (model or '').strip()
    return model if ':' in model.rsplit('/', 1)[-1] else f'{model}:latest'
