"""Who may see a shared object (prompts, tools): its owner, everyone when public, a workshop's members when shared
with that workshop. Private objects of others are NotFound, never PermissionDenied (existence is not revealed).

Workshop membership (the workshop ids a user attends or teaches) comes from `services.core.membership`.
"""

from __future__ import annotations

from typing import Any

from tortoise.expressions import Q

from models import Visibility
from services.core.errors import InvalidInput
from services.core.membership import Membership


class Sharing:
    def __init__(self, membership: Membership) -> None:
        self.membership = membership

    async def workshops(self, user_id: int) -> set[int]:
        return await self.membership.workshop_ids_of(user_id)

    async def visible_q(self, user_id: int) -> Q:
        """A filter for objects with `owner`, `visibility` and `workshop_id` that this user may see."""
        q = Q(owner_id=user_id) | Q(visibility=Visibility.PUBLIC)
        workshops = await self.workshops(user_id)
        if workshops:
            q |= Q(visibility=Visibility.WORKSHOP, workshop_id__in=list(workshops))
        return q

    async def can_see(self, user_id: int, row: Any) -> bool:
        if row.owner_id == user_id or row.visibility == Visibility.PUBLIC:
            return True
        return row.visibility == Visibility.WORKSHOP and row.workshop_id in await self.workshops(user_id)


def check_visibility(visibility: str, workshop_id: Any) -> tuple[Visibility, int | None]:
    try:
        value = Visibility(visibility)
    except ValueError:
        raise InvalidInput('Visibility must be private, workshop or public.') from None
    if value != Visibility.WORKSHOP:
        return value, None
    try:
        number = int(workshop_id)
    except (TypeError, ValueError):
        raise InvalidInput('To share with a workshop, give the workshop number.') from None
    if number <= 0:
        raise InvalidInput('To share with a workshop, give the workshop number.')
    return value, number


def clean_tags(tags: Any) -> list[str]:
    if isinstance(tags, str):
        tags = tags.split(',')
    if not isinstance(tags, list):
        raise InvalidInput('Tags must be a list of words.')
    out = list(dict.fromkeys(str(t).strip().lower()[:32] for t in tags if str(t).strip()))
    if len(out) > 12:
        raise InvalidInput('At most 12 tags.')
    return out
