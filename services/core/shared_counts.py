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

# the live total of KEYS[1], dropping the shares of processes that are gone (ARGV[4]: the heartbeat key prefix)
LIVE_TOTAL = """
local total = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if redis.call('EXISTS', ARGV[4] .. fields[i]) == 1 then
    total = total + tonumber(fields[i + 1])
  else
    redis.call('HDEL', KEYS[1], fields[i])
  end
end
local limit = tonumber(ARGV[2])
"""

# below the limit (ARGV[2], -1: none) take ARGV[3] (0: only count); returns the new total, or -total - 1 if refused
TAKE = (
    LIVE_TOTAL
    + """
local take = tonumber(ARGV[3])
if take == 0 then
  return total
end
if limit >= 0 and total + take > limit then
  return -total - 1
end
redis.call('HINCRBY', KEYS[1], ARGV[1], take)
redis.call('EXPIRE', KEYS[1], 86400)
return total + take
"""
)

# TAKE with the processes taking turns: a process refused joins a queue (KEYS[2], a sorted set by when it first
# asked; KEYS[3]: when each last asked); while anyone queues, only the first in the queue may take. A process that
# stops asking for 2 s (or dies) leaves the queue by itself.
TAKE_IN_TURN = (
    LIVE_TOTAL
    + """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local seen = tonumber(redis.call('HGET', KEYS[3], member) or '0')
  if seen < ms - 2000 or redis.call('EXISTS', ARGV[4] .. member) == 0 then
    redis.call('ZREM', KEYS[2], member)
    redis.call('HDEL', KEYS[3], member)
  end
end
local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
if total < limit and (head == nil or head == ARGV[1]) then
  redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
  redis.call('EXPIRE', KEYS[1], 86400)
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  return total + 1
end
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZADD', KEYS[2], ms, ARGV[1])
end
redis.call('HSET', KEYS[3], ARGV[1], ms)
redis.call('EXPIRE', KEYS[2], 60)
redis.call('EXPIRE', KEYS[3], 60)
return -total - 1
"""
)

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
        self._take_in_turn: Any = None
        self._give: Any = None
        self._freed: dict[str, asyncio.Event] = {}
        bus.on(f'{prefix}freed', self._on_freed)

    @property
    def active(self) -> bool:
        return self.bus.redis is not None

    def _scripts(self) -> None:
        if self._take is None:
            self._take = self.bus.redis.register_script(TAKE)
            self._take_in_turn = self.bus.redis.register_script(TAKE_IN_TURN)
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

    async def take_in_turn(self, key: str, limit: int) -> tuple[bool, int]:
        """`take`, with the processes that want one of `key` taking turns (first come, first served between
        processes): a refused process queues until it takes one or stops asking (`withdraw`, or 2 s without asking)."""
        self._scripts()
        full = f'{self.prefix}{key}'
        keys = [full, f'{full}:queue', f'{full}:asked']
        result = int(await self._take_in_turn(keys=keys, args=[self.bus.origin, limit, 1, ALIVE]))
        return (True, result) if result >= 0 else (False, -result - 1)

    async def withdraw(self, key: str) -> None:
        """This process no longer wants one of `key`: leave the queue of `take_in_turn`."""
        full = f'{self.prefix}{key}'
        try:
            await self.bus.redis.zrem(f'{full}:queue', self.bus.origin)
        except Exception as exc:  # the entry goes by itself after 2 s
            log.warning('shared counts: leaving the queue of %s failed (%s)', full, exc)

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
