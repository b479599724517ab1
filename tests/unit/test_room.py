"""The room: slots per host and the fair wait queue in front of them (no Ollama needed: slots are bookkeeping)."""

from __future__ import annotations

import asyncio

import pytest

from models import Role
from services.core.errors import Throttled
from services.models.callers import Caller
from services.models.room import EMBED, GENERATE, Room

HOST, OTHER = 'http://gpu-1:11434', 'http://gpu-2:11434'


def attendee(user_id: int) -> Caller:
    return Caller(user_id=user_id, role=Role.ATTENDEE, workshop_id=1)


def instructor(user_id: int) -> Caller:
    return Caller(user_id=user_id, role=Role.INSTRUCTOR, workshop_id=None)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_calls_wait_for_a_slot_and_get_it_when_one_is_released() -> None:
    room = Room(slots=2, max_per_user=4)
    a = await room.acquire(attendee(1), GENERATE, [HOST], limited=True)
    b = await room.acquire(attendee(2), GENERATE, [HOST], limited=True)
    waiting = asyncio.create_task(room.acquire(attendee(3), GENERATE, [HOST], limited=True))
    await settle()
    assert not waiting.done() and [w.user_id for w in room.snapshot().waiting] == [3]
    room.release(a)
    ticket = await asyncio.wait_for(waiting, 1)
    assert ticket.host == HOST and room.hosts[HOST].active == 2
    room.release(b)
    room.release(ticket)
    room.release(ticket)  # a second release changes nothing
    assert room.hosts[HOST].active == 0 and room.running(3) == 0


async def test_a_greedy_user_cannot_push_others_back() -> None:
    """One person with ten calls queued and two others with one each: the two others are served first."""
    room = Room(slots=1, max_per_user=10, headroom=0)
    first = await room.acquire(attendee(1), GENERATE, [HOST], limited=True)
    served: list[int] = []

    async def call(user: int) -> None:
        ticket = await room.acquire(attendee(user), GENERATE, [HOST], limited=True)
        served.append(user)
        await asyncio.sleep(0)
        room.release(ticket)

    greedy = [asyncio.create_task(call(1)) for _ in range(10)]
    await settle()
    others = [asyncio.create_task(call(2)), asyncio.create_task(call(3))]
    await settle()
    room.release(first)
    await asyncio.wait_for(asyncio.gather(*greedy, *others), 2)
    assert served[:2] in ([2, 3], [3, 2])  # the later arrivals with nothing running go ahead of the greedy lane
    assert served.count(1) == 10


async def test_instructors_go_ahead_of_the_class() -> None:
    room = Room(slots=1, max_per_user=4, headroom=0)
    busy = await room.acquire(attendee(1), GENERATE, [HOST], limited=True)
    order: list[int] = []

    async def call(caller: Caller) -> None:
        ticket = await room.acquire(caller, GENERATE, [HOST], limited=True)
        order.append(caller.user_id)
        room.release(ticket)

    tasks = [asyncio.create_task(call(attendee(u))) for u in (2, 3, 4)]
    await settle()
    tasks.append(asyncio.create_task(call(instructor(9))))
    await settle()
    room.release(busy)
    await asyncio.wait_for(asyncio.gather(*tasks), 2)
    assert order[0] == 9


async def test_the_last_free_slot_is_kept_for_someone_with_nothing_running() -> None:
    room = Room(slots=2, max_per_user=4, max_wait=0.2)
    mine = await room.acquire(attendee(1), GENERATE, [HOST], limited=True)
    with pytest.raises(Throttled, match='The room is busy'):  # one free slot left, and this person has one running
        await room.acquire(attendee(1), GENERATE, [HOST], limited=True)
    other = await room.acquire(attendee(2), GENERATE, [HOST], limited=True)  # someone with nothing in flight
    staff = Room(slots=2, max_per_user=4)
    await staff.acquire(instructor(9), GENERATE, [HOST], limited=True)
    await asyncio.wait_for(staff.acquire(instructor(9), GENERATE, [HOST], limited=True), 1)  # staff may
    room.release(mine)
    room.release(other)


async def test_the_per_user_limit_waits_in_its_lane_then_says_why() -> None:
    room = Room(slots=8, max_per_user=2, max_wait=0.2)
    tickets = [await room.acquire(attendee(1), GENERATE, [HOST], limited=True) for _ in range(2)]
    with pytest.raises(Throttled, match=r'You already have 2 model calls running \(the limit is 2\)') as refused:
        await room.acquire(attendee(1), GENERATE, [HOST], limited=True)
    assert refused.value.retry_after > 0 and room.refused_busy == 1
    late = asyncio.create_task(room.acquire(attendee(1), GENERATE, [HOST], limited=True))
    await settle()
    room.release(tickets[0])  # a slot of this person frees: the waiting call goes on
    tickets[0] = await asyncio.wait_for(late, 1)
    for ticket in tickets:
        room.release(ticket)


async def test_a_full_lane_is_refused_at_once() -> None:
    room = Room(slots=1, max_per_user=1, max_queue_per_user=2, headroom=0)
    await room.acquire(attendee(1), GENERATE, [HOST], limited=True)
    lane = [asyncio.create_task(room.acquire(attendee(1), GENERATE, [HOST], limited=True)) for _ in range(2)]
    await settle()
    with pytest.raises(Throttled, match='2 model calls waiting'):
        await room.acquire(attendee(1), GENERATE, [HOST], limited=True)
    for task in lane:
        task.cancel()
    await asyncio.gather(*lane, return_exceptions=True)


async def test_cancelled_waits_and_streams_leave_no_slot_behind() -> None:
    room = Room(slots=2, embed_slots=1, max_per_user=4)
    held = [await room.acquire(attendee(u), GENERATE, [HOST], limited=True) for u in (1, 2)]
    for round_ in range(1000):  # a thousand tabs closed while waiting
        task = asyncio.create_task(room.acquire(attendee(100 + round_ % 20), GENERATE, [HOST], limited=True))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert room.snapshot().waiting == [] and room.hosts[HOST].active == 2
    for ticket in held:
        room.release(ticket)
    assert room.hosts[HOST].active == 0 and room.snapshot().running_by_user == {}


async def test_embeddings_have_their_own_slots() -> None:
    room = Room(slots=1, embed_slots=1, max_per_user=4, headroom=0)
    generation = await room.acquire(attendee(1), GENERATE, [HOST], limited=True)
    embedding = await asyncio.wait_for(room.acquire(attendee(2), EMBED, [HOST], limited=True), 1)
    assert (room.hosts[HOST].active, room.hosts[HOST].active_embed) == (1, 1)
    room.release(generation)
    room.release(embedding)


async def test_a_call_takes_a_free_slot_on_any_host_that_can_serve_it() -> None:
    room = Room(slots=1, max_per_user=4, headroom=0)
    first = await room.acquire(attendee(1), GENERATE, [HOST, OTHER], limited=True)
    second = await room.acquire(attendee(2), GENERATE, [HOST, OTHER], limited=True)
    assert (first.host, second.host) == (HOST, OTHER)
    assert room.busy(HOST) == 1 and room.busy(OTHER) == 1


async def test_waiting_calls_are_told_how_many_are_ahead() -> None:
    room = Room(slots=1, max_per_user=4, headroom=0)
    busy = await room.acquire(attendee(1), GENERATE, [HOST], limited=True)
    told: dict[int, list[int]] = {2: [], 3: []}
    tasks = {}
    for user in (2, 3):
        tasks[user] = asyncio.create_task(
            room.acquire(attendee(user), GENERATE, [HOST], limited=True, on_wait=told[user].append)
        )
        await settle()
    assert told[2] == [0] and told[3] == [1]
    room.release(busy)
    second = await asyncio.wait_for(tasks[2], 1)
    assert told[3][-1] == 0  # now first in line
    room.release(second)
    room.release(await asyncio.wait_for(tasks[3], 1))


async def test_more_than_an_equal_share_only_while_nobody_else_waits() -> None:
    room = Room(slots=4, max_per_user=4, headroom=0)
    mine = [await room.acquire(attendee(1), GENERATE, [HOST], limited=True) for _ in range(2)]  # alone: may take two
    others = [await room.acquire(attendee(u), GENERATE, [HOST], limited=True) for u in (2, 3)]
    late = asyncio.create_task(room.acquire(attendee(4), GENERATE, [HOST], limited=True))
    greedy = asyncio.create_task(room.acquire(attendee(1), GENERATE, [HOST], limited=True))
    await settle()
    room.release(others[0])  # one slot frees: four people want the room, the share is one slot each
    await settle()
    assert late.done() and not greedy.done()
    room.release(mine[0])  # person 1 is back to one call: nobody else waits, so they may have their second
    assert (await asyncio.wait_for(greedy, 1)).host == HOST
    for ticket in (mine[1], others[1], late.result(), greedy.result()):
        room.release(ticket)
