"""The room: how many model calls each Ollama host runs at once, and a fair wait queue in front of them.

A workshop is 20–200 people sharing a few hosts that can each run only a few generations at once. Every call a
person starts (and every background embedding) asks the room for a slot on one of the hosts that can serve it:

- **Slots per host.** Each host has a number of generation slots (its setting, default `OLLAMA_SLOTS`) and a
  smaller number of embedding slots (`OLLAMA_EMBED_SLOTS`), counted separately. A call holds its slot until its
  stream ends, fails or its consumer goes away (a closed tab, a cancelled SDK stream): the slot is released at once.
- **Fair, not first-come.** When no slot is free, calls wait. Waiting calls are served staff first (instructors
  and admins: a demo on the projector never waits behind the class), then the person with the fewest calls running
  (so one person's forty queued calls cannot push anyone else back), then whoever has used the least slot time
  lately, then whoever was served longest ago (round robin). Each person's calls keep their order. A person may
  run at most `CHAT_MAX_STREAMS_PER_USER` calls; more wait in their own lane.
- **Headroom.** Generations cannot be pre-empted, so a person who already has a call running never takes the last
  free generation slot of a host: it is kept for someone with nothing in flight (staff excepted).
- **Bounded waits.** A call waits at most `QUEUE_MAX_WAIT_SECONDS`; then it is refused with a clear "the room is
  busy" and a Retry-After. A person's lane holds at most `QUEUE_MAX_PER_USER` calls.

With several app processes (REDIS_URL) a person's limit of running calls holds across all of them
(`SharedLimits`), and so do the slots of each host (`slots`: a `SharedCounts` keyed by kind and host). Each process
keeps its own fair queue; when it has a waiting call that its fairness rules would serve, it takes one of the host's
slots in Redis first and then grants it to the best waiting call it has at that moment. When processes compete for
a full host they take turns (the first process refused is the first served when a slot frees), so a busy process
cannot starve a quieter one. `snapshot()` is what the instructor dashboard shows (this process's view).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from services.core.errors import Throttled
from services.core.i18n import N_
from services.models.callers import Caller

if TYPE_CHECKING:
    from services.core.shared_counts import SharedCounts
    from services.models.shared_limits import SharedLimits

log = logging.getLogger(__name__)

GENERATE, EMBED = 'generate', 'embed'


@dataclass(kw_only=True, slots=True)
class HostLoad:
    url: str
    slots: int
    embed_slots: int
    active: int = 0
    active_embed: int = 0

    def free(self, kind: str) -> int:
        return self.embed_slots - self.active_embed if kind == EMBED else self.slots - self.active


@dataclass(kw_only=True, slots=True)
class Waiter:
    caller: Caller
    kind: str
    hosts: list[str]  # the hosts that can serve the call, best first
    limited: bool  # counts against the person's concurrent calls
    seq: int
    since: float
    future: asyncio.Future[Ticket]
    on_wait: Callable[[int], None] | None = None
    last_told: int | None = None
    shared: bool = False  # holds one of the person's places across processes (SharedLimits)

    @property
    def staff(self) -> bool:
        return not self.caller.is_system and not self.caller.restricted

    @property
    def key(self) -> int | None:
        return self.caller.user_id


@dataclass(kw_only=True, slots=True)
class Ticket:
    """A granted slot: on `host`, for one call. Release it exactly once (the room ignores a second release)."""

    host: str
    kind: str
    user_id: int | None
    limited: bool
    waited_s: float
    granted_at: float = field(default_factory=time.monotonic)
    released: bool = False
    shared: bool = False
    shared_slot: bool = False  # holds one of the host's slots across processes (Room.slots)


@dataclass(kw_only=True, slots=True)
class WaitingCall:
    user_id: int | None
    workshop_id: int | None
    kind: str
    waited_s: float


@dataclass(kw_only=True, slots=True)
class RoomView:
    hosts: list[HostLoad]
    waiting: list[WaitingCall]
    refused_busy: int  # calls refused because they waited too long (since start)
    served: int
    running_by_user: dict[int, int] = field(default_factory=dict)


class Room:
    def __init__(
        self,
        *,
        slots: int = 4,
        embed_slots: int = 2,
        max_per_user: int = 4,
        max_wait: float = 30.0,
        max_queue_per_user: int = 20,
        headroom: int = 1,
        shared: SharedLimits | None = None,
        slots_shared: SharedCounts | None = None,
    ) -> None:
        self.default_slots = slots
        self.default_embed_slots = embed_slots
        self.max_per_user = max_per_user
        self.max_wait = max_wait
        self.max_queue_per_user = max_queue_per_user
        self.headroom = headroom
        self.shared = shared  # several app processes: a person's running calls counted across them (Redis)
        self.slots_shared = slots_shared  # ... and each host's slots
        self._takers: dict[tuple[str, str], asyncio.Task] = {}  # (host, kind) -> taking a shared slot for a waiter
        self.hosts: dict[str, HostLoad] = {}
        self._lanes: dict[int | None, deque[Waiter]] = {}
        self._running: dict[int, int] = {}  # user id -> limited calls running
        self._turn: dict[int | None, int] = {}  # user id -> when they were last given a slot (round robin)
        self._used: dict[int | None, tuple[float, float]] = {}  # user id -> (slot-seconds used, when), decaying
        self.half_life = 300.0  # seconds after which half of a person's past use is forgotten
        self._seq = itertools.count()
        self.refused_busy = 0
        self.served = 0

    # ----- hosts ----------------------------------------------------------------------------------------------------
    def host(self, url: str, slots: int | None = None) -> HostLoad:
        """The load of a host; `slots` is its own number of generation slots (None: the default)."""
        wanted = slots or self.default_slots
        load = self.hosts.get(url)
        if load is None:
            load = self.hosts[url] = HostLoad(url=url, slots=wanted, embed_slots=self.default_embed_slots)
        elif wanted != load.slots:
            load.slots = wanted
            self._dispatch()
        return load

    def busy(self, url: str) -> int:
        """Calls running on and waiting for this host (what least-busy routing compares)."""
        load = self.hosts.get(url)
        waiting = sum(1 for lane in self._lanes.values() for w in lane if w.hosts and w.hosts[0] == url)
        return (load.active + load.active_embed if load else 0) + waiting

    def running(self, user_id: int) -> int:
        return self._running.get(user_id, 0)

    # ----- slots ----------------------------------------------------------------------------------------------------
    async def acquire(
        self,
        caller: Caller,
        kind: str,
        hosts: list[str],
        *,
        limited: bool,
        on_wait: Callable[[int], None] | None = None,
    ) -> Ticket:
        """A slot on one of `hosts` (best first), now or after a fair wait. `on_wait(n)` is told how many calls are
        ahead whenever that changes while waiting. Raises Throttled when the wait would be too long."""
        for url in hosts:
            if url not in self.hosts:
                self.host(url)
        lane = self._lanes.setdefault(caller.user_id, deque())
        if caller.user_id is not None and len(lane) >= self.max_queue_per_user:
            self.refused_busy += 1
            raise Throttled(
                N_(
                    'You already have {count} model calls waiting for a free slot. Wait for them first.',
                    count=len(lane),
                ),
                10,
            )
        started = time.monotonic()
        limited = limited and caller.user_id is not None
        shared = limited and self.shared is not None and self.shared.active
        if shared:  # one of the person's places on all processes together, before queueing here
            try:
                await self.shared.enter(caller.user_id, self.max_per_user, self.max_wait)  # type: ignore[union-attr,arg-type]
            except Throttled:
                self.refused_busy += 1
                raise
        lane = self._lanes.setdefault(caller.user_id, deque())  # again: the one above may be gone after the await
        loop = asyncio.get_running_loop()
        waiter = Waiter(
            caller=caller,
            kind=kind,
            hosts=list(hosts),
            limited=limited,
            seq=next(self._seq),
            since=started,
            future=loop.create_future(),
            on_wait=on_wait,
            shared=shared,
        )
        lane.append(waiter)
        self._dispatch()
        if not waiter.future.done():
            self._tell_positions()
        try:
            left = max(0.05, self.max_wait - (time.monotonic() - started)) if shared else self.max_wait
            return await asyncio.wait_for(asyncio.shield(waiter.future), left)
        except TimeoutError:
            if waiter.future.done():  # granted at the last moment
                return waiter.future.result()
            self._remove(waiter)
            self._give_back(waiter)
            self.refused_busy += 1
            raise self._busy(waiter) from None
        except asyncio.CancelledError:  # the client went away while waiting
            if waiter.future.done() and not waiter.future.cancelled():
                self.release(waiter.future.result())
            else:
                self._remove(waiter)
                waiter.future.cancel()
                self._give_back(waiter)
            raise

    def _give_back(self, waiter: Waiter) -> None:
        if waiter.shared and self.shared is not None and waiter.key is not None:
            self.shared.leave(waiter.key)

    def release(self, ticket: Ticket) -> None:
        if ticket.released:
            return
        ticket.released = True
        load = self.hosts.get(ticket.host)
        if load is not None:
            if ticket.kind == EMBED:
                load.active_embed -= 1
            else:
                load.active -= 1
        if ticket.user_id is not None:
            now = time.monotonic()
            self._used[ticket.user_id] = (self.used(ticket.user_id) + now - ticket.granted_at, now)
        if ticket.limited and ticket.user_id is not None:
            self._running[ticket.user_id] -= 1
            if not self._running[ticket.user_id]:
                del self._running[ticket.user_id]
        if ticket.shared and self.shared is not None and ticket.user_id is not None:
            self.shared.leave(ticket.user_id)
        if ticket.shared_slot and self.slots_shared is not None:
            self.slots_shared.give(f'{ticket.kind}:{ticket.host}')
        self._dispatch()

    def _busy(self, waiter: Waiter) -> Throttled:
        waited = time.monotonic() - waiter.since
        user = waiter.caller.user_id
        if waiter.limited and user is not None and self.running(user) >= self.max_per_user:
            return Throttled(
                N_(
                    'You already have {user} model calls running (the limit is {max_per_user}); this one '
                    'waited {waited:.0f} s for one of them to finish. Wait for one or stop it, then try '
                    'again.',
                    user=self.running(user),
                    max_per_user=self.max_per_user,
                    waited=waited,
                ),
                5,
            )
        queued = sum(len(lane) for lane in self._lanes.values())
        return Throttled(
            N_(
                'The room is busy: every model slot is taken and {queued} more calls are waiting. This '
                'one waited {waited:.0f} s. Try again in a few seconds.',
                queued=queued,
                waited=waited,
            ),
            10,
        )

    def _remove(self, waiter: Waiter) -> None:
        lane = self._lanes.get(waiter.key)
        if lane is not None and waiter in lane:
            lane.remove(waiter)
            if not lane:
                del self._lanes[waiter.key]
        self._tell_positions()

    # ----- fair dispatch --------------------------------------------------------------------------------------------
    def _order(self, waiter: Waiter) -> tuple:
        """Staff first; then whoever has the fewest calls running; then whoever has used the least slot time lately
        (so someone who keeps many calls queued gets no more of the room than someone who asks one at a time); then
        whoever was served longest ago (round robin); then the oldest call."""
        running = self.running(waiter.key) if waiter.key is not None else 0
        return (0 if waiter.staff else 1, running, self.used(waiter.key), self._turn.get(waiter.key, -1), waiter.seq)

    def used(self, user_id: int | None) -> float:
        """Slot-seconds this person used lately (halved every `half_life` seconds)."""
        value, when = self._used.get(user_id, (0.0, 0.0))
        return value * 0.5 ** ((time.monotonic() - when) / self.half_life) if value else 0.0

    def _fits(self, waiter: Waiter, load: HostLoad, free: int | None = None) -> bool:
        """Whether the fairness rules give `waiter` a slot on this host (`free`: the host's free slots on every
        process together, when known; else this process's view)."""
        free = load.free(waiter.kind) if free is None else free
        if free <= 0:
            return False
        user = waiter.key
        if waiter.limited and user is not None:
            running = self.running(user)
            if running >= self.max_per_user:
                return False
            # more than an equal share of the slots only while nobody else is waiting
            if running and not waiter.staff and running >= self._share() and self._others_waiting(user, load.url):
                return False
            # headroom: the last free generation slot is kept for someone with nothing in flight
            if waiter.kind != EMBED and running > 0 and not waiter.staff and free <= self.headroom:
                return False
        return True

    def _share(self) -> int:
        """An equal share of the generation slots among the people running or waiting for calls (at least one)."""
        people = set(self._running) | {key for key, lane in self._lanes.items() if lane and key is not None}
        slots = sum(h.slots for h in self.hosts.values())
        return max(1, slots // max(1, len(people)))

    def _others_waiting(self, user_id: int, url: str) -> bool:
        """Whether someone else waits for a call this host could serve."""
        return any(lane and url in lane[0].hosts for key, lane in self._lanes.items() if key != user_id)

    def _dispatch(self) -> None:
        if self.slots_shared is not None and self.slots_shared.active:
            self._want_shared()
            return
        granted = False
        while True:
            heads = sorted((lane[0] for lane in self._lanes.values() if lane), key=self._order)
            for waiter in heads:
                load = next(
                    (self.hosts[u] for u in waiter.hosts if u in self.hosts and self._fits(waiter, self.hosts[u])), None
                )
                if load is None:
                    continue
                self._grant(waiter, load)
                granted = True
                break
            else:
                break
        if granted:
            self._tell_positions()

    # ----- slots shared with other processes -----------------------------------------------------------------------
    def _want_shared(self) -> None:
        """Start taking a shared slot of every host that a waiting call could be served on now."""
        for waiter in sorted((lane[0] for lane in self._lanes.values() if lane), key=self._order):
            for url in waiter.hosts:
                load = self.hosts.get(url)
                if load is not None and (url, waiter.kind) not in self._takers and self._fits(waiter, load):
                    self._takers[url, waiter.kind] = asyncio.get_running_loop().create_task(
                        self._take_shared(url, waiter.kind), name=f'room-take-{waiter.kind}-{url}'
                    )

    def _best_for(self, url: str, kind: str, free: int | None = None) -> Waiter | None:
        load = self.hosts.get(url)
        if load is None:
            return None
        heads = sorted((lane[0] for lane in self._lanes.values() if lane), key=self._order)
        return next((w for w in heads if w.kind == kind and url in w.hosts and self._fits(w, load, free)), None)

    async def _take_shared(self, url: str, kind: str) -> None:
        """Take the host's slots in Redis (taking turns with the other processes) while a call here waits for one,
        granting each to the best waiting call at that moment."""
        assert self.slots_shared is not None
        counts, key = self.slots_shared, f'{kind}:{url}'
        try:
            while (load := self.hosts.get(url)) is not None and self._best_for(url, kind) is not None:
                limit = load.embed_slots if kind == EMBED else load.slots
                counts.freed(key).clear()
                try:
                    taken, total = await counts.take_in_turn(key, limit)
                except Exception as exc:  # Redis restarting: the waiting calls wait (bounded by max_wait)
                    log.warning('room: taking a shared slot of %s failed (%s)', url, exc)
                    await asyncio.sleep(0.5)
                    continue
                if not taken:
                    await counts.wait_freed(key, 0.25)
                    continue
                waiter = self._best_for(url, kind, limit - total + 1)
                if waiter is None:  # the waiting call went away, or is not due the host's last slots: give it back
                    counts.give(key)
                    await asyncio.sleep(0.1)  # (not `wait_freed`: giving back wakes this process's waiters at once)
                    continue
                self._grant(waiter, load, shared_slot=True)
                self._tell_positions()
        finally:
            self._takers.pop((url, kind), None)
            if counts.active:
                await counts.withdraw(key)

    def _grant(self, waiter: Waiter, load: HostLoad, *, shared_slot: bool = False) -> None:
        lane = self._lanes[waiter.key]
        lane.popleft()
        if not lane:
            del self._lanes[waiter.key]
        if waiter.kind == EMBED:
            load.active_embed += 1
        else:
            load.active += 1
        if waiter.limited and waiter.key is not None:
            self._running[waiter.key] = self.running(waiter.key) + 1
        self.served += 1
        self._turn[waiter.key] = self.served
        ticket = Ticket(
            host=load.url,
            kind=waiter.kind,
            user_id=waiter.key,
            limited=waiter.limited,
            waited_s=time.monotonic() - waiter.since,
            shared=waiter.shared,
            shared_slot=shared_slot,
        )
        if waiter.future.done():  # cancelled in the meantime: give the slot straight back
            self.release(ticket)
        else:
            waiter.future.set_result(ticket)

    def ahead_of(self, waiter: Waiter) -> int:
        """How many waiting calls would be served before this one, in the order the room serves them."""
        mine = self._order(waiter)
        ahead = 0
        for lane in self._lanes.values():
            for other in lane:
                if other is waiter:
                    break
                if other.key == waiter.key or self._order(other) < mine:
                    ahead += 1
        return ahead

    def _tell_positions(self) -> None:
        for lane in self._lanes.values():
            for waiter in lane:
                if waiter.on_wait is None:
                    continue
                ahead = self.ahead_of(waiter)
                if ahead != waiter.last_told:
                    waiter.last_told = ahead
                    try:
                        waiter.on_wait(ahead)
                    except Exception:
                        log.exception('telling a waiting call its position failed')

    # ----- what the dashboard shows ---------------------------------------------------------------------------------
    def waiting_by_host(self) -> dict[str, int]:
        """How many calls wait, by the host they wait for first."""
        counts: dict[str, int] = {}
        for lane in self._lanes.values():
            for waiter in lane:
                host = waiter.hosts[0] if waiter.hosts else ''
                counts[host] = counts.get(host, 0) + 1
        return counts

    def snapshot(self) -> RoomView:
        now = time.monotonic()
        waiting = [
            WaitingCall(
                user_id=w.caller.user_id,
                workshop_id=w.caller.workshop_id,
                kind=w.kind,
                waited_s=round(now - w.since, 1),
            )
            for lane in self._lanes.values()
            for w in lane
        ]
        return RoomView(
            hosts=[HostLoad(**{k: getattr(h, k) for k in HostLoad.__slots__}) for h in self.hosts.values()],
            waiting=sorted(waiting, key=lambda w: -w.waited_s),
            refused_busy=self.refused_busy,
            served=self.served,
            running_by_user=dict(self._running),
        )
