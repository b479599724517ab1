"""The live-event bus between app processes (issue 16 item 1).

Every process keeps the live state of running workshops in memory (the dashboards', attendee pages' and caches'
source). A change made on one process — an attendee joined, a hand raised, an announcement, an action recorded — is
applied there at once, as before, and `publish`ed here so that every OTHER process applies it to its own copy and
pushes it to the pages it serves. With `REDIS_URL` set the events travel over Redis pub/sub (one channel, JSON);
without it there is one process and `publish` does nothing.

Handlers are registered per kind with `on(kind, handler)`; a handler gets the event's payload (plain JSON values) and
may be a coroutine function. Events from one process arrive at the others in the order they were published.
Redis pub/sub is at-most-once: a process that is disconnected for a moment misses what was said meanwhile, so on
every (re)subscription the bus calls the `on_gap` hooks, which drop in-memory state to be rebuilt from the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

CHANNEL = 'owp:live'
ALIVE = 'owp:proc:'  # + origin: set while the process runs (refreshed every HEARTBEAT s, expires after 3 of them)
HEARTBEAT = 5.0
Handler = Callable[[dict[str, Any]], Awaitable[None] | None]


class LiveBus:
    def __init__(self, redis_url: str = '', *, channel: str = CHANNEL) -> None:
        self.redis_url = redis_url
        self.channel = channel
        self.origin = uuid.uuid4().hex  # this process: its own events are not applied twice
        self._handlers: dict[str, list[Handler]] = {}
        self._gap_hooks: list[Callable[[], None]] = []
        self._outbox: asyncio.Queue[str] | None = None
        self._tasks: list[asyncio.Task] = []
        self._client: Any = None
        self.subscribed = asyncio.Event()
        self.received = 0
        self.published = 0

    @property
    def shared(self) -> bool:
        return bool(self.redis_url)

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    def on_gap(self, hook: Callable[[], None]) -> None:
        """Called whenever events may have been missed (a (re)subscription): drop what cannot be trusted."""
        self._gap_hooks.append(hook)

    def publish(self, kind: str, **payload: Any) -> None:
        """Tell the other processes (never blocks; nothing when there is one process)."""
        if self._outbox is None:
            return
        message = json.dumps({'o': self.origin, 'k': kind, 'p': payload}, separators=(',', ':'), default=str)
        self._outbox.put_nowait(message)

    # ----- lifecycle -------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        if not self.redis_url or self._tasks:
            return
        from redis import asyncio as aioredis

        self._client = aioredis.from_url(self.redis_url, socket_keepalive=True, health_check_interval=15)
        self._outbox = asyncio.Queue()
        self._tasks = [
            asyncio.create_task(self._listen(), name='bus-listen'),
            asyncio.create_task(self._send(), name='bus-send'),
            asyncio.create_task(self._heartbeat(), name='bus-heartbeat'),
        ]
        try:
            await asyncio.wait_for(self.subscribed.wait(), timeout=10)
        except TimeoutError:
            log.error('live bus: not subscribed to Redis at %s after 10 s; retrying in the background', self.redis_url)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass  # shutting down
        self._tasks = []
        if self._client is not None:
            try:
                await self._client.delete(ALIVE + self.origin)
            except Exception:
                pass  # Redis is gone already: the key expires by itself
            await self._client.aclose()
            self._client = None

    @property
    def redis(self) -> Any:
        """The Redis client (None without REDIS_URL or before `start`): for counters other services share."""
        return self._client

    async def _heartbeat(self) -> None:
        """Say that this process is alive: what it holds in shared counters counts only while it is (a process killed
        -9 stops saying so, and its share is dropped after 3 heartbeats)."""
        while True:
            try:
                await self._client.set(ALIVE + self.origin, '1', ex=int(HEARTBEAT * 3))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning('live bus: heartbeat failed (%s)', exc)
            await asyncio.sleep(HEARTBEAT)

    async def _send(self) -> None:
        assert self._outbox is not None
        while True:
            message = await self._outbox.get()
            while True:
                try:
                    await self._client.publish(self.channel, message)
                    self.published += 1
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # Redis restarting: keep the order, try again
                    log.warning('live bus: publishing failed (%s); retrying', exc)
                    await asyncio.sleep(0.5)

    async def _listen(self) -> None:
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                for hook in self._gap_hooks:  # whatever was said while not subscribed is lost: rebuild from the DB
                    hook()
                self.subscribed.set()
                log.info('live bus: subscribed to %s', self.channel)
                async for message in pubsub.listen():
                    if message.get('type') == 'message':
                        await self._dispatch(message['data'])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.subscribed.clear()
                log.warning('live bus: lost Redis (%s); resubscribing in 1 s', exc)
                await asyncio.sleep(1)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass  # the connection is gone already

    async def _dispatch(self, raw: bytes | str) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            log.warning('live bus: dropped a message that is not JSON')
            return
        if event.get('o') == self.origin:
            return
        self.received += 1
        for handler in self._handlers.get(event.get('k', ''), ()):
            try:
                result = handler(event.get('p') or {})
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception('live bus: handler for %s failed', event.get('k'))


__all__ = ['ALIVE', 'LiveBus']
