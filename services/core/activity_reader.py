"""Paged, permission-checked reads of the activity log for the API.

Attendees read their own rows. Instructors read their own rows and the rows recorded in the workshops they teach (own
or co-teach), nothing else: filtering by another workshop, or by a person who attends none of theirs, answers
NotFound ("No such workshop." / "No such user."), as everywhere else. Admins read everything.
"""

from __future__ import annotations

import logging
from datetime import datetime

from tortoise.expressions import Q

from models import Role, WorkshopMembership
from services.core.activity import Activity, ActivityService
from services.core.auth import AuthService
from services.core.errors import NotFound
from services.core.i18n import N_
from services.core.membership import Membership

log = logging.getLogger(__name__)


class ActivityReader:
    def __init__(self, auth: AuthService, membership: Membership) -> None:
        self.auth = auth
        self.membership = membership  # which workshops an instructor teaches

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
        """Attendees see their own activity (filters for other users are refused); instructors their own and that of
        the workshops they teach; admins everyone's."""
        actor = await self.auth.require(actor_id)
        scope: Q | None = None
        if not actor.at_least(Role.INSTRUCTOR):
            if user_id not in (None, actor.id) or workshop_id is not None:
                await self.auth.require(actor_id, Role.INSTRUCTOR)  # raises PermissionDenied (and audits it)
            user_id = actor.id
        else:
            managed = await self.membership.managed(actor.id, actor.role)
            if managed is not None:
                scope = await self._instructor_scope(actor.id, managed, user_id, workshop_id)
        items, total = await ActivityService.page(
            user_id=user_id,
            workshop_id=workshop_id,
            action=action,
            since=since,
            errors_only=errors_only,
            scope=scope,
            limit=limit,
            offset=offset,
        )
        if scope is not None:  # an instructor: what attendees produced stays theirs
            items = [a if a.user_id == actor.id else a.without_private() for a in items]
        return items, total

    @staticmethod
    async def _instructor_scope(actor_id: int, managed: set[int], user_id: int | None, workshop_id: int | None) -> Q:
        """The rows an instructor may read: in the workshops they teach, and their own."""
        if workshop_id is not None and workshop_id not in managed:
            log.warning('user %s refused the activity of workshop %s: not their workshop', actor_id, workshop_id)
            raise NotFound(N_('No such workshop.'))
        if user_id is not None and user_id != actor_id:
            if not await WorkshopMembership.exists(user_id=user_id, workshop_id__in=managed):
                log.warning('user %s refused the activity of user %s: not an attendee of theirs', actor_id, user_id)
                raise NotFound(N_('No such user.'))
        in_managed = Q(workshop_id__in=list(managed)) if managed else Q(id__in=[])
        return in_managed if user_id not in (None, actor_id) else in_managed | Q(user_id=actor_id)
