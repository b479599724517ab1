"""Paged, permission-checked reads of the activity log for the API: your own rows; instructors may filter by anyone."""

from __future__ import annotations

from datetime import datetime

from models import Role
from services.core.activity import Activity, ActivityService
from services.core.auth import AuthService


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
        return await ActivityService.page(
            user_id=user_id,
            workshop_id=workshop_id,
            action=action,
            since=since,
            errors_only=errors_only,
            limit=limit,
            offset=offset,
        )
