"""A person's limit of running model calls, held across app processes (issue 16 item 1).

With one process the room counts each person's running calls itself. With several (REDIS_URL), a person could open
`CHAT_MAX_STREAMS_PER_USER` calls on every process; so before a limited call queues in the local room it takes one
of the person's places here (`SharedCounts`: a Redis hash per person with one count per process, checked and
taken in one step). A process killed -9 gives its places back within ~15 s.

A call that finds no place waits (woken when another process frees one, or every 0.25 s) up to the room's maximum
wait, then is refused like the room refuses it: the person has too many calls running.
"""

from __future__ import annotations

import time

from services.core.bus import LiveBus
from services.core.errors import Throttled
from services.core.i18n import N_
from services.core.shared_counts import SharedCounts

KEY = 'owp:running:'  # + user id: {process origin: running calls}


class SharedLimits:
    def __init__(self, bus: LiveBus) -> None:
        self.bus = bus
        self.counts = SharedCounts(bus, KEY)

    @property
    def active(self) -> bool:
        return self.counts.active

    async def enter(self, user_id: int, limit: int, max_wait: float) -> None:
        """Take one of this person's `limit` places (waiting up to `max_wait` s), or raise Throttled."""
        deadline = time.monotonic() + max_wait
        key = str(user_id)
        while True:
            self.counts.freed(key).clear()
            taken, total = await self.counts.take(key, limit)
            if taken:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise Throttled(
                    N_(
                        'You already have {total} model calls running (the limit is {limit}, on every server '
                        'of this platform together); this one waited {max_wait:.0f} s for one of them to '
                        'finish. Wait for one or stop it, then try again.',
                        total=total,
                        limit=limit,
                        max_wait=max_wait,
                    ),
                    5,
                )
            await self.counts.wait_freed(key, min(0.25, left))

    def leave(self, user_id: int) -> None:
        """Give the place back (never blocks: the room releases its slot with no await)."""
        self.counts.give(str(user_id))


__all__ = ['SharedLimits']
