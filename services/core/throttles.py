"""Failure throttles with backoff for sign-in and joining by code (threat T20, issue 14 item 10).

A throttle counts failures per key in a sliding window. The first `free` failures cost nothing; after them each
further try must wait `base · 2^(n − free)` seconds after the latest failure, up to the window — a growing delay,
never a lock: whoever holds the key can try again once the wait is over, and a key nobody fails on is never slowed.
Sign-in keys failures by (address, account), by account and by address, each with its own budget (see
`AuthService.login`), so a stranger's wrong passwords slow the stranger, not the owner signing in elsewhere, and a
classroom behind one NAT address shares a budget sized for a room.

With several app processes (REDIS_URL) each throttle is `share`d: every failure and every clear is told to the other
processes on the live bus, which apply it to their own counts, so a stranger spreading guesses over the processes
behind a load balancer is slowed as on one (pub/sub takes a millisecond or two; guesses sent to several processes in
that same moment can each pass once). A process started later begins with the failures it hears from then on.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from services.core.i18n import N_, Message

if TYPE_CHECKING:
    from services.core.bus import LiveBus

SWEEP_EVERY = 1024  # failures between sweeps of keys whose failures all left the window


class Backoff:
    def __init__(
        self, free: int, window_seconds: float, *, base: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.free = free
        self.window = window_seconds
        self.base = base
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._since_sweep = 0
        self._bus: LiveBus | None = None
        self._name = ''

    def share(self, bus: LiveBus, name: str) -> None:
        """Count the failures of every app process on `bus` (this throttle's `name` is the same on each)."""
        self._bus, self._name = bus, name
        bus.on('throttle', self._heard)

    def _heard(self, payload: dict[str, Any]) -> None:
        if payload.get('name') != self._name:
            return
        key = str(payload.get('key'))
        if payload.get('op') == 'fail':
            self._fail(key)
        elif payload.get('op') == 'clear':
            self._failures.pop(key, None)

    def _recent(self, key: str) -> deque[float]:
        entries = self._failures.get(key)
        if entries is None:
            return deque()
        cutoff = self.clock() - self.window
        while entries and entries[0] < cutoff:
            entries.popleft()
        if not entries:
            del self._failures[key]
        return entries

    def failures(self, key: str) -> int:
        return len(self._recent(key))

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may try again (0: now)."""
        entries = self._recent(key)
        over = len(entries) - self.free
        if over < 0:
            return 0.0
        delay = min(self.base * 2.0**over, float(self.window))
        return max(0.0, entries[-1] + delay - self.clock())

    def fail(self, key: str) -> None:
        self._fail(key)
        if self._bus is not None:
            self._bus.publish('throttle', name=self._name, op='fail', key=key)

    def _fail(self, key: str) -> None:
        now = self.clock()
        self._recent(key)
        self._failures.setdefault(key, deque()).append(now)
        self._since_sweep += 1
        if self._since_sweep >= SWEEP_EVERY:  # many distinct keys (a spray of addresses): keep memory bounded
            self._since_sweep = 0
            for stale in [k for k, v in self._failures.items() if not v or v[-1] < now - self.window]:
                del self._failures[stale]

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)
        if self._bus is not None:
            self._bus.publish('throttle', name=self._name, op='clear', key=key)

    def __len__(self) -> int:
        return len(self._failures)


def wait_sentence(what: str, seconds: float) -> str:
    wait = int(seconds) + 1
    what = Message(what, {})  # translated with the sentence
    if wait == 1:
        return N_('{what} Try again in {wait} second.', what=what, wait=wait)
    return N_('{what} Try again in {wait} seconds.', what=what, wait=wait)


__all__ = ['Backoff', 'wait_sentence']
