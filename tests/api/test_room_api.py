"""GET /api/v1/room: what the room looks like now (instructors, admins and their monitoring), and 429 with
Retry-After when a call waited too long for a slot."""

from __future__ import annotations

import asyncio

from services.models.callers import Purpose
from services.wiring import Services
from tests.api.conftest import assert_problem

HELLO = [{'role': 'user', 'content': 'Hello'}]


async def test_the_room_shows_slots_in_use_and_calls_waiting(
    client, instructor, alice, bob, services: Services, ollama_server
) -> None:
    assert_problem(await client.get('/api/v1/room', headers=alice.headers), 403)
    services.calls.room.default_slots = 1
    services.calls.room.max_wait = 0.5
    ollama_server.token_delay = 0.05
    ollama_server.response_tokens = 200
    stream = await services.calls.chat_stream(
        await services.calls.caller(alice.id), Purpose.API, model='llama3.2', messages=HELLO
    )
    await anext(stream)
    waiting = asyncio.create_task(
        client.post('/api/v1/chat', json={'model': 'llama3.2', 'messages': HELLO}, headers=bob.headers)
    )
    await asyncio.sleep(0.2)
    room = (await client.get('/api/v1/room', headers=instructor.headers)).json()
    [host] = room['hosts']
    assert (host['url'], host['slots'], host['active'], host['down']) == (ollama_server.url, 1, 1, False)
    assert room['waiting'] == 1 and host['queued'] == 1 and room['longest_wait_s'] > 0
    refused = await waiting  # bob waited longer than QUEUE_MAX_WAIT_SECONDS
    body = assert_problem(refused, 429, 'The room is busy')
    assert int(refused.headers['retry-after']) > 0 and 'waited' in body['detail']
    assert (await client.get('/api/v1/room', headers=instructor.headers)).json()['refused_busy'] == 1
    await stream.aclose()
    room = (await client.get('/api/v1/room', headers=instructor.headers)).json()
    assert room['hosts'][0]['active'] == 0 and room['waiting'] == 0
