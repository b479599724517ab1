"""Paged, permission-checked reads of the activity log for the API: your own rows; instructors may filter by anyone."""

from __future__ import annotations

from datetime import datetime

from models import ActivityEvent, Role
from services.activity import Activity, _activity
from services.auth import AuthService


class ActivityReader:
    def __init__(self, auth: AuthService) -> None:
        self.auth = auth

    async def page(
        self,
        actor_id: int,
        *,
        user_id: int | None = None,
        workshop_id: int | None = None,
        action: str | None = None,
        since: datetime | None = None,
        errors_only: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Activity], int]:
        """Attendees see their own activity (filters for other users are refused); instructors see anyone's."""
        actor = await self.auth.require(actor_id)
        everyone = actor.at_least(Role.INSTRUCTOR)
        if not everyone:
            if user_id not in (None, actor.id) or workshop_id is not None:
                await self.auth.require(actor_id, Role.INSTRUCTOR)  # raises PermissionDenied (and audits it)
            user_id = actor.id
        query = ActivityEvent.all()
        if user_id is not None:
            query = query.filter(user_id=user_id)
        if workshop_id is not None:
            query = query.filter(workshop_id=workshop_id)
        if action:
            query = query.filter(action=action)
        if since is not None:
            query = query.filter(created_at__gte=since)
        if errors_only:
            query = query.filter(error__isnull=False)
        total = await query.count()
        rows = await query.order_by('-id').offset(offset).limit(limit)
        return [_activity(r) for r in rows], total
