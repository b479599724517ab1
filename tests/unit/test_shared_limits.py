"""A person's limit of running model calls across app processes: two rooms (as two processes would have), each with
its own live bus, on one real Redis. Attacks: opening the calls half on each process, all at once; a process that
dies holding places."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from models import Role
from services.core.bus import LiveBus
from services.core.errors import Throttled
from services.models.callers import Caller
from services.models.room import GENERATE, Room
from services.models.shared_limits import SharedLimits
from tests.redis_server import RedisServer

ANN = Caller(user_id=7, role=Role.ATTENDEE, workshop_id=1)


@pytest.fixture
async def processes(redis: RedisServer) -> AsyncIterator[list[tuple[LiveBus, Room]]]:
    made = []
    for _ in range(2):
        bus = LiveBus(redis.url)
        room = Room(slots=10, max_per_user=4, max_wait=2.0, shared=SharedLimits(bus))
        await bus.start()
        made.append((bus, room))
    yield made
    await asyncio.sleep(0.2)  # places given back in the background reach Redis
    for bus, _ in made:
        await bus.stop()


async def test_a_limit_of_4_holds_across_two_processes(processes: list[tuple[LiveBus, Room]]) -> None:
    (_, a), (_, b) = processes
    # 8 calls at the same moment, half on each process (each process alone would admit all 4 of its own)
    calls = [asyncio.create_task(room.acquire(ANN, GENERATE, ['http://h'], limited=True)) for room in (a, b) * 4]
    await asyncio.sleep(0.5)
    granted = [c for c in calls if c.done() and not c.exception()]
    assert len(granted) == 4  # 4 running, the other 4 wait
    assert a.running(7) + b.running(7) == 4
    # one finishes on one process: exactly one waiting call goes ahead, on whichever process it waits
    owner = a if calls.index(granted[0]) % 2 == 0 else b
    owner.release(granted[0].result())
    await asyncio.sleep(0.6)
    assert sum(1 for c in calls if c.done() and not c.exception()) == 5
    assert a.running(7) + b.running(7) == 4
    # the rest give up after the room's wait: refused with the sentence, not admitted
    results = await asyncio.gather(*calls, return_exceptions=True)
    refused = [r for r in results if isinstance(r, Throttled)]
    assert len(refused) == 3
    assert 'on every server of this platform together' in refused[0].message


async def test_a_dead_process_gives_its_places_back(processes: list[tuple[LiveBus, Room]], redis: RedisServer) -> None:
    (bus_a, a), (_, b) = processes
    for _ in range(4):
        await a.acquire(ANN, GENERATE, ['http://h'], limited=True)
    with pytest.raises(Throttled):  # process B: the person is at their limit
        await b.acquire(ANN, GENERATE, ['http://h'], limited=True)
    # process A dies without releasing anything: its heartbeat stops and its key goes (as it would expire)
    for task in bus_a._tasks:
        task.cancel()
    await bus_a.redis.delete(f'owp:proc:{bus_a.origin}')
    ticket = await b.acquire(ANN, GENERATE, ['http://h'], limited=True)
    assert ticket.shared and b.running(7) == 1
