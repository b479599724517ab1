"""A person's limit of running model calls, held across app processes (issue 16 item 1).

With one process the room counts each person's running calls itself. With several (REDIS_URL), a person could open
`CHAT_MAX_STREAMS_PER_USER` calls on every process; so before a limited call queues in the local room it takes one
of the person's places here: a Redis hash per person with one count per process, changed only by a Lua script that
checks and increments in one step (no two processes can both take the last place). A process's counts count only
while its heartbeat key lives (`services.core.bus`): a process killed -9 gives its places back within ~15 s.

A call that finds no place waits (woken when another process frees one, or every 0.25 s) up to the room's maximum
wait, then is refused like the room refuses it: the person has too many calls running.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from services.core.bus import ALIVE, LiveBus
from services.core.errors import Throttled

log = logging.getLogger(__name__)

KEY = 'owp:running:'  # + user id: {process origin: running calls}

ENTER = """
local total = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if redis.call('EXISTS', ARGV[3] .. fields[i]) == 1 then
    total = total + tonumber(fields[i + 1])
  else
    redis.call('HDEL', KEYS[1], fields[i])
  end
end
if total >= tonumber(ARGV[2]) then
  return -total
end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('EXPIRE', KEYS[1], 86400)
return total + 1
"""

LEAVE = """
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return left
"""


class SharedLimits:
    def __init__(self, bus: LiveBus) -> None:
        self.bus = bus
        self._freed: dict[int, asyncio.Event] = {}
        self._enter: Any = None
        self._leave: Any = None
        bus.on('running_freed', self._on_freed)

    @property
    def active(self) -> bool:
        return self.bus.redis is not None

    def _scripts(self) -> None:
        if self._enter is None:
            self._enter = self.bus.redis.register_script(ENTER)
            self._leave = self.bus.redis.register_script(LEAVE)

    def _on_freed(self, payload: dict[str, Any]) -> None:
        event = self._freed.get(payload.get('user_id', -1))
        if event is not None:
            event.set()

    async def enter(self, user_id: int, limit: int, max_wait: float) -> None:
        """Take one of this person's `limit` places (waiting up to `max_wait` s), or raise Throttled."""
        self._scripts()
        deadline = time.monotonic() + max_wait
        event = self._freed.setdefault(user_id, asyncio.Event())
        while True:
            event.clear()
            result = int(await self._enter(keys=[f'{KEY}{user_id}'], args=[self.bus.origin, limit, ALIVE]))
            if result > 0:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise Throttled(
                    f'You already have {-result} model calls running (the limit is {limit}, on every server of '
                    f'this platform together); this one waited {max_wait:.0f} s for one of them to finish. Wait for '
                    'one or stop it, then try again.',
                    5,
                )
            try:
                await asyncio.wait_for(event.wait(), timeout=min(0.25, left))
            except TimeoutError:
                pass

    def leave(self, user_id: int) -> None:
        """Give the place back (never blocks: the room releases its slot with no await)."""
        self._freed.get(user_id, asyncio.Event()).set()  # a waiter on this process tries again at once
        asyncio.get_running_loop().create_task(self._give_back(user_id))

    async def _give_back(self, user_id: int) -> None:
        self._scripts()
        for attempt in range(20):
            if self.bus.redis is None:  # shutting down: the heartbeat key goes, and with it this process's share
                return
            try:
                await self._leave(keys=[f'{KEY}{user_id}'], args=[self.bus.origin])
                break
            except Exception as exc:  # Redis restarting: try again; the heartbeat bounds what a failure costs
                log.warning('shared limits: giving back a place of user %s failed (%s)', user_id, exc)
                await asyncio.sleep(0.5 * (attempt + 1))
        self.bus.publish('running_freed', user_id=user_id)


__all__ = ['SharedLimits']
