"""The OpenAI-compatible gateway with the official `openai` SDK: only base_url and api_key changed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import openai
import pytest
from nicegui import app

from models import ActivityEvent
from tests.api.conftest import Account


@pytest.fixture
async def sdk(alice: Account) -> AsyncIterator[openai.AsyncOpenAI]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url='http://test')
    async with openai.AsyncOpenAI(base_url='http://test/v1', api_key=alice.token, http_client=http) as client:
        yield client


ADD = {
    'type': 'function',
    'function': {
        'name': 'add',
        'description': 'Add two numbers.',
        'parameters': {
            'type': 'object',
            'properties': {'a': {'type': 'integer'}, 'b': {'type': 'integer'}},
            'required': ['a', 'b'],
        },
    },
}


async def test_models(sdk: openai.AsyncOpenAI) -> None:
    models = [m.id async for m in sdk.models.list()]
    assert 'llama3.2:latest' in models and 'nomic-embed-text:latest' in models
    assert (await sdk.models.retrieve('llama3.2')).id == 'llama3.2:latest'
    with pytest.raises(openai.NotFoundError):
        await sdk.models.retrieve('no-such-model')


async def test_chat_non_streaming_and_streaming(sdk: openai.AsyncOpenAI, alice: Account) -> None:
    reply = await sdk.chat.completions.create(
        model='llama3.2', messages=[{'role': 'user', 'content': 'Hello'}], temperature=0.1, max_tokens=50
    )
    assert reply.choices[0].message.content and reply.choices[0].finish_reason == 'stop'
    assert reply.usage.completion_tokens > 0

    stream = await sdk.chat.completions.create(
        model='llama3.2',
        messages=[{'role': 'user', 'content': 'Tell me about llamas'}],
        stream=True,
        stream_options={'include_usage': True},
    )
    pieces, finish, usage = [], None, None
    async for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or '')
            finish = choice.finish_reason or finish
    assert len([p for p in pieces if p]) > 2 and finish == 'stop' and usage.total_tokens > 0
    rows = await ActivityEvent.filter(user_id=alice.id, action='chat').order_by('id')
    assert [r.details['via'] for r in rows] == ['openai', 'openai']
    assert rows[1].details['stream'] is True and rows[1].tokens == usage.total_tokens


async def test_tool_call_round_trip(sdk: openai.AsyncOpenAI, alice: Account, ollama_server) -> None:
    messages = [{'role': 'user', 'content': 'call add {"a": 2, "b": 3}'}]
    reply = await sdk.chat.completions.create(model='llama3.2', messages=messages, tools=[ADD])
    choice = reply.choices[0]
    assert choice.finish_reason == 'tool_calls'
    call = choice.message.tool_calls[0]
    assert call.function.name == 'add' and isinstance(call.function.arguments, str)
    assert json.loads(call.function.arguments) == {'a': 2, 'b': 3}
    messages += [
        choice.message.model_dump(exclude_none=True),
        {'role': 'tool', 'tool_call_id': call.id, 'content': '5'},
    ]
    final = await sdk.chat.completions.create(model='llama3.2', messages=messages, tools=[ADD])
    assert final.choices[0].finish_reason == 'stop' and final.choices[0].message.content
    sent = ollama_server.requests[-1]['body']['messages']
    assert sent[1]['tool_calls'][0]['function']['arguments'] == {'a': 2, 'b': 3}  # objects for Ollama
    assert sent[2] == {'role': 'tool', 'content': '5', 'tool_name': 'add'}

    # streamed tool calls come as one chunk with the whole call
    stream = await sdk.chat.completions.create(model='llama3.2', messages=messages[:1], tools=[ADD], stream=True)
    calls, finish = [], None
    async for chunk in stream:
        for c in chunk.choices:
            calls += c.delta.tool_calls or []
            finish = c.finish_reason or finish
    assert finish == 'tool_calls' and json.loads(calls[0].function.arguments) == {'a': 2, 'b': 3}
    rows = await ActivityEvent.filter(user_id=alice.id, action='chat')
    assert len(rows) == 3 and all(r.details['via'] == 'openai' and r.error is None for r in rows)


async def test_json_mode(sdk: openai.AsyncOpenAI, ollama_server) -> None:
    reply = await sdk.chat.completions.create(
        model='llama3.2',
        messages=[{'role': 'user', 'content': 'A city as JSON'}],
        response_format={'type': 'json_object'},
    )
    assert isinstance(json.loads(reply.choices[0].message.content), dict)
    assert ollama_server.requests[-1]['body']['format'] == 'json'


async def test_embeddings(sdk: openai.AsyncOpenAI, alice: Account) -> None:
    result = await sdk.embeddings.create(
        model='nomic-embed-text', input=['red apples', 'green apples'], encoding_format='float'
    )
    assert len(result.data) == 2 and len(result.data[0].embedding) == 768 and result.usage.prompt_tokens > 0
    single = await sdk.embeddings.create(model='all-minilm', input='hello', encoding_format='float')
    assert len(single.data[0].embedding) == 384
    rows = await ActivityEvent.filter(user_id=alice.id, action='embed')
    assert len(rows) == 2 and all(r.details['via'] == 'openai' for r in rows)


async def test_openai_shaped_errors(sdk: openai.AsyncOpenAI, alice: Account, services) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        await sdk.chat.completions.create(model='no-such-model', messages=[{'role': 'user', 'content': 'Hi'}])
    assert 'not available' in missing.value.body['message'] and missing.value.body['type'] == 'not_found_error'
    with pytest.raises(openai.BadRequestError):
        await sdk.chat.completions.create(model='llama3.2', messages=[])
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url='http://test')
    async with openai.AsyncOpenAI(base_url='http://test/v1', api_key='owp_wrong', http_client=http) as bad:
        with pytest.raises(openai.AuthenticationError) as denied:
            await bad.models.list()
    assert denied.value.body['type'] == 'authentication_error'
    tokens = await services.tokens.list(alice.id)
    await services.tokens.revoke(alice.id, tokens[0].id)
    with pytest.raises(openai.AuthenticationError) as revoked:
        await sdk.chat.completions.create(model='llama3.2', messages=[{'role': 'user', 'content': 'Hi'}])
    assert 'revoked' in revoked.value.body['message']
