"""The live bus between app processes, on a real Redis (Debian's redis-server on a free port)."""

from __future__ import annotations

import asyncio

from services.core.bus import LiveBus
from tests.redis_server import RedisServer


async def _eventually(check, seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, 'timed out'
        await asyncio.sleep(0.02)


async def test_events_reach_the_other_processes_in_order_and_not_their_sender(redis: RedisServer) -> None:
    a, b, c = LiveBus(redis.url), LiveBus(redis.url), LiveBus(redis.url)
    got: dict[str, list] = {'a': [], 'b': [], 'c': []}
    for name, bus in (('a', a), ('b', b), ('c', c)):
        bus.on('hand', lambda p, name=name: got[name].append(p['n']))
    for bus in (a, b, c):
        await bus.start()
    try:
        for n in range(200):
            a.publish('hand', n=n, at=None)
        await _eventually(lambda: len(got['b']) == 200 and len(got['c']) == 200)
        assert got['b'] == list(range(200)) and got['c'] == list(range(200))  # in order
        assert got['a'] == []  # the sender applied it itself already
    finally:
        for bus in (a, b, c):
            await bus.stop()


async def test_async_handlers_and_a_failing_handler_do_not_stop_the_bus(redis: RedisServer) -> None:
    a, b = LiveBus(redis.url), LiveBus(redis.url)
    seen: list[str] = []

    async def slow(p: dict) -> None:
        await asyncio.sleep(0.01)
        seen.append(p['text'])

    def broken(p: dict) -> None:
        raise RuntimeError('a bug in one handler')

    b.on('broadcast', broken)
    b.on('broadcast', slow)
    await a.start()
    await b.start()
    try:
        a.publish('broadcast', text='one')
        a.publish('broadcast', text='two')
        await _eventually(lambda: seen == ['one', 'two'])
    finally:
        await a.stop()
        await b.stop()


async def test_a_lost_redis_is_resubscribed_and_the_gap_reported(redis: RedisServer) -> None:
    """Redis restarts: the bus subscribes again by itself and calls its gap hooks (state to rebuild from the DB)."""
    a, b = LiveBus(redis.url), LiveBus(redis.url)
    gaps: list[int] = []
    got: list[str] = []
    b.on_gap(lambda: gaps.append(1))
    b.on('step', lambda p: got.append(p['x']))
    await a.start()
    await b.start()
    try:
        assert gaps == [1]  # the first subscription
        port = redis.port
        redis.process.kill()
        redis.process.wait(5)
        redis.port = port
        redis.start()  # the same port again
        await _eventually(lambda: len(gaps) == 2, seconds=15)
        a.publish('step', x='after the restart')
        await _eventually(lambda: got == ['after the restart'], seconds=15)
    finally:
        await a.stop()
        await b.stop()


async def test_without_redis_publishing_does_nothing() -> None:
    bus = LiveBus('')
    await bus.start()
    bus.publish('hand', n=1)  # one process: nothing to tell, nothing raised
    assert not bus.shared and bus.published == 0
    await bus.stop()
