"""Quotas: request and token limits per user and per workshop, per UTC day or per workshop session.

Usage is computed from the usage ledger (`models.ModelCall`, one row per model call, written by the one model-call
path), so every path (pages, the API, the OpenAI-compatible gateway) counts against the same limits: each counted call
is one request (a batch of N rows is N calls, so N requests), and its tokens count against the token limit.
`check(user_id, workshop_id)` raises `Throttled` with a message that says which limit was hit and when it resets. The
clock is a parameter so tests can move time.

Reserve, then settle: concurrent calls overshoot a limit by at most one call
------------------------------------------------------------------------------
A call's tokens are known only when it ends, so the model-call path *reserves* before it sends a counted call
(`reserve`) and *settles* after: it writes the call's ledger row with the real token counts, then releases the
reservation (`Reservation.release`).

- Requests: a reservation is one request, checked and taken atomically (a per-user lock; the calls in flight count,
  `pending`). Concurrent calls never overshoot a request limit: with 3 requests left, 8 calls at once send exactly 3.
- Tokens: nobody knows in advance whether a reply will be 5 tokens or 5,000, so reserving an estimate could not keep
  the promise. Instead, while a token limit applies to a person (their own or their live workshop's), their counted
  calls run *one at a time*: a call that finds another of that person's calls in flight waits until it is settled and
  is then checked against the real, settled usage. So a token limit is overshot by at most the one call that crossed
  it, however many calls are fired at once.
- Waiting, not refusing, is what a workshop user finds fair: a comparison of three models or a notebook that sends
  requests in parallel still gets every answer (one after the other) while the budget lasts, and the call that
  crosses the limit still gets its whole answer. The wait is bounded (`settle_wait`); after it the call is refused
  with `Throttled` (429, Retry-After) saying that another call is still running. A call over a limit is refused at
  once, without waiting, and people without a token limit are never made to wait.
- With several app processes (REDIS_URL) the calls in flight are counted across all of them (`SharedCounts`, one
  Redis hash per person) and checked and taken under a per-person Redis lock, so 8 calls opened half on each process
  are held exactly as 8 on one. Only people with a quota pay the round trips; the others never touch Redis.

Who manages quotas
------------------
- A per-user quota applies to that person on every path and in every workshop: it is platform-wide, so only admins
  set, change or remove one (instructors get `PermissionDenied`).
- A workshop quota (the limits apply to each attendee of the workshop separately) is set, removed and given a new
  session only by that workshop's managers: its owner, its co-instructors and admins. Another instructor's workshop
  answers `NotFound` ("No such workshop."), as everywhere else, so its existence is not revealed; attendees get
  `PermissionDenied`.
- Instructors list only the quotas of the workshops they manage (admins: all) and see the usage of the people who
  attend a workshop they manage (admins: anyone's).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from tortoise.functions import Count, Sum

from models import ModelCall, Quota, Role, User, Workshop, WorkshopMembership
from services.core import audit as audit_actions
from services.core.audit import AuditService
from services.core.auth import AuthService, UserInfo
from services.core.bus import LiveBus
from services.core.errors import InvalidInput, NotFound, PermissionDenied, Throttled
from services.core.i18n import N_, Message
from services.core.membership import Membership
from services.core.shared_counts import SharedCounts

log = logging.getLogger(__name__)

RULES_TTL = 10.0  # seconds a user's or workshop's quota rules are reused between model calls

Period = Literal['day', 'session']
PERIODS: tuple[str, ...] = ('day', 'session')
SETTLE_WAIT = 120.0  # seconds a call of a token-limited person waits for their previous call to be settled
RETRY_AFTER_BUSY = 5.0


@dataclass(kw_only=True, slots=True)
class QuotaInfo:
    id: int
    user_id: int | None
    user_email: str | None
    workshop_id: int | None
    workshop_title: str | None
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
            return Message(N_('It resets when your instructor starts a new workshop session.'), {})
        return N_('It resets at {resets_at:%Y-%m-%d %H:%M} UTC.', resets_at=self.resets_at)


# (the person's own quota?, a daily one?, a request limit?) -> the refusal, in full sentences for translators
USED_UP = {
    (True, True, True): N_('You have used up your daily request limit ({limit:,} requests). {reset}'),
    (True, True, False): N_('You have used up your daily token limit ({limit:,} tokens). {reset}'),
    (True, False, True): N_('You have used up your per-session request limit ({limit:,} requests). {reset}'),
    (True, False, False): N_('You have used up your per-session token limit ({limit:,} tokens). {reset}'),
    (False, True, True): N_("You have used up this workshop's daily request limit ({limit:,} requests). {reset}"),
    (False, True, False): N_("You have used up this workshop's daily token limit ({limit:,} tokens). {reset}"),
    (False, False, True): N_(
        "You have used up this workshop's per-session request limit ({limit:,} requests). {reset}"
    ),
    (False, False, False): N_("You have used up this workshop's per-session token limit ({limit:,} tokens). {reset}"),
}


class Reservation:
    """One request of a user's quota, taken by a call in flight; `release()` settles it once the call's ledger row
    (with its real token counts) is written. Releasing twice does nothing."""

    def __init__(self, quotas: QuotaService, user_id: int, *, shared: bool = False) -> None:
        self._quotas, self.user_id, self._open, self.shared = quotas, user_id, True, shared
        quotas._pending[user_id] = quotas._pending.get(user_id, 0) + 1

    def release(self) -> None:
        if self._open:
            self._open = False
            self._quotas._settle(self.user_id)
            if self.shared and self._quotas.shared is not None:
                self._quotas.shared.give(str(self.user_id))


class QuotaService:
    def __init__(
        self,
        auth: AuthService,
        audit: AuditService,
        membership: Membership,
        clock: Callable[[], datetime] | None = None,
        *,
        settle_wait: float = SETTLE_WAIT,
        shared: SharedCounts | None = None,
        bus: LiveBus | None = None,
    ) -> None:
        self.auth = auth
        self.audit = audit
        self.membership = membership  # workshop quotas apply to the live workshop a user is in
        self.clock = clock or (lambda: datetime.now(UTC))
        self.settle_wait = settle_wait
        self.shared = shared  # several app processes: calls in flight counted across them (Redis)
        self._pending: dict[int, int] = {}  # user id -> counted calls in flight (reserved, not yet settled)
        self._locks: dict[int, asyncio.Lock] = {}
        self._settled: dict[int, asyncio.Event] = {}  # user id -> set when their calls in flight are all settled
        # the quota rules (not the usage) of a user or workshop, read before every model call: kept for RULES_TTL
        # seconds, dropped at once when this service changes them (another process's change shows within the TTL)
        self._rules: dict[tuple[str, int], tuple[float, list[Quota]]] = {}
        self.bus = bus
        if bus is not None:  # quotas changed on another app process: read them again here at once
            bus.on('quota_rules', lambda _: self._rules.clear())
            bus.on_gap(self._rules.clear)

    # ----- who manages what --------------------------------------------------------------------------------------
    async def _managed(self, user: UserInfo) -> set[int] | None:
        """The workshops this person manages (owns or co-teaches); None for an admin (every workshop)."""
        return await self.membership.managed(user.id, user.role)

    async def _manage(self, actor_id: int, workshop_id: int) -> UserInfo:
        """The acting manager of this workshop; attendees get PermissionDenied, other instructors NotFound."""
        user = await self.auth.require(actor_id, Role.INSTRUCTOR)
        managed = await self._managed(user)
        if (managed is not None and workshop_id not in managed) or not await Workshop.exists(id=workshop_id):
            log.warning('user %s refused quotas of workshop %s: not a manager', actor_id, workshop_id)
            raise NotFound(N_('No such workshop.'))
        return user

    async def workshops(self, actor_id: int) -> list[tuple[int, str]]:
        """(id, title) of the workshops whose quotas this instructor or admin may set, newest first."""
        user = await self.auth.require(actor_id, Role.INSTRUCTOR)
        managed = await self._managed(user)
        query = Workshop.all() if managed is None else Workshop.filter(id__in=managed)
        return [(row['id'], row['title']) for row in await query.order_by('-id').values('id', 'title')]

    # ----- administration (a workshop's managers; per-user quotas: admins) ---------------------------------------
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
        """Create or replace the quota of one user (by id or email; admins) or one workshop (its managers)."""
        actor = await self.auth.require(actor_id, Role.INSTRUCTOR)
        user_email = (user_email or '').strip() or None
        if (user_id is None and user_email is None) == (workshop_id is None):
            raise InvalidInput(N_('A quota is either for one user or for one workshop: give exactly one of them.'))
        if period not in PERIODS:
            raise InvalidInput(
                N_('The period must be "day" (resets at midnight UTC) or "session" (a workshop session).')
            )
        if period == 'session' and workshop_id is None:
            raise InvalidInput(N_('Per-session limits exist only for workshops. Use a daily limit for a single user.'))
        for value in (max_requests, max_tokens):
            if value is not None and not 0 <= value <= 10_000_000:
                raise InvalidInput(N_('Limits must be between 0 and 10,000,000 (leave empty for no limit).'))
        if max_requests is None and max_tokens is None:
            raise InvalidInput(N_('Set a request limit, a token limit, or both.'))
        if workshop_id is not None:
            await self._manage(actor_id, workshop_id)
        else:
            if actor.role != Role.ADMIN:
                log.warning('user %s refused: a quota for a single user needs an admin', actor_id)
                raise PermissionDenied(
                    N_(
                        'Only admins set a quota for a single person: it applies in every workshop and on '
                        'every path. Set a quota for a workshop you run instead; it applies to each of its '
                        'attendees.'
                    )
                )
            if user_id is None:
                found = await User.get_or_none(email=user_email.lower())
                if found is None:
                    raise NotFound(N_('There is no account with the email {user_email}.', user_email=user_email))
                user_id = found.id
            elif not await User.exists(id=user_id):
                raise NotFound(N_('No such user.'))
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
        self._rules_changed()
        target = f'workshop {workshop_id}' if workshop_id is not None else f'user {user_id}'
        await self.audit.record(
            actor_id,
            audit_actions.QUOTA_CHANGE,
            target=target,
            period=period,
            max_requests=max_requests,
            max_tokens=max_tokens,
        )
        return (await self._infos(Quota.filter(id=row.id)))[0]

    async def list_quotas(self, actor_id: int) -> list[QuotaInfo]:
        """Every quota for an admin; the quotas of the workshops they manage for an instructor."""
        user = await self.auth.require(actor_id, Role.INSTRUCTOR)
        managed = await self._managed(user)
        query = Quota.all() if managed is None else Quota.filter(workshop_id__in=managed)
        return await self._infos(query)

    async def delete_quota(self, actor_id: int, quota_id: int) -> None:
        """Remove a quota: a workshop's by its managers, a single user's by admins (others: NotFound)."""
        user = await self.auth.require(actor_id, Role.INSTRUCTOR)
        row = await Quota.get_or_none(id=quota_id)
        managed = await self._managed(user)
        if row is None or (managed is not None and row.workshop_id not in managed):
            if row is not None:
                log.warning('user %s refused removal of quota %s: not theirs to manage', actor_id, quota_id)
            raise NotFound(N_('No such quota.'))
        await row.delete()
        self._rules_changed()
        await self.audit.record(actor_id, audit_actions.QUOTA_CHANGE, target=f'quota {quota_id}', deleted=True)

    async def start_session(self, actor_id: int, workshop_id: int) -> int:
        """Start a new session for a workshop's per-session quotas (usage counts from now). Returns how many.
        Only the workshop's managers (owner, co-instructors, admins)."""
        await self._manage(actor_id, workshop_id)
        count = await Quota.filter(workshop_id=workshop_id, period='session').update(session_started_at=self.clock())
        self._rules_changed()
        await self.audit.record(actor_id, audit_actions.QUOTA_CHANGE, target=f'workshop {workshop_id}', session=True)
        return count

    async def _infos(self, query) -> list[QuotaInfo]:
        rows = await query.order_by('workshop_id', 'user_id', 'id').values(
            'id',
            'user_id',
            'user__email',
            'workshop_id',
            'period',
            'max_requests',
            'max_tokens',
            'session_started_at',
        )
        ids = {r['workshop_id'] for r in rows if r['workshop_id'] is not None}
        titles = dict(await Workshop.filter(id__in=ids).values_list('id', 'title')) if ids else {}
        return [
            QuotaInfo(
                id=row['id'],
                user_id=row['user_id'],
                user_email=row['user__email'],
                workshop_id=row['workshop_id'],
                workshop_title=titles.get(row['workshop_id']),
                period=row['period'],
                max_requests=row['max_requests'],
                max_tokens=row['max_tokens'],
                session_started_at=row['session_started_at'],
            )
            for row in rows
        ]

    # ----- usage -------------------------------------------------------------------------------------------------
    async def usage(self, actor_id: int, user_id: int | None = None, workshop_id: int | None = None) -> list[Usage]:
        """The usage of the actor against every quota that applies to them; instructors may ask about the attendees
        of the workshops they manage, admins about anyone."""
        actor = await self.auth.require(actor_id)
        target = actor.id if user_id is None else user_id
        managed: set[int] | None = None
        if target != actor.id:
            await self.auth.require(actor_id, Role.INSTRUCTOR)
            managed = await self._managed(actor)
            attends = WorkshopMembership.filter(user_id=target, left_at__isnull=True)
            if managed is not None:
                attends = attends.filter(workshop_id__in=managed)
            if (managed is not None and not await attends.exists()) or not await User.exists(id=target):
                log.warning('user %s refused the usage of user %s: not an attendee of theirs', actor_id, target)
                raise NotFound(N_('No such user.'))
        elif workshop_id is not None and actor.role != Role.ADMIN:
            managed = await self.membership.workshop_ids_of(actor.id)
        if workshop_id is not None and managed is not None and workshop_id not in managed:
            raise NotFound(N_('No such workshop.'))
        return await self._usage(target, workshop_id)

    def _rules_changed(self) -> None:
        self._rules.clear()
        if self.bus is not None:
            self.bus.publish('quota_rules')

    def pending(self, user_id: int) -> int:
        """Counted calls of this user in flight (reserved, not yet settled)."""
        return self._pending.get(user_id, 0)

    async def reserve(self, user_id: int, workshop_id: int | None = None) -> Reservation:
        """Check the quotas counting the calls in flight, and take one request, atomically for this user. While a
        token limit applies, wait (at most `settle_wait` seconds) until the user's other calls are settled, so the
        check sees their real tokens. Raises `Throttled` over a limit, or when the wait runs out."""
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settle_wait
        while True:
            async with lock:
                usages = await self._usage(user_id, workshop_id)
                if usages and self.shared is not None and self.shared.active:
                    reservation = await self._reserve_shared(user_id, usages, deadline - loop.time())
                    if reservation is not None:
                        return reservation
                    settled: asyncio.Event | None = None
                else:
                    await self._refuse_over(user_id, usages, self.pending(user_id))
                    tokens_limited = any(u.max_tokens is not None for u in usages)
                    if not tokens_limited or not self.pending(user_id):
                        return Reservation(self, user_id)
                    settled = self._settled.setdefault(user_id, asyncio.Event())
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                if settled is None:  # another process's call: woken by its "freed" message, or polled
                    await self.shared.wait_freed(str(user_id), min(0.25, remaining))  # type: ignore[union-attr]
                    continue
                async with asyncio.timeout(remaining):
                    await settled.wait()
            except TimeoutError:
                raise self._still_running(user_id) from None

    def _still_running(self, user_id: int) -> Throttled:
        log.warning('user %s throttled: waited %.0fs for a call in flight to settle', user_id, self.settle_wait)
        return Throttled(
            N_(
                'Another of your model calls is still running. A token limit applies to you, so your '
                'calls run one at a time (that way the limit is never overshot); this one waited '
                '{settle_wait:.0f} seconds. Try again when the other call has finished.',
                settle_wait=self.settle_wait,
            ),
            RETRY_AFTER_BUSY,
        )

    async def _reserve_shared(self, user_id: int, usages: list[Usage], wait: float) -> Reservation | None:
        """`reserve` across app processes: under the person's Redis lock, count their calls in flight on every
        process, refuse over a limit, and take one (None: a token limit applies and a call is still in flight)."""
        from redis.exceptions import LockError

        assert self.shared is not None
        key = str(user_id)
        try:
            lock = self.shared.bus.redis.lock(f'owp:quota-lock:{user_id}', timeout=10, blocking_timeout=max(0.05, wait))
            async with lock:
                self.shared.freed(key).clear()
                pending = await self.shared.total(key)
                await self._refuse_over(user_id, usages, pending)
                if pending and any(u.max_tokens is not None for u in usages):
                    return None
                await self.shared.take(key)
                return Reservation(self, user_id, shared=True)
        except LockError:
            raise self._still_running(user_id) from None

    def _settle(self, user_id: int) -> None:
        """A reserved call is recorded: free its request and wake the calls waiting for this user's to settle."""
        left = self._pending.get(user_id, 0) - 1
        if left > 0:
            self._pending[user_id] = left
            return
        self._pending.pop(user_id, None)
        settled = self._settled.pop(user_id, None)
        if settled is not None:
            settled.set()

    async def check(self, user_id: int, workshop_id: int | None = None, *, pending: int = 0) -> None:
        """Raise `Throttled` if any quota of this user (or of their workshop) is used up (`pending`: calls in flight
        that are not in the ledger yet)."""
        await self._refuse_over(user_id, await self._usage(user_id, workshop_id), pending)

    async def _refuse_over(self, user_id: int, usages: list[Usage], pending: int) -> None:
        for usage in usages:
            usage.requests += pending
            which = usage.exceeded
            if which is None:
                continue
            limit = usage.max_requests if which == 'requests' else usage.max_tokens
            template = USED_UP[usage.scope == 'user', usage.period == 'day', which == 'requests']
            message = N_(template, limit=limit, reset=usage.describe_reset())
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
        quotas = list(await self._rules_of('user', user_id))
        if workshop_id is not None:
            quotas += await self._rules_of('workshop', workshop_id)
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

    async def _rules_of(self, scope: str, key: int) -> list[Quota]:
        now = time.monotonic()
        cached = self._rules.get((scope, key))
        if cached is not None and now - cached[0] < RULES_TTL:
            return cached[1]
        if scope == 'user':
            rows = list(await Quota.filter(user_id=key, workshop_id__isnull=True))
        else:
            rows = list(await Quota.filter(workshop_id=key, user_id__isnull=True))
        if len(self._rules) > 10_000:  # bounded memory (nothing changed: the other processes keep theirs)
            self._rules.clear()
        self._rules[(scope, key)] = (now, rows)
        return rows

    def _window(self, quota: Quota) -> tuple[datetime, datetime | None]:
        if quota.period == 'session':
            return quota.session_started_at or quota.created_at, None
        now = self.clock()
        midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight, midnight + timedelta(days=1)
