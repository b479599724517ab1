"""Who may see a shared object (prompts, tools, knowledge bases, RAG systems) and who may share one with a workshop.

Seeing: its owner; everyone when public; when shared with a workshop, the people in that workshop (its attendees, its
owner and co-instructors) and admins. An instructor who does not teach the workshop does not see it. Private objects
of others are NotFound, never PermissionDenied (existence is not revealed).

Sharing with a workshop (publishing into it): its instructors (owner, co-instructors) and admins; an attendee only when
they attend it now and its instructors allowed attendees to share (`Workshop.attendees_may_share`, off by default).
Anyone else is told the workshop does not exist (NotFound), like everywhere else.

Workshop membership (the workshop ids a user attends or teaches) comes from `services.core.membership`.
"""

from __future__ import annotations

import logging
from typing import Any

from tortoise.expressions import Q

from models import Role, Visibility, Workshop
from services.core.auth import UserInfo
from services.core.errors import InvalidInput, NotFound, PermissionDenied
from services.core.i18n import N_
from services.core.membership import Membership

log = logging.getLogger(__name__)

ATTENDEES_MAY_NOT_SHARE = N_(
    'The instructors of this workshop have not allowed attendees to share with it. Keep it private or public, '
    'or ask them to allow sharing in the workshop settings.'
)


class Sharing:
    def __init__(self, membership: Membership) -> None:
        self.membership = membership

    async def workshops(self, user_id: int) -> set[int]:
        return await self.membership.workshop_ids_of(user_id)

    async def visible_q(self, user: UserInfo) -> Q:
        """A filter for objects with `owner`, `visibility` and `workshop_id` that this user may see."""
        q = Q(owner_id=user.id) | Q(visibility=Visibility.PUBLIC)
        if user.role == Role.ADMIN:
            return q | Q(visibility=Visibility.WORKSHOP)
        workshops = await self.workshops(user.id)
        if workshops:
            q |= Q(visibility=Visibility.WORKSHOP, workshop_id__in=list(workshops))
        return q

    async def may_see(self, user: UserInfo, owner_id: int, visibility: Any, workshop_id: int | None) -> bool:
        if owner_id == user.id or visibility == Visibility.PUBLIC:
            return True
        if visibility != Visibility.WORKSHOP or workshop_id is None:
            return False
        return user.role == Role.ADMIN or workshop_id in await self.workshops(user.id)

    async def can_see(self, user: UserInfo, row: Any) -> bool:
        return await self.may_see(user, row.owner_id, row.visibility, row.workshop_id)

    async def check_share(
        self,
        user: UserInfo,
        visibility: Any,
        workshop_id: int | None,
        *,
        current: tuple[Any, int | None] | None = None,
    ) -> None:
        """Refuse sharing with a workshop this person may not publish into. `current`: the object's visibility and
        workshop now (keeping an existing share is not a new one; None for a new object)."""
        if visibility != Visibility.WORKSHOP or workshop_id is None:
            return
        if current is not None and current[0] == Visibility.WORKSHOP and current[1] == workshop_id:
            return
        found = await Workshop.get_or_none(id=workshop_id).values('id', 'attendees_may_share')
        if found is not None and await self.membership.manages(user.id, user.role, workshop_id):
            return
        if found is not None and await self.membership.attends(user.id, workshop_id):
            if found['attendees_may_share']:
                return
            log.warning('user %s refused sharing with workshop %s: attendees may not share', user.id, workshop_id)
            raise PermissionDenied(ATTENDEES_MAY_NOT_SHARE)
        log.warning('user %s refused sharing with workshop %s: not in it', user.id, workshop_id)
        raise NotFound(N_('No such workshop. You can share only with a workshop you teach or attend.'))


def check_visibility(visibility: str, workshop_id: Any) -> tuple[Visibility, int | None]:
    try:
        value = Visibility(visibility)
    except ValueError:
        raise InvalidInput(N_('Visibility must be private, workshop or public.')) from None
    if value != Visibility.WORKSHOP:
        return value, None
    try:
        number = int(workshop_id)
    except (TypeError, ValueError):
        raise InvalidInput(N_('To share with a workshop, give the workshop number.')) from None
    if number <= 0:
        raise InvalidInput(N_('To share with a workshop, give the workshop number.'))
    return value, number


def clean_tags(tags: Any) -> list[str]:
    if isinstance(tags, str):
        tags = tags.split(',')
    if not isinstance(tags, list):
        raise InvalidInput(N_('Tags must be a list of words.'))
    out = list(dict.fromkeys(str(t).strip().lower()[:32] for t in tags if str(t).strip()))
    if len(out) > 12:
        raise InvalidInput(N_('At most 12 tags.'))
    return out
