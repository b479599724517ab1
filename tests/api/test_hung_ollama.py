"""An Ollama that hangs mid-reply without closing the connection (issue 17 item 6): the stream ends with a clear error
after OLLAMA_IDLE_TIMEOUT instead of stalling for minutes; the slot is given back and the next call works. A slow
reader is not mistaken for a hung Ollama."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from models import ModelCall
from services.wiring import Services

BODY = {'model': 'llama3.2', 'stream': True, 'messages': [{'role': 'user', 'content': 'Tell me about llamas'}]}


@pytest.fixture(autouse=True)
def _short_idle_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('OLLAMA_IDLE_TIMEOUT', '1')


async def test_a_hung_stream_ends_with_a_clear_error(client, alice, services: Services, ollama_server) -> None:
    ollama_server.stall_after_tokens = 3
    started = time.monotonic()
    response = await client.post('/api/v1/chat', json=BODY, headers=alice.headers)
    elapsed = time.monotonic() - started
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line['message']['content'] for line in lines[:3]] and 'error' in lines[-1], lines
    assert 'stopped sending the reply of llama3.2 for 1 s' in lines[-1]['error']
    assert elapsed < 10  # not the 300 s read timeout
    assert await asyncio.to_thread(ollama_server.wait_for_disconnect, 1, 5.0)  # Ollama was told to stop
    row = await ModelCall.filter(user_id=alice.id).order_by('-id').first()
    assert row.error and 'stopped sending' in row.error
    assert all(h.active == 0 for h in services.calls.room.snapshot().hosts)  # the slot is free again

    ollama_server.stall_after_tokens = None
    again = await client.post('/api/v1/chat', json=BODY, headers=alice.headers)
    assert json.loads(again.text.splitlines()[-1])['done'] is True


async def test_the_gateway_ends_a_hung_stream_too(client, alice, ollama_server) -> None:
    ollama_server.stall_after_tokens = 2
    body = {'model': 'llama3.2', 'stream': True, 'messages': BODY['messages']}
    response = await client.post('/v1/chat/completions', json=body, headers=alice.headers)
    events = [line.removeprefix('data: ') for line in response.text.splitlines() if line.startswith('data: ')]
    errors = [json.loads(e)['error'] for e in events if e != '[DONE]' and 'error' in json.loads(e)]
    assert errors and 'stopped sending the reply' in errors[0]['message']


async def test_a_slow_reader_is_not_a_hung_ollama(alice, services: Services, ollama_server) -> None:
    ollama_server.response_tokens = 6
    stream = await services.inference.chat_stream(alice.id, model='llama3.2', messages=BODY['messages'], via='api')
    parts = []
    async for part in stream:
        parts.append(part)
        if len(parts) <= 2:
            await asyncio.sleep(1.5)  # the reader, not Ollama, takes longer than the idle timeout
    assert parts and not any(getattr(p, 'error', None) for p in parts)
