"""The activity log: the one place where what users do is recorded.

Every feature records through `ActivityService.record`; the instructor dashboard is built on the rows and on the
`recorded` event, which carries one precomputed payload per action to every subscriber.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from nicegui import Event
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from models import ActivityEvent
from services.core import actions
from services.core.membership import Membership

log = logging.getLogger(__name__)


@dataclass(kw_only=True, slots=True)
class Activity:
    id: int
    user_id: int | None
    action: str
    created_at: datetime
    workshop_id: int | None = None
    model: str | None = None
    host: str | None = None
    tokens: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def without_private(self) -> Activity:
        """This activity as someone else than its author reads it: without what the author produced."""
        if not actions.PRIVATE_DETAILS & set(self.details):
            return self
        return replace(self, details={k: v for k, v in self.details.items() if k not in actions.PRIVATE_DETAILS})

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data['created_at'] = self.created_at.isoformat()
        return data


def _activity(row: ActivityEvent) -> Activity:
    return Activity(
        id=row.id,
        user_id=row.user_id,  # type: ignore[attr-defined]
        action=row.action,
        created_at=row.created_at,
        workshop_id=row.workshop_id,
        model=row.model,
        host=row.host,
        tokens=row.tokens,
        latency_ms=row.latency_ms,
        error=row.error,
        details=row.details or {},
    )


class ActivityService:
    def __init__(self, membership: Membership) -> None:
        self.recorded: Event[Activity] = Event()
        self.membership = membership  # the live workshop a user takes part in: every action is attributed to it

    async def record(
        self,
        user_id: int | None,
        action: str,
        *,
        workshop_id: int | None = None,
        model: str | None = None,
        host: str | None = None,
        tokens: int | None = None,
        latency_ms: float | None = None,
        error: str | None = None,
        **details: Any,
    ) -> Activity:
        """Write one activity row and tell subscribers about it."""
        if workshop_id is None and user_id is not None:
            workshop_id = await self.membership.workshop_of(user_id)
        row = await ActivityEvent.create(
            user_id=user_id,
            action=action[:64],
            workshop_id=workshop_id,
            model=model[:200] if model else None,
            host=host[:300] if host else None,
            tokens=tokens,
            latency_ms=round(latency_ms, 2) if latency_ms is not None else None,
            error=error[:2000] if error else None,
            details=details,
        )
        activity = _activity(row)
        self.recorded.emit(activity)
        return activity

    async def recent_for_user(self, user_id: int, limit: int = 20) -> list[Activity]:
        rows = await ActivityEvent.filter(user_id=user_id).order_by('-id').limit(limit)
        return [_activity(r) for r in rows]

    async def query(
        self,
        *,
        user_id: int | None = None,
        workshop_id: int | None = None,
        action: str | None = None,
        since: datetime | None = None,
        errors_only: bool = False,
        limit: int = 100,
    ) -> list[Activity]:
        query = filtered(user_id=user_id, workshop_id=workshop_id, action=action, since=since, errors_only=errors_only)
        return [_activity(r) for r in await query.order_by('-id').limit(limit)]

    @staticmethod
    async def reassign(from_user_id: int, to_user_id: int, *, workshop_id: int) -> int:
        """Two accounts of one person were merged: one workshop's rows of the one become the other's."""
        return await ActivityEvent.filter(user_id=from_user_id, workshop_id=workshop_id).update(user_id=to_user_id)

    @staticmethod
    async def page(*, limit: int = 50, offset: int = 0, **filters: Any) -> tuple[list[Activity], int]:
        """One page of matching rows, newest first, and how many match in all (callers check permissions)."""
        query = filtered(**filters)
        total = await query.count()
        return [_activity(r) for r in await query.order_by('-id').offset(offset).limit(limit)], total


def filtered(
    *,
    user_id: int | None = None,
    workshop_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    errors_only: bool = False,
    scope: Q | None = None,
) -> QuerySet[ActivityEvent]:
    """The activity rows matching the given filters (None means: any), within `scope` (the rows the reader may see;
    None: all). Shared by every reader of the log."""
    query = ActivityEvent.all() if scope is None else ActivityEvent.filter(scope)
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
    return query
