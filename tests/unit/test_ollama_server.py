"""Drive the Ollama test server with the official `ollama` client (sync and async) and raw httpx."""

from __future__ import annotations

import asyncio
import json
import math
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import ollama
import pytest

from tests.ollama_server import BUSY_MESSAGE, FAIL_MESSAGE, FakeModel, OllamaTestServer, display_name, embedding

WEATHER_TOOL = {
    'type': 'function',
    'function': {
        'name': 'get_weather',
        'description': 'Get the weather in a city',
        'parameters': {
            'type': 'object',
            'properties': {'city': {'type': 'string'}, 'days': {'type': 'integer'}},
            'required': ['city'],
        },
    },
}


@pytest.fixture
def server() -> Iterator[OllamaTestServer]:
    with OllamaTestServer() as srv:
        yield srv


@pytest.fixture
def client(server: OllamaTestServer) -> Iterator[ollama.Client]:
    with ollama.Client(host=server.url) as c:
        yield c


def user(text: str) -> list[dict]:
    return [{'role': 'user', 'content': text}]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


# ---------------------------------------------------------------- basics


def test_root_version_and_http_errors(server: OllamaTestServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        root = http.get('/')
        assert (root.status_code, root.text) == (200, 'Ollama is running')
        assert root.headers['content-type'] == 'text/plain; charset=utf-8'
        assert http.head('/').status_code == 200
        assert http.get('/api/version').json() == {'version': '0.32.15'}
        missing = http.get('/api/nothing')
        assert (missing.status_code, missing.text) == (404, '404 page not found')
        wrong = http.get('/api/chat')
        assert (wrong.status_code, wrong.text) == (405, '405 method not allowed')
        assert http.post('/api/chat').json() == {'error': 'missing request body'}
        bad = http.post('/api/chat', content=b'xyz')
        assert (bad.status_code, bad.json()['error']) == (400, "invalid character 'x' looking for beginning of value")


def test_list_models(client: ollama.Client) -> None:
    models = client.list().models
    assert [m.model for m in models] == [
        'llama3.2:latest',
        'qwen3:0.6b',
        'llava:7b',
        'nomic-embed-text:latest',
        'all-minilm:latest',
    ]
    first = models[0]
    assert re.fullmatch(r'[0-9a-f]{64}', first.digest or '')
    assert first.details and first.details.family == 'llama' and first.details.format == 'gguf'
    assert first.modified_at and first.modified_at.tzinfo is not None


def test_show(client: ollama.Client) -> None:
    shown = client.show('llama3.2')
    assert shown.capabilities == ['completion', 'tools']
    assert shown.modelinfo and shown.modelinfo['general.architecture'] == 'llama'
    assert shown.modelfile and 'FROM ' in shown.modelfile and 'PARAMETER stop' in shown.modelfile
    assert shown.parameters and shown.parameters.startswith('stop')
    embed = client.show('NOMIC-EMBED-TEXT')
    assert embed.capabilities == ['embedding']
    assert embed.modelinfo and embed.modelinfo['nomic-bert.embedding_length'] == 768
    with pytest.raises(ollama.ResponseError) as error:
        client.show('nope')
    assert (error.value.status_code, error.value.error) == (404, "model 'nope:latest' not found")


def test_model_names() -> None:
    assert display_name('llama3.2') == 'llama3.2:latest'
    assert display_name('registry.ollama.ai/library/llama3.2:1b') == 'llama3.2:1b'
    assert display_name('user/model:tag') == 'user/model:tag'
    assert display_name('hf.co/org/repo:Q4_K_M') == 'hf.co/org/repo:Q4_K_M'
    assert display_name('bad name') is None
    assert display_name('a/b/c/d') is None


# ---------------------------------------------------------------- chat and generate


def test_chat_non_streaming_metrics_and_ps(client: ollama.Client) -> None:
    assert client.ps().models == []
    reply = client.chat('llama3.2', messages=user('hello there friend'))
    assert reply.message.role == 'assistant'
    assert reply.message.content and reply.message.content.startswith('You said: hello there friend. ')
    assert (reply.done, reply.done_reason, reply.eval_count) == (True, 'stop', 12)
    assert reply.total_duration and reply.load_duration and reply.eval_duration and reply.prompt_eval_duration
    assert reply.prompt_eval_count == 3
    assert reply.created_at and reply.created_at.endswith('Z')
    loaded = client.ps().models
    assert [m.model for m in loaded] == ['llama3.2:latest']
    assert loaded[0].context_length == 4096 and loaded[0].expires_at


def test_chat_streaming_matches_non_streaming(client: ollama.Client, server: OllamaTestServer) -> None:
    server.response_tokens = 5
    chunks = list(client.chat('llama3.2', messages=user('hi'), stream=True))
    assert [c.done for c in chunks] == [False] * 5 + [True]
    text = ''.join(c.message.content or '' for c in chunks)
    assert text == client.chat('llama3.2', messages=user('hi')).message.content == 'You said: hi. Ollama runs '
    assert chunks[-1].eval_count == 5 and chunks[-1].done_reason == 'stop'


async def test_async_chat_streaming(server: OllamaTestServer) -> None:
    async with ollama.AsyncClient(host=server.url) as client:
        parts = [part async for part in await client.chat('llama3.2', messages=user('async hello'), stream=True)]
        assert parts[-1].done and ''.join(p.message.content or '' for p in parts).startswith('You said: async hello.')
        reply = await client.chat('llama3.2', messages=user('again'))
        assert reply.message.content and reply.message.content.startswith('You said: again.')


async def test_concurrent_async_streams(server: OllamaTestServer) -> None:
    server.token_delay = 0.01

    async def one(i: int) -> str:
        async with ollama.AsyncClient(host=server.url) as client:
            stream = await client.chat('llama3.2', messages=user(f'number {i}'), stream=True)
            return ''.join([p.message.content or '' async for p in stream])

    started = time.monotonic()
    texts = await asyncio.gather(*(one(i) for i in range(8)))
    assert all(t.startswith(f'You said: number {i}.') for i, t in enumerate(texts))
    assert time.monotonic() - started < 1.0  # 8 x 12 tokens x 10 ms would take ~1 s if serialised


def test_num_predict_stop_and_response_tokens(client: ollama.Client, server: OllamaTestServer) -> None:
    short = client.chat('llama3.2', messages=user('one two three'), options={'num_predict': 3})
    assert (short.message.content, short.done_reason, short.eval_count) == ('You said: one ', 'length', 3)
    stopped = client.chat('llama3.2', messages=user('one two three'), options={'stop': ['three']})
    assert (stopped.message.content, stopped.done_reason) == ('You said: one two ', 'stop')
    server.response_tokens = 30
    assert client.chat('llama3.2', messages=user('x')).eval_count == 30


def test_generate(client: ollama.Client) -> None:
    reply = client.generate('llama3.2', 'why is the sky blue')
    assert reply.response.startswith('You said: why is the sky blue.')
    assert reply.done and reply.context and all(isinstance(i, int) for i in reply.context)
    parts = list(client.generate('llama3.2', 'stream me', stream=True))
    assert ''.join(p.response for p in parts).startswith('You said: stream me.') and parts[-1].context
    with pytest.raises(ollama.ResponseError) as error:
        client.generate('nomic-embed-text', 'hi')
    assert (error.value.status_code, error.value.error) == (400, '"nomic-embed-text" does not support generate')


def test_thinking(client: ollama.Client) -> None:
    parts = list(client.chat('qwen3:0.6b', messages=user('think please'), stream=True))
    thinking = [p.message.thinking for p in parts if p.message.thinking]
    assert len(thinking) >= 3 and ''.join(thinking).startswith('Let me think')
    first_content = next(i for i, p in enumerate(parts) if p.message.content)
    assert all(not p.message.thinking for p in parts[first_content:])
    whole = client.chat('qwen3:0.6b', messages=user('think please'))
    assert whole.message.thinking == 'Let me think about this. ' and whole.message.content
    assert client.chat('qwen3:0.6b', messages=user('x'), think=False).message.thinking is None
    assert client.generate('qwen3:0.6b', 'x').thinking
    with pytest.raises(ollama.ResponseError) as error:
        client.chat('llama3.2', messages=user('x'), think=True)
    assert (error.value.status_code, error.value.error) == (400, '"llama3.2" does not support thinking')
    with pytest.raises(ollama.ResponseError) as error:
        client.chat('qwen3:0.6b', messages=user('x'), think='extreme')
    expected = 'invalid think value: "extreme" (must be "high", "medium", "low", "max", true, or false)'
    assert (error.value.status_code, error.value.error) == (400, expected)


def test_json_format(client: ollama.Client) -> None:
    plain = client.chat('llama3.2', messages=user('give json'), format='json')
    assert json.loads(plain.message.content or '')['reply'].startswith('You said: give json.')
    schema = {
        'type': 'object',
        'properties': {
            'name': {'type': 'string'},
            'age': {'type': 'integer'},
            'ok': {'type': 'boolean'},
            'tags': {'type': 'array', 'items': {'type': 'string'}},
            'size': {'type': 'number'},
        },
    }
    data = json.loads(client.generate('llama3.2', 'json', format=schema).response)
    assert data == {'name': 'example', 'age': 1, 'ok': True, 'tags': [], 'size': 1}
    streamed = ''.join(
        p.message.content or '' for p in client.chat('llama3.2', messages=user('a'), format=schema, stream=True)
    )
    assert json.loads(streamed)['name'] == 'example'


# ---------------------------------------------------------------- tools


def test_tool_call_and_round_trip(client: ollama.Client) -> None:
    messages = user('What is the weather in Paris?')
    reply = client.chat('llama3.2', messages=messages, tools=[WEATHER_TOOL])
    calls = reply.message.tool_calls or []
    assert len(calls) == 1 and calls[0].function.name == 'get_weather'
    assert calls[0].function.arguments == {'city': 'test'} and isinstance(calls[0].function.arguments, dict)
    assert reply.message.content == '' and reply.done_reason == 'stop'
    messages += [reply.message, {'role': 'tool', 'tool_name': 'get_weather', 'content': '11 degrees celsius'}]
    final = client.chat('llama3.2', messages=messages, tools=[WEATHER_TOOL])
    assert not final.message.tool_calls
    assert final.message.content and 'The tool get_weather returned: 11 degrees celsius' in final.message.content


def test_explicit_tool_calls_streaming(client: ollama.Client) -> None:
    def add(a: int, b: int) -> int:
        """Add two numbers.

        Args:
          a: first
          b: second
        """
        return a + b

    text = 'call add {"a": 2, "b": 3} and then call get_weather {"city": "Oslo"}'
    parts = list(client.chat('llama3.2', messages=user(text), tools=[add, WEATHER_TOOL], stream=True))
    assert [p.done for p in parts] == [False, True]
    calls = parts[0].message.tool_calls or []
    assert [(c.function.name, dict(c.function.arguments)) for c in calls] == [
        ('add', {'a': 2, 'b': 3}),
        ('get_weather', {'city': 'Oslo'}),
    ]
    default = client.chat('llama3.2', messages=user('please call add'), tools=[add])
    assert default.message.tool_calls and default.message.tool_calls[0].function.arguments == {'a': 1, 'b': 1}


def test_tool_call_wire_format(server: OllamaTestServer) -> None:
    body = {'model': 'llama3.2', 'messages': user('hi'), 'tools': [WEATHER_TOOL], 'stream': False}
    call = httpx.post(f'{server.url}/api/chat', json=body).json()['message']['tool_calls'][0]
    assert re.fullmatch(r'call_[a-z0-9]{8}', call['id']) and call['function']['index'] == 0


def test_always_call_tools(client: ollama.Client, server: OllamaTestServer) -> None:
    server.always_call_tools = True
    messages = [*user('weather?'), {'role': 'tool', 'tool_name': 'get_weather', 'content': 'sunny'}]
    reply = client.chat('llama3.2', messages=messages, tools=[WEATHER_TOOL])
    assert reply.message.tool_calls


def test_tools_on_model_without_tools(client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as error:
        client.chat('llava:7b', messages=user('hi'), tools=[WEATHER_TOOL])
    assert error.value.status_code == 400
    assert error.value.error == 'registry.ollama.ai/library/llava:7b does not support tools'


# ---------------------------------------------------------------- embeddings


def test_embed(client: ollama.Client, server: OllamaTestServer) -> None:
    texts = ['the cat sat on the mat', 'a cat sat on a mat', 'quarterly revenue grew strongly', '']
    vectors = client.embed('nomic-embed-text', input=texts).embeddings
    assert len(vectors) == 4 and all(len(v) == 768 for v in vectors)
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-9) for v in vectors)
    assert vectors == client.embed('nomic-embed-text', input=texts).embeddings
    assert cosine(vectors[0], vectors[1]) > 0.5 > cosine(vectors[0], vectors[2])
    assert len(client.embed('all-minilm', input='x').embeddings[0]) == 384
    assert len(client.embed('llama3.2', input='x').embeddings[0]) == 3072
    short = client.embed('nomic-embed-text', input='hello world', dimensions=64).embeddings[0]
    assert len(short) == 64 and math.isclose(sum(x * x for x in short), 1.0)
    assert client.embed('nomic-embed-text', input=[]).embeddings == []
    with pytest.raises(ollama.ResponseError) as error:
        client.embed('unknown-embedder', input='x')
    assert error.value.error == 'model "unknown-embedder" not found, try pulling it first'
    bad = httpx.post(f'{server.url}/api/embed', json={'model': 'all-minilm', 'input': 3})
    assert (bad.status_code, bad.json()) == (400, {'error': 'invalid input type'})


async def test_embed_async_is_fast(server: OllamaTestServer) -> None:
    texts = [f'document number {i} about topic {i % 7}' for i in range(2000)]
    async with ollama.AsyncClient(host=server.url) as client:
        started = time.monotonic()
        result = await client.embed('nomic-embed-text', input=texts)
        assert len(result.embeddings) == 2000
        assert time.monotonic() - started < 2.0
        assert result.prompt_eval_count and result.total_duration


def test_legacy_embeddings(client: ollama.Client) -> None:
    vector = client.embeddings('nomic-embed-text', prompt='hello world').embedding
    assert len(vector) == 768 and not math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0)
    assert cosine(vector, list(embedding('hello world', 768))) > 0.99 * math.sqrt(sum(x * x for x in vector))
    assert client.embeddings('nomic-embed-text', prompt='').embedding == []


# ---------------------------------------------------------------- model management


def test_pull_streaming(client: ollama.Client, server: OllamaTestServer) -> None:
    server.pull_delay = 0.001
    updates = list(client.pull('tinyllama', stream=True))
    statuses = [u.status for u in updates]
    assert statuses[0] == 'pulling manifest' and statuses[-3:] == [
        'verifying sha256 digest',
        'writing manifest',
        'success',
    ]
    progress = [u for u in updates if u.total == 50_000_000]
    assert progress[0].completed is None and progress[-1].completed == 50_000_000
    assert [u.completed for u in progress[1:]] == sorted(u.completed or 0 for u in progress[1:])
    assert all(u.digest and u.digest.startswith('sha256:') for u in progress)
    assert 'tinyllama:latest' in [m.model for m in client.list().models]
    assert client.pull('phi3:mini').status == 'success'
    assert client.show('phi3:mini').details.family == 'phi3'


def test_pull_errors(client: ollama.Client, server: OllamaTestServer) -> None:
    server.pull_delay = 0.001
    stream = client.pull('does-not-exist', stream=True)
    assert next(stream).status == 'pulling manifest'
    with pytest.raises(ollama.ResponseError) as error:
        next(stream)
    assert (error.value.status_code, error.value.error) == (-1, 'pull model manifest: file does not exist')
    with pytest.raises(ollama.ResponseError) as error:
        client.pull('does-not-exist')
    assert (error.value.status_code, error.value.error) == (500, 'pull model manifest: file does not exist')
    with pytest.raises(ollama.ResponseError) as error:
        client.pull('bad name!')
    assert (error.value.status_code, error.value.error) == (400, 'invalid model name')


async def test_pull_cancel_does_not_install(server: OllamaTestServer) -> None:
    server.pull_delay = 0.05
    async with ollama.AsyncClient(host=server.url) as client:
        stream = await client.pull('smollm2:135m', stream=True)
        await anext(stream)
        await stream.aclose()
        assert await asyncio.to_thread(server.wait_for_disconnect)
        assert 'smollm2:135m' not in [m.model for m in (await client.list()).models]


def test_create_copy_delete(client: ollama.Client, server: OllamaTestServer) -> None:
    statuses = [p.status for p in client.create('pirate', from_='llama3.2', system='Talk like a pirate', stream=True)]
    assert statuses[0] == 'reading model metadata' and 'creating system layer' in statuses and statuses[-1] == 'success'
    shown = client.show('pirate')
    assert 'SYSTEM """Talk like a pirate"""' in (shown.modelfile or '')
    assert shown.capabilities == ['completion', 'tools'] and shown.details.parent_model == 'llama3.2:latest'
    assert client.create('calm', from_='qwen3:0.6b', parameters={'temperature': 0.1}).status == 'success'
    assert 'temperature' in (client.show('calm').parameters or '')
    with pytest.raises(ollama.ResponseError) as error:
        client.create('x', from_='missing')
    assert (error.value.status_code, error.value.error) == (404, 'model "missing" not found')

    assert client.copy('llama3.2', 'llama-copy').status == 'success'
    assert client.show('llama-copy').capabilities == ['completion', 'tools']
    with pytest.raises(ollama.ResponseError) as error:
        client.copy('missing', 'other')
    assert (error.value.status_code, error.value.error) == (404, 'model "missing" not found')

    assert client.delete('llama-copy').status == 'success'
    assert 'llama-copy:latest' not in [m.model for m in client.list().models]
    with pytest.raises(ollama.ResponseError) as error:
        client.delete('llama-copy')
    assert (error.value.status_code, error.value.error) == (404, "model 'llama-copy' not found")
    raw = httpx.post(f'{server.url}/api/copy', json={'source': 'llama3.2', 'destination': 'c2'})
    assert (raw.status_code, raw.content) == (200, b'')


def test_add_and_remove_model(client: ollama.Client, server: OllamaTestServer) -> None:
    server.add_model(FakeModel('custom', capabilities=['completion']))
    assert client.show('custom:latest').capabilities == ['completion']
    server.remove_model('custom')
    with pytest.raises(ollama.ResponseError):
        client.show('custom')


# ---------------------------------------------------------------- errors and failure switches


def test_unknown_model(client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as error:
        client.chat('nope', messages=user('hi'))
    assert (error.value.status_code, error.value.error) == (404, "model 'nope' not found")
    stream = client.generate('nope', 'hi', stream=True)
    with pytest.raises(ollama.ResponseError) as error:
        next(stream)
    assert error.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as error:
        client.chat('nomic-embed-text', messages=user('hi'))
    assert error.value.error == '"nomic-embed-text" does not support chat'


def test_busy(client: ollama.Client, server: OllamaTestServer) -> None:
    server.busy = True
    calls = [
        lambda: client.chat('llama3.2', messages=user('hi')),
        lambda: client.generate('llama3.2', 'hi'),
        lambda: client.embed('all-minilm', input='hi'),
        lambda: client.pull('tinyllama'),
    ]
    for call in calls:
        with pytest.raises(ollama.ResponseError) as error:
            call()
        assert (error.value.status_code, error.value.error) == (503, BUSY_MESSAGE)
    assert BUSY_MESSAGE == 'server busy, please try again.  maximum pending requests exceeded'
    assert client.list().models  # listing still works


def test_fail_after_tokens(client: ollama.Client, server: OllamaTestServer) -> None:
    server.fail_after_tokens = 3
    received: list[str] = []
    with pytest.raises(ollama.ResponseError) as error:
        for part in client.chat('llama3.2', messages=user('hello'), stream=True):
            received.append(part.message.content or '')
    assert (error.value.status_code, error.value.error) == (-1, FAIL_MESSAGE)
    assert ''.join(received) == 'You said: hello. '
    with pytest.raises(ollama.ResponseError) as error:
        client.chat('llama3.2', messages=user('hello'))
    assert error.value.status_code == 500
    server.fail_after_tokens = None
    assert client.chat('llama3.2', messages=user('hello')).done


async def test_go_down_and_come_up(server: OllamaTestServer) -> None:
    port = server.port
    server.go_down()
    with pytest.raises(ConnectionError):
        ollama.Client(host=server.url).list()
    with pytest.raises(httpx.ConnectError):
        list(ollama.Client(host=server.url).chat('llama3.2', messages=user('hi'), stream=True))
    async with ollama.AsyncClient(host=server.url) as client:
        with pytest.raises(ConnectionError):
            await client.chat('llama3.2', messages=user('hi'))
        with pytest.raises(httpx.ConnectError):
            await anext(await client.chat('llama3.2', messages=user('hi'), stream=True))
    server.come_up()
    assert server.port == port
    assert ollama.Client(host=server.url).chat('llama3.2', messages=user('back')).done


def test_go_down_cuts_running_stream(client: ollama.Client, server: OllamaTestServer) -> None:
    server.token_delay, server.response_tokens = 0.02, 200
    stream = client.chat('llama3.2', messages=user('long'), stream=True)
    next(stream)
    server.go_down()
    with pytest.raises(httpx.HTTPError):
        for _ in stream:
            pass
    assert server.wait_for_idle()
    assert server.disconnects == 0  # cut by the server, not by the client
    server.come_up()
    server.token_delay = 0.0
    assert ollama.Client(host=server.url).chat('llama3.2', messages=user('again')).done


async def test_async_stream_cancel_stops_generation(server: OllamaTestServer) -> None:
    server.token_delay, server.response_tokens = 0.01, 500
    async with ollama.AsyncClient(host=server.url) as client:
        stream = await client.chat('llama3.2', messages=user('long story'), stream=True)
        for _ in range(3):
            await anext(stream)
        await stream.aclose()
        assert await asyncio.to_thread(server.wait_for_disconnect, 1, 2.0)
        assert await asyncio.to_thread(server.wait_for_idle)
        sent = server.streamed_tokens
        await asyncio.sleep(0.1)
        assert sent == server.streamed_tokens < 50
        server.token_delay = 0.0
        assert (await client.chat('llama3.2', messages=user('still works'))).done


def test_sync_stream_close(client: ollama.Client, server: OllamaTestServer) -> None:
    server.first_token_delay, server.token_delay, server.response_tokens = 0.0, 0.5, 50
    stream = client.generate('llama3.2', 'slow', stream=True)
    next(stream)
    started = time.monotonic()
    stream.close()
    assert server.wait_for_disconnect(timeout=2.0)
    assert time.monotonic() - started < 0.4  # noticed while waiting between tokens


def test_keep_alive_load_and_unload(client: ollama.Client) -> None:
    loaded = client.chat('llama3.2', messages=[])
    assert (loaded.done, loaded.done_reason, loaded.message.role) == (True, 'load', 'assistant')
    client.generate('qwen3:0.6b', '', keep_alive='1h')
    client.embed('all-minilm', input='x', keep_alive=-1)
    assert [m.model for m in client.ps().models] == ['all-minilm:latest', 'qwen3:0.6b', 'llama3.2:latest']
    unloaded = client.chat('llama3.2', messages=[], keep_alive=0)
    assert unloaded.done_reason == 'unload'
    assert client.generate('qwen3:0.6b', '', keep_alive=0).done_reason == 'unload'
    assert [m.model for m in client.ps().models] == ['all-minilm:latest']
    client.chat('llava:7b', messages=user('hi'), keep_alive=0)
    assert 'llava:7b' not in [m.model for m in client.ps().models]
    with pytest.raises(ollama.ResponseError) as error:
        client.chat('llama3.2', messages=user('hi'), keep_alive='300')
    assert error.value.error == 'time: missing unit in duration "300"'


# ---------------------------------------------------------------- observability and control


def test_request_log(client: ollama.Client, server: OllamaTestServer) -> None:
    client.chat('llama3.2', messages=user('logged'))
    client.list()
    assert [(r['method'], r['path']) for r in server.requests] == [('POST', '/api/chat'), ('GET', '/api/tags')]
    assert server.requests[0]['body']['messages'] == user('logged')
    assert server.requests[1]['body'] is None


def test_control_endpoint(client: ollama.Client, server: OllamaTestServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        assert http.post('/__control', json={'busy': True, 'token_delay': 0.001}).status_code == 200
        assert server.busy is True and server.token_delay == 0.001
        with pytest.raises(ollama.ResponseError):
            client.chat('llama3.2', messages=user('hi'))
        unknown = http.post('/__control', json={'nonsense': 1})
        assert unknown.status_code == 400 and 'nonsense' in unknown.json()['error']
        assert http.post('/__control', json={'busy': 'yes'}).status_code == 400
        state = http.get('/__control').json()
        assert state['busy'] is True and state['request_count'] == 1
        assert {'disconnects', 'active_streams', 'fail_after_tokens', 'response_tokens'} <= set(state)
        assert http.post('/__control/reset').json()['busy'] is False
    assert server.busy is False and server.requests == []


def test_reset_restores_models(client: ollama.Client, server: OllamaTestServer) -> None:
    client.delete('llama3.2')
    server.response_tokens = 3
    server.reset()
    assert server.response_tokens == 12 and client.show('llama3.2').capabilities


def test_ndjson_wire_format(server: OllamaTestServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        with http.stream('POST', '/api/chat', json={'model': 'qwen3:0.6b', 'messages': user('raw')}) as response:
            assert response.headers['content-type'] == 'application/x-ndjson'
            assert response.headers['transfer-encoding'] == 'chunked'
            body = response.read().decode()
        assert body.endswith('\n') and '\n\n' not in body
        objects = [json.loads(line) for line in body.split('\n')[:-1]]
        assert all('message' in o and o['message']['role'] == 'assistant' for o in objects)
        assert objects[-1]['done'] is True and objects[-1]['done_reason'] == 'stop'
        single = http.post('/api/generate', json={'model': 'llama3.2', 'prompt': 'x', 'stream': False})
        assert single.headers['content-type'] == 'application/json; charset=utf-8'
        assert single.json()['done'] is True


def test_standalone_main() -> None:
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, '-m', 'tests.ollama_server', '--port', '0', '--token-delay', '0']
    with subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            url = re.search(r'http://\S+', process.stdout.readline())
            assert url
            assert httpx.get(url.group(0)).text == 'Ollama is running'
        finally:
            process.terminate()
