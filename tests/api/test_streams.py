"""Streams: a user's running calls are capped (threat T14), and a stopped stream stops Ollama and is recorded."""

from __future__ import annotations

import asyncio

import pytest

from models import ActivityEvent
from services.core.errors import Throttled
from services.wiring import Services
from tests.api.conftest import assert_problem

HELLO = [{'role': 'user', 'content': 'Hello'}]


async def test_one_user_cannot_hog_the_hosts(client, alice, bob, services: Services, ollama_server) -> None:
    ollama_server.token_delay = 0.05
    services.calls.room.default_slots = 8  # room for more than one person's limit on the host
    services.calls.room.max_wait = 0.3  # a call over the limit waits this long in its lane, then is refused
    inference = services.inference
    streams = [await inference.chat_stream(alice.id, model='llama3.2', messages=HELLO) for _ in range(4)]
    for stream in streams:
        await anext(stream)  # running: each holds a slot
    with pytest.raises(Throttled, match='already have 4 model calls running'):
        await anext(await inference.chat_stream(alice.id, model='llama3.2', messages=HELLO))
    body = {'model': 'llama3.2', 'messages': HELLO}
    assert_problem(await client.post('/api/v1/chat', json=body, headers=alice.headers), 429, 'already have 4')
    assert (await client.post('/api/v1/chat', json=body, headers=bob.headers)).status_code == 200  # others go on
    await streams[0].aclose()
    assert (await client.post('/api/v1/chat', json=body, headers=alice.headers)).status_code == 200  # a slot freed
    for stream in streams[1:]:
        await stream.aclose()


async def test_stopping_a_stream_stops_ollama_and_is_recorded(alice, services: Services, ollama_server) -> None:
    ollama_server.token_delay = 0.05
    ollama_server.response_tokens = 200
    stream = await services.inference.chat_stream(alice.id, model='llama3.2', messages=HELLO, via='openai')
    await anext(stream)
    await stream.aclose()
    assert await asyncio.to_thread(ollama_server.wait_for_disconnect, 1, 5.0)
    row = await ActivityEvent.get(user_id=alice.id, action='chat')
    assert row.error == 'the client stopped reading' and row.details['via'] == 'openai'
