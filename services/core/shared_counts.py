"""Counts held across app processes (REDIS_URL): one Redis hash per counted thing, one field per process.

Several limits of the room count things that run right now — a person's running model calls, a person's quota
requests in flight, the generations running on an Ollama host. With one process each keeps its own count; with
several, each process keeps its share in a Redis hash (`<prefix><key>` → {process origin: count}) changed only by
Lua scripts, so "check the total, then take one" is one step that no two processes can both pass at the last place.

A process's share counts only while its heartbeat key lives (`services.core.bus`): a process killed -9 stops
counting within ~15 s, so what it held is given back without anyone cleaning up. Giving back never blocks the caller
(it runs in the background, retrying while Redis restarts) and tells the other processes on the live bus
(`<prefix>freed`), so their waiters try again at once instead of at their next poll.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from services.core.bus import ALIVE, LiveBus

log = logging.getLogger(__name__)

# the live total (dropping the shares of processes that are gone); below the limit (ARGV[2], -1: none) take ARGV[3]
TAKE = """
local total = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if redis.call('EXISTS', ARGV[4] .. fields[i]) == 1 then
    total = total + tonumber(fields[i + 1])
  else
    redis.call('HDEL', KEYS[1], fields[i])
  end
end
local take = tonumber(ARGV[3])
if take == 0 then
  return total
end
local limit = tonumber(ARGV[2])
if limit >= 0 and total + take > limit then
  return -total - 1
end
redis.call('HINCRBY', KEYS[1], ARGV[1], take)
redis.call('EXPIRE', KEYS[1], 86400)
return total + take
"""

GIVE = """
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return left
"""


class SharedCounts:
    def __init__(self, bus: LiveBus, prefix: str) -> None:
        self.bus = bus
        self.prefix = prefix
        self._take: Any = None
        self._give: Any = None
        self._freed: dict[str, asyncio.Event] = {}
        bus.on(f'{prefix}freed', self._on_freed)

    @property
    def active(self) -> bool:
        return self.bus.redis is not None

    def _scripts(self) -> None:
        if self._take is None:
            self._take = self.bus.redis.register_script(TAKE)
            self._give = self.bus.redis.register_script(GIVE)

    async def _run(self, key: str, limit: int, take: int) -> int:
        self._scripts()
        args = [self.bus.origin, limit, take, ALIVE]
        return int(await self._take(keys=[f'{self.prefix}{key}'], args=args))

    async def total(self, key: str) -> int:
        """What all live processes hold of `key` together."""
        return await self._run(key, -1, 0)

    async def take(self, key: str, limit: int | None = None) -> tuple[bool, int]:
        """Take one of `key` if the total stays within `limit` (None: always). Returns (taken, the total: after
        taking, or as found when refused)."""
        result = await self._run(key, -1 if limit is None else limit, 1)
        return (True, result) if result >= 0 else (False, -result - 1)

    def freed(self, key: str) -> asyncio.Event:
        """Set whenever some process gives one of `key` back (clear it before checking, then wait on it)."""
        return self._freed.setdefault(key, asyncio.Event())

    def _on_freed(self, payload: dict[str, Any]) -> None:
        event = self._freed.get(str(payload.get('key')))
        if event is not None:
            event.set()

    def give(self, key: str) -> None:
        """Give one of `key` back (never blocks)."""
        self.freed(key).set()  # a waiter in this process tries again at once
        asyncio.get_running_loop().create_task(self._give_back(key))

    async def _give_back(self, key: str) -> None:
        for attempt in range(20):
            if self.bus.redis is None:  # shutting down: the heartbeat key goes, and with it this process's share
                return
            try:
                self._scripts()
                await self._give(keys=[f'{self.prefix}{key}'], args=[self.bus.origin])
                break
            except Exception as exc:  # Redis restarting: try again; the heartbeat bounds what a failure costs
                log.warning('shared counts: giving back %s%s failed (%s)', self.prefix, key, exc)
                await asyncio.sleep(0.5 * (attempt + 1))
        self.bus.publish(f'{self.prefix}freed', key=key)

    async def wait_freed(self, key: str, at_most: float) -> None:
        """Wait until one of `key` is given back somewhere, or `at_most` seconds (the poll that catches a lost
        message)."""
        try:
            await asyncio.wait_for(self.freed(key).wait(), timeout=max(0.0, at_most))
        except TimeoutError:
            pass


__all__ = ['SharedCounts']
