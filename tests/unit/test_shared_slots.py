"""A host's slots across app processes: two rooms (as two processes would have), each with its own live bus, on one
real Redis. Attacks: the whole class on both processes at once against a host of 3 slots; one process with a long
queue trying to keep the host to itself; a process that dies holding slots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from models import Role
from services.core.bus import LiveBus
from services.core.shared_counts import SharedCounts
from services.models.callers import Caller
from services.models.room import EMBED, GENERATE, Room, Ticket
from tests.redis_server import RedisServer

HOST = 'http://h'


def person(user_id: int) -> Caller:
    return Caller(user_id=user_id, role=Role.ATTENDEE, workshop_id=1)


@pytest.fixture
async def processes(redis: RedisServer) -> AsyncIterator[list[tuple[LiveBus, Room]]]:
    made = []
    for _ in range(2):
        bus = LiveBus(redis.url)
        room = Room(slots=3, embed_slots=1, max_per_user=4, max_wait=10.0, slots_shared=SharedCounts(bus, 'owp:slots:'))
        await bus.start()
        made.append((bus, room))
    yield made
    await asyncio.sleep(0.2)
    for bus, _ in made:
        await bus.stop()


def granted(calls: list[asyncio.Task]) -> list[Ticket]:
    return [c.result() for c in calls if c.done() and not c.cancelled() and not c.exception()]


async def test_a_hosts_slots_hold_across_two_processes(processes: list[tuple[LiveBus, Room]]) -> None:
    (_, a), (_, b) = processes
    # 10 people at the same moment, half on each process (each process alone would run 3)
    rooms = [(a, b)[i % 2] for i in range(10)]
    calls = [
        asyncio.create_task(room.acquire(person(i), GENERATE, [HOST], limited=True)) for i, room in enumerate(rooms)
    ]
    await asyncio.sleep(0.5)
    assert len(granted(calls)) == 3  # the host's 3 slots, not 3 on each process
    assert a.hosts[HOST].active + b.hosts[HOST].active == 3
    # embeddings have their own slot, also shared
    embeds = [
        asyncio.create_task(room.acquire(person(50 + i), EMBED, [HOST], limited=False)) for i, room in enumerate((a, b))
    ]
    await asyncio.sleep(0.3)
    assert len(granted(embeds)) == 1
    # one call ends: exactly one waiting call goes ahead, on whichever process it waits
    first = calls.index(next(c for c in calls if c.done()))
    rooms[first].release(calls[first].result())
    await asyncio.sleep(0.5)
    assert len(granted(calls)) == 4
    assert a.hosts[HOST].active + b.hosts[HOST].active == 3
    for call in calls + embeds:
        call.cancel()
    await asyncio.gather(*calls, *embeds, return_exceptions=True)


async def test_processes_take_turns_so_a_long_queue_cannot_keep_the_host(processes: list[tuple[LiveBus, Room]]) -> None:
    """A has 12 people waiting, B 12: as slots free, both processes are served, in turns."""
    (_, a), (_, b) = processes
    rooms = {a: [], b: []}
    for i in range(24):
        room = a if i < 12 else b  # A's callers all ask first
        rooms[room].append(asyncio.create_task(room.acquire(person(i), GENERATE, [HOST], limited=True)))
    await asyncio.sleep(0.3)
    served = {a: 0, b: 0}
    for _ in range(12):  # 12 times, a running call ends somewhere
        for room, calls in rooms.items():
            for call in calls:
                if call.done() and not call.exception() and not call.result().released:
                    room.release(call.result())
                    served[room] += 1
                    break
            else:
                continue
            break
        await asyncio.sleep(0.3)
    done = {room: len(granted(calls)) for room, calls in rooms.items()}
    assert sum(done.values()) == 3 + 12
    assert min(done.values()) >= 5, done  # both served, not one process's queue first
    for calls in rooms.values():
        for call in calls:
            call.cancel()
    await asyncio.gather(*rooms[a], *rooms[b], return_exceptions=True)


async def test_a_dead_process_gives_its_slots_back(processes: list[tuple[LiveBus, Room]], redis: RedisServer) -> None:
    (bus_a, a), (_, b) = processes
    for i in range(3):
        await a.acquire(person(i), GENERATE, [HOST], limited=True)
    waiting = asyncio.create_task(b.acquire(person(9), GENERATE, [HOST], limited=True))
    await asyncio.sleep(0.5)
    assert not waiting.done()  # the host is full with A's calls
    # A dies (-9): its heartbeat stops; once the key is gone its slots no longer count
    await bus_a.stop()
    ticket = await asyncio.wait_for(waiting, 3)
    assert ticket.host == HOST
