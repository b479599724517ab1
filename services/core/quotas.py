"""Quotas: request and token limits per user and per workshop, per UTC day or per workshop session.

Usage is computed from the usage ledger (`models.ModelCall`, one row per model call, written by the one model-call
path), so every path (pages, the API, the OpenAI-compatible gateway) counts against the same limits: each counted call
is one request, and its tokens count against the token limit. `check(user_id, workshop_id)` raises `Throttled` with a
message that says which limit was hit and when it resets; `reserve` checks and takes one request atomically for a call
in flight, so concurrent calls cannot overshoot a request limit. The clock is a parameter so tests can move time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from tortoise.functions import Count, Sum

from models import ModelCall, Quota, Role, User
from services.core import audit as audit_actions
from services.core.audit import AuditService
from services.core.auth import AuthService
from services.core.errors import InvalidInput, NotFound, Throttled
from services.core.membership import Membership

Period = Literal['day', 'session']
PERIODS: tuple[str, ...] = ('day', 'session')


@dataclass(kw_only=True, slots=True)
class QuotaInfo:
    id: int
    user_id: int | None
    user_email: str | None
    workshop_id: int | None
    period: str
    max_requests: int | None
    max_tokens: int | None
    session_started_at: datetime | None

    @property
    def scope(self) -> str:
        return f'workshop {self.workshop_id}' if self.workshop_id is not None else f'user {self.user_email}'


@dataclass(kw_only=True, slots=True)
class Usage:
    quota_id: int
    scope: Literal['user', 'workshop']
    workshop_id: int | None
    period: str
    requests: int
    tokens: int
    max_requests: int | None
    max_tokens: int | None
    since: datetime
    resets_at: datetime | None  # None: when the instructor starts a new workshop session

    @property
    def exceeded(self) -> str | None:
        """Which limit is used up ('requests' or 'tokens'), if any."""
        if self.max_requests is not None and self.requests >= self.max_requests:
            return 'requests'
        if self.max_tokens is not None and self.tokens >= self.max_tokens:
            return 'tokens'
        return None

    def describe_reset(self) -> str:
        if self.resets_at is None:
            return 'It resets when your instructor starts a new workshop session.'
        return f'It resets at {self.resets_at:%Y-%m-%d %H:%M} UTC.'


class Reservation:
    """One request of a user's quota, taken by a call in flight until the call is recorded in the ledger."""

    def __init__(self, pending: dict[int, int], user_id: int) -> None:
        self._pending, self.user_id, self._open = pending, user_id, True
        pending[user_id] = pending.get(user_id, 0) + 1

    def release(self) -> None:
        if self._open:
            self._open = False
            self._pending[self.user_id] -= 1
            if not self._pending[self.user_id]:
                del self._pending[self.user_id]


class QuotaService:
    def __init__(
        self,
        auth: AuthService,
        audit: AuditService,
        membership: Membership,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.auth = auth
        self.audit = audit
        self.membership = membership  # workshop quotas apply to the live workshop a user is in
        self.clock = clock or (lambda: datetime.now(UTC))
        self._pending: dict[int, int] = {}  # user id -> counted calls in flight (reserved, not yet in the ledger)
        self._locks: dict[int, asyncio.Lock] = {}

    # ----- administration (instructors and admins) --------------------------------------------------------------
    async def set_quota(
        self,
        actor_id: int,
        *,
        user_id: int | None = None,
        user_email: str | None = None,
        workshop_id: int | None = None,
        period: str = 'day',
        max_requests: int | None = None,
        max_tokens: int | None = None,
    ) -> QuotaInfo:
        """Create or replace the quota of one user (by id or email) or one workshop."""
        await self.auth.require(actor_id, Role.INSTRUCTOR)
        if user_email and user_id is None:
            found = await User.get_or_none(email=user_email.strip().lower())
            if found is None:
                raise NotFound(f'There is no account with the email {user_email.strip()}.')
            user_id = found.id
        if (user_id is None) == (workshop_id is None):
            raise InvalidInput('A quota is either for one user or for one workshop: give exactly one of them.')
        if period not in PERIODS:
            raise InvalidInput('The period must be "day" (resets at midnight UTC) or "session" (a workshop session).')
        if period == 'session' and workshop_id is None:
            raise InvalidInput('Per-session limits exist only for workshops. Use a daily limit for a single user.')
        for value in (max_requests, max_tokens):
            if value is not None and not 0 <= value <= 10_000_000:
                raise InvalidInput('Limits must be between 0 and 10,000,000 (leave empty for no limit).')
        if max_requests is None and max_tokens is None:
            raise InvalidInput('Set a request limit, a token limit, or both.')
        if user_id is not None and not await User.exists(id=user_id):
            raise NotFound('No such user.')
        row = await Quota.get_or_none(user_id=user_id, workshop_id=workshop_id)
        if row is None:
            row = await Quota.create(
                user_id=user_id,
                workshop_id=workshop_id,
                period=period,
                max_requests=max_requests,
                max_tokens=max_tokens,
                session_started_at=self.clock() if period == 'session' else None,
                created_by_id=actor_id,
            )
        else:
            if period == 'session' and row.session_started_at is None:
                row.session_started_at = self.clock()
            row.period, row.max_requests, row.max_tokens = period, max_requests, max_tokens
            await row.save()
        target = f'workshop {workshop_id}' if workshop_id is not None else f'user {user_id}'
        await self.audit.record(
            actor_id,
            audit_actions.QUOTA_CHANGE,
            target=target,
            period=period,
            max_requests=max_requests,
            max_tokens=max_tokens,
        )
        return await self._info(row.id)

    async def list_quotas(self, actor_id: int) -> list[QuotaInfo]:
        await self.auth.require(actor_id, Role.INSTRUCTOR)
        return [await self._info(q.id) for q in await Quota.all().order_by('workshop_id', 'user_id', 'id')]

    async def delete_quota(self, actor_id: int, quota_id: int) -> None:
        await self.auth.require(actor_id, Role.INSTRUCTOR)
        row = await Quota.get_or_none(id=quota_id)
        if row is None:
            raise NotFound('No such quota.')
        await row.delete()
        await self.audit.record(actor_id, audit_actions.QUOTA_CHANGE, target=f'quota {quota_id}', deleted=True)

    async def start_session(self, actor_id: int, workshop_id: int) -> int:
        """Start a new session for a workshop's per-session quotas (usage counts from now). Returns how many."""
        await self.auth.require(actor_id, Role.INSTRUCTOR)
        return await Quota.filter(workshop_id=workshop_id, period='session').update(session_started_at=self.clock())

    async def _info(self, quota_id: int) -> QuotaInfo:
        row = (
            await Quota.filter(id=quota_id).values(
                'id',
                'user_id',
                'user__email',
                'workshop_id',
                'period',
                'max_requests',
                'max_tokens',
                'session_started_at',
            )
        )[0]
        return QuotaInfo(
            id=row['id'],
            user_id=row['user_id'],
            user_email=row['user__email'],
            workshop_id=row['workshop_id'],
            period=row['period'],
            max_requests=row['max_requests'],
            max_tokens=row['max_tokens'],
            session_started_at=row['session_started_at'],
        )

    # ----- usage -------------------------------------------------------------------------------------------------
    async def usage(self, actor_id: int, user_id: int | None = None, workshop_id: int | None = None) -> list[Usage]:
        """The usage of the actor (or, for instructors, of another user) against every quota that applies."""
        actor = await self.auth.require(actor_id)
        target = actor.id if user_id is None else user_id
        if target != actor.id:
            await self.auth.require(actor_id, Role.INSTRUCTOR)
        return await self._usage(target, workshop_id)

    def pending(self, user_id: int) -> int:
        """Counted calls of this user in flight (reserved, not yet recorded)."""
        return self._pending.get(user_id, 0)

    async def reserve(self, user_id: int, workshop_id: int | None = None) -> Reservation:
        """Check the quotas counting the calls in flight, and take one request, atomically for this user."""
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            await self.check(user_id, workshop_id, pending=self.pending(user_id))
            return Reservation(self._pending, user_id)

    async def check(self, user_id: int, workshop_id: int | None = None, *, pending: int = 0) -> None:
        """Raise `Throttled` if any quota of this user (or of their workshop) is used up (`pending`: calls in flight
        that are not in the ledger yet)."""
        for usage in await self._usage(user_id, workshop_id):
            usage.requests += pending
            which = usage.exceeded
            if which is None:
                continue
            limit = usage.max_requests if which == 'requests' else usage.max_tokens
            scope = 'your' if usage.scope == 'user' else "this workshop's"
            period = 'daily' if usage.period == 'day' else 'per-session'
            unit = 'request' if which == 'requests' else 'token'
            message = f'You have used up {scope} {period} {unit} limit ({limit:,} {unit}s). {usage.describe_reset()}'
            wait = (usage.resets_at - self.clock()).total_seconds() if usage.resets_at else 0
            await self.audit.record(
                user_id,
                audit_actions.QUOTA_EXCEEDED,
                outcome='refused',
                target=f'quota {usage.quota_id}',
                limit=which,
                workshop_id=usage.workshop_id,
            )
            raise Throttled(message, max(wait, 0))

    async def _usage(self, user_id: int, workshop_id: int | None) -> list[Usage]:
        if workshop_id is None:
            workshop_id = await self.membership.workshop_of(user_id)
        quotas = list(await Quota.filter(user_id=user_id, workshop_id__isnull=True))
        if workshop_id is not None:
            quotas += list(await Quota.filter(workshop_id=workshop_id, user_id__isnull=True))
        result = []
        for quota in quotas:
            since, resets_at = self._window(quota)
            query = ModelCall.filter(user_id=user_id, counted=True, created_at__gte=since)
            if quota.workshop_id is not None:
                query = query.filter(workshop_id=quota.workshop_id)
            totals = await query.annotate(n=Count('id'), t=Sum('tokens')).first().values('n', 't')
            result.append(
                Usage(
                    quota_id=quota.id,
                    scope='workshop' if quota.workshop_id is not None else 'user',
                    workshop_id=quota.workshop_id,
                    period=quota.period,
                    requests=int(totals['n'] or 0) if totals else 0,
                    tokens=int(totals['t'] or 0) if totals else 0,
                    max_requests=quota.max_requests,
                    max_tokens=quota.max_tokens,
                    since=since,
                    resets_at=resets_at,
                )
            )
        return result

    def _window(self, quota: Quota) -> tuple[datetime, datetime | None]:
        if quota.period == 'session':
            return quota.session_started_at or quota.created_at, None
        now = self.clock()
        midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight, midnight + timedelta(days=1)
