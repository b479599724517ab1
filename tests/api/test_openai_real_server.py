"""The synchronous `openai` SDK against the platform served over real HTTP (the app as a subprocess): true SSE
streaming, tools and embeddings with only base_url and api_key changed; the calls land in the activity log."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from config import Settings
from models import ActivityEvent
from services.core import db
from services.core.audit import AuditService
from services.core.auth import AuthService
from services.core.tokens import TokenService

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


async def _make_token(db_url: str) -> str:
    await db.open_database(db_url)
    try:
        auth = AuthService(min_password_length=10, max_failures=5, window_seconds=60, signup_open_default=True)
        user = await auth.signup('ada@example.org', 'Ada', 'correct-horse-42')
        return (await TokenService(auth, AuditService(auth)).create(user.id, 'sdk')).secret
    finally:
        await db.close_database()


async def _activity(db_url: str) -> list[tuple[str, str, int | None]]:
    await db.open_database(db_url)
    try:
        return [(r.action, r.details.get('via'), r.tokens) for r in await ActivityEvent.all().order_by('id')]
    finally:
        await db.close_database()


@pytest.fixture
def server(app_env: Path) -> Iterator[tuple[str, str]]:
    """(base URL, token) of the app running as a real server on a free loopback port."""
    settings = Settings()
    settings.ensure_dirs()
    token = asyncio.run(_make_token(settings.db_url))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST')}
    env.update({'PORT': str(port), 'HOST': '127.0.0.1'})
    log = (app_env.parent / 'app.log').open('wb')
    process = subprocess.Popen([sys.executable, 'app.py'], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f'{url}/health', timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail('the app did not start: ' + (app_env.parent / 'app.log').read_text()[-2000:])
        yield url, token
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def test_sync_sdk_streams_calls_tools_and_embeds(server: tuple[str, str], ollama_server) -> None:
    url, token = server
    ollama_server.token_delay = 0.01
    client = openai.OpenAI(base_url=f'{url}/v1', api_key=token)
    started, arrivals = time.monotonic(), []
    stream = client.chat.completions.create(
        model='llama3.2', messages=[{'role': 'user', 'content': 'Tell me about llamas'}], stream=True
    )
    text = ''
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic() - started)
            text += chunk.choices[0].delta.content
    assert text and len(arrivals) > 5
    assert arrivals[-1] - arrivals[0] > 0.03  # chunks arrived over time: really streamed, not buffered

    tool = {
        'type': 'function',
        'function': {
            'name': 'add',
            'parameters': {'type': 'object', 'properties': {'a': {'type': 'integer'}, 'b': {'type': 'integer'}}},
        },
    }
    reply = client.chat.completions.create(
        model='llama3.2', messages=[{'role': 'user', 'content': 'call add {"a": 4, "b": 5}'}], tools=[tool]
    )
    call = reply.choices[0].message.tool_calls[0]
    assert reply.choices[0].finish_reason == 'tool_calls' and json.loads(call.function.arguments) == {'a': 4, 'b': 5}

    vectors = client.embeddings.create(model='nomic-embed-text', input=['llamas', 'alpacas'], encoding_format='float')
    assert [len(d.embedding) for d in vectors.data] == [768, 768]

    rows = asyncio.run(_activity(Settings().db_url))
    assert [(a, via) for a, via, _ in rows if a in ('chat', 'embed')] == [
        ('chat', 'openai'),
        ('chat', 'openai'),
        ('embed', 'openai'),
    ]


def test_dropped_streams_free_their_slots_at_once(server: tuple[str, str], ollama_server) -> None:
    """A closed tab or a cancelled SDK stream must not keep its slot: ten streams dropped after their first token, one
    after another, by a user who may run four at once, all start at once and leave no slot taken."""
    url, token = server
    ollama_server.token_delay = 0.05
    ollama_server.response_tokens = 400  # 20 s if nobody stopped them
    headers = {'Authorization': f'Bearer {token}'}
    sdk = openai.OpenAI(base_url=f'{url}/v1', api_key=token, max_retries=0)
    body = {'model': 'llama3.2', 'messages': [{'role': 'user', 'content': 'a long story'}], 'stream': True}
    for round_ in range(10):
        started = time.monotonic()
        if round_ % 2:
            stream = sdk.chat.completions.create(model='llama3.2', messages=body['messages'], stream=True)
            next(chunk for chunk in stream if chunk.choices and chunk.choices[0].delta.content)
            stream.close()
        else:
            with (
                httpx.Client(timeout=10) as http,
                http.stream('POST', f'{url}/api/v1/chat', json=body, headers=headers) as r,
            ):
                next(line for line in r.iter_lines() if line.strip())
        assert time.monotonic() - started < 3, f'stream {round_} waited for a slot'
        deadline = time.monotonic() + 1
        while True:
            room = httpx.get(f'{url}/api/v1/room', headers=headers).json()
            if all(h['active'] == 0 for h in room['hosts']):
                break
            assert time.monotonic() < deadline, f'the slot of stream {round_} was not freed within 1 s: {room}'
            time.sleep(0.02)


def test_a_dropped_conversation_stream_keeps_the_partial_reply(server: tuple[str, str], ollama_server) -> None:
    """A REST client that goes away mid-reply: the slot is freed and the partial reply is saved, marked stopped."""
    url, token = server
    ollama_server.token_delay = 0.05
    ollama_server.response_tokens = 400
    headers = {'Authorization': f'Bearer {token}'}
    created = httpx.post(f'{url}/api/v1/conversations', json={'model': 'llama3.2'}, headers=headers)
    conversation = created.json()['id']
    with httpx.Client(timeout=10) as http:
        body = {'content': 'a long story', 'stream': True}
        path = f'{url}/api/v1/conversations/{conversation}/messages'
        with http.stream('POST', path, json=body, headers=headers) as response:
            lines = [line for line, _ in zip(response.iter_lines(), range(5), strict=False) if line.strip()]
    assert lines
    deadline = time.monotonic() + 2
    while True:
        messages = httpx.get(f'{url}/api/v1/conversations/{conversation}', headers=headers).json()['messages']
        room = httpx.get(f'{url}/api/v1/room', headers=headers).json()
        if len(messages) == 2 and all(h['active'] == 0 for h in room['hosts']):
            break
        assert time.monotonic() < deadline, (messages, room)
        time.sleep(0.05)
    reply = messages[1]
    assert reply['role'] == 'assistant' and reply['content'].startswith('You said') and reply['stopped'] is True


def test_api_streams_skip_the_page_middleware_and_stay_as_strict(server: tuple[str, str], ollama_server) -> None:
    """The fast lane: `/v1` and `/api/v1` go around NiceGUI's BaseHTTPMiddleware layers and GZip (a streamed reply
    arrives part by part, uncompressed, even when the client accepts gzip), while pages keep the full stack (the
    sign-in guard, compression); request ids and bearer-token auth apply to the API exactly as before."""
    url, token = server
    ollama_server.token_delay = 0.05
    headers = {'Authorization': f'Bearer {token}', 'Accept-Encoding': 'gzip'}
    body = {'model': 'llama3.2', 'messages': [{'role': 'user', 'content': 'Tell me about llamas.'}], 'stream': True}
    with httpx.Client(base_url=url, timeout=30) as http:
        with http.stream('POST', '/v1/chat/completions', json=body, headers=headers) as response:
            assert response.status_code == 200
            assert 'content-encoding' not in response.headers
            assert response.headers['x-request-id']
            arrivals = []
            for line in response.iter_lines():
                if line.startswith('data: {'):
                    arrivals.append(time.monotonic())
        assert len(arrivals) > 5
        assert arrivals[-1] - arrivals[0] > 0.1  # parts came as they were generated, not in one buffered block

        native = {'model': 'llama3.2', 'messages': body['messages'], 'stream': True}
        with http.stream('POST', '/api/v1/chat', json=native, headers=headers) as response:
            assert response.status_code == 200
            assert 'content-encoding' not in response.headers  # NDJSON is not held back by a compressor either
            arrivals = [time.monotonic() for line in response.iter_lines() if line.strip()]
        assert len(arrivals) > 5 and arrivals[-1] - arrivals[0] > 0.1

        assert http.get('/api/v1/models', headers={'Authorization': 'Bearer nope'}).status_code == 401
        refused = http.post('/v1/chat/completions', json=body, headers={'Accept-Encoding': 'gzip'})
        assert refused.status_code == 401
        assert refused.headers['x-request-id']

        page = http.get('/', follow_redirects=False)  # pages: the sign-in guard still runs
        assert page.status_code in (302, 303, 307) and page.headers['location'].startswith('/login')
        login = http.get('/login', headers={'Accept-Encoding': 'gzip'})
        assert login.status_code == 200 and login.headers.get('content-encoding') == 'gzip'


def test_a_call_waiting_for_a_slot_leaves_the_queue_when_its_client_goes(
    server: tuple[str, str], ollama_server
) -> None:
    """A closed tab or a cancelled SDK call that is still waiting in the room (nothing sent yet, nobody reading its
    connection) leaves the queue within a second, instead of waiting for its turn and then taking a slot."""
    url, token = server
    ollama_server.token_delay = 0.05
    ollama_server.response_tokens = 400  # 20 s a stream: the running ones hold their slots for the whole test
    headers = {'Authorization': f'Bearer {token}'}
    body = {'model': 'llama3.2', 'messages': [{'role': 'user', 'content': 'a long story'}], 'stream': True}

    async def scenario() -> None:
        clients = [httpx.AsyncClient(timeout=30) for _ in range(7)]

        async def open_stream(client: httpx.AsyncClient) -> httpx.Response:
            return await client.send(client.build_request('POST', f'{url}/api/v1/chat', json=body, headers=headers),
                                     stream=True)  # fmt: skip

        async def room() -> dict:
            return (await clients[0].get(f'{url}/api/v1/room', headers=headers)).json()

        tasks = [asyncio.create_task(open_stream(c)) for c in clients[1:]]
        try:
            for _ in range(100):
                await asyncio.sleep(0.05)
                if (await room())['waiting'] and sum(t.done() for t in tasks) + (await room())['waiting'] == 6:
                    break
            running = [t for t in tasks if t.done()]
            waiting = [t for t in tasks if not t.done()]
            assert running and waiting, 'some calls run, the others wait for a slot'
            for task in waiting:
                task.cancel()  # the client goes away while its call waits
            await asyncio.gather(*waiting, return_exceptions=True)
            deadline = time.monotonic() + 1
            while (state := await room())['waiting']:
                assert time.monotonic() < deadline, f'calls whose clients left still wait: {state}'
                await asyncio.sleep(0.02)
            assert sum(h['active'] for h in state['hosts']) == len(running)  # the running ones go on
        finally:
            for task in tasks:
                if task.done() and not task.cancelled():
                    await task.result().aclose()
            for client in clients:
                await client.aclose()

    asyncio.run(scenario())
