"""The Ollama gateway against the Ollama-compatible test server, through the real `ollama` client."""

from __future__ import annotations

import asyncio

import pytest

from services.models.client import (
    ModelNotFound,
    OllamaBadRequest,
    OllamaBusy,
    OllamaGateway,
    OllamaStreamError,
    OllamaTimeout,
    OllamaUnreachable,
)
from tests.ollama_server import OllamaTestServer

HELLO = [{'role': 'user', 'content': 'hello there'}]


@pytest.fixture
async def gateway():
    gateway = OllamaGateway(timeout=5, connect_timeout=2)
    yield gateway
    await gateway.close()


async def test_lists_shows_and_reports_running_models(gateway: OllamaGateway, ollama_server: OllamaTestServer) -> None:
    names = [m.model for m in await gateway.list_models(ollama_server.url)]
    assert 'llama3.2:latest' in names and 'nomic-embed-text:latest' in names
    shown = await gateway.show(ollama_server.url, 'nomic-embed-text')
    assert 'embedding' in shown.capabilities
    await gateway.chat(ollama_server.url, model='llama3.2', messages=HELLO)
    assert [m.model for m in await gateway.running(ollama_server.url)] == ['llama3.2:latest']
    await gateway.unload(ollama_server.url, 'llama3.2')
    assert await gateway.running(ollama_server.url) == []


async def test_streams_a_chat_with_final_metrics(gateway: OllamaGateway, ollama_server: OllamaTestServer) -> None:
    parts = [p async for p in gateway.chat_stream(ollama_server.url, model='llama3.2', messages=HELLO)]
    text = ''.join(p.message.content or '' for p in parts)
    assert text.startswith('You said: hello there')
    assert parts[-1].done and parts[-1].eval_count == ollama_server.response_tokens


async def test_health_check_reports_version_and_latency(
    gateway: OllamaGateway, ollama_server: OllamaTestServer
) -> None:
    status = await gateway.check(ollama_server.url)
    assert status.ok and status.version and status.latency_ms is not None
    ollama_server.go_down()
    status = await gateway.check(ollama_server.url)
    assert not status.ok and f'Ollama at {ollama_server.url} is not reachable' in status.error


async def test_unreachable_is_typed_for_calls_and_streams(
    gateway: OllamaGateway, ollama_server: OllamaTestServer
) -> None:
    ollama_server.go_down()
    with pytest.raises(OllamaUnreachable, match='is not reachable'):
        await gateway.list_models(ollama_server.url)
    with pytest.raises(OllamaUnreachable, match='ollama serve'):
        async for _ in gateway.chat_stream(ollama_server.url, model='llama3.2', messages=HELLO):
            pass


async def test_missing_model_bad_request_and_busy_are_typed(
    gateway: OllamaGateway, ollama_server: OllamaTestServer
) -> None:
    with pytest.raises(ModelNotFound, match='"nope" is not available') as missing:
        async for _ in gateway.chat_stream(ollama_server.url, model='nope', messages=HELLO):
            pass
    assert missing.value.model == 'nope' and missing.value.status == 404
    tool = {'type': 'function', 'function': {'name': 'f', 'description': 'd', 'parameters': {'type': 'object'}}}
    with pytest.raises(OllamaBadRequest, match='does not support tools'):
        await gateway.chat(ollama_server.url, model='llava:7b', messages=HELLO, tools=[tool])
    ollama_server.busy = True
    with pytest.raises(OllamaBusy, match='busy'):
        async for _ in gateway.chat_stream(ollama_server.url, model='llama3.2', messages=HELLO):
            pass


async def test_error_inside_a_stream_keeps_the_partial_answer(
    gateway: OllamaGateway, ollama_server: OllamaTestServer
) -> None:
    ollama_server.fail_after_tokens = 3
    received = []
    with pytest.raises(OllamaStreamError, match='error during the reply'):
        async for part in gateway.chat_stream(ollama_server.url, model='llama3.2', messages=HELLO):
            received.append(part.message.content)
    assert len(received) == 3


async def test_timeout_is_typed(ollama_server: OllamaTestServer) -> None:
    gateway = OllamaGateway(timeout=0.3, connect_timeout=1)
    ollama_server.first_token_delay = 2
    try:
        with pytest.raises(OllamaTimeout, match='did not answer in time'):
            async for _ in gateway.chat_stream(ollama_server.url, model='llama3.2', messages=HELLO):
                pass
    finally:
        await gateway.close()


async def test_cancelling_the_consumer_closes_the_stream(
    gateway: OllamaGateway, ollama_server: OllamaTestServer
) -> None:
    ollama_server.token_delay = 0.05
    ollama_server.response_tokens = 200
    first_token = asyncio.Event()

    async def consume() -> None:
        async for _ in gateway.chat_stream(ollama_server.url, model='llama3.2', messages=HELLO):
            first_token.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_token.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(ollama_server.wait_for_disconnect, 1, 5)
