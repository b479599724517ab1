"""Everything sent to a model counts against one size limit, on every path (issue 14 item 9; threat-model T14).

Before: a 5 MB tool definition passed the 1 MB prompt limit, which only measured the user's message. The attack, with
API_MAX_PROMPT_CHARS=4000: a short message carrying a huge system prompt, a long history, huge tool definitions or a
huge output schema — through the chat API and the OpenAI gateway —, a tool created with a 5 MB schema, and a RAG
question whose retrieved context is what makes it too long. Each is refused with a clear 4xx naming the limit, and
the Ollama server never sees the call; a small request still works.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.api.conftest import assert_problem

LIMIT = 4000
TOO_LONG = 'That is too long for one model call'
SMALL = [{'role': 'user', 'content': 'Hello'}]


@pytest.fixture(autouse=True)
def _small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('API_MAX_PROMPT_CHARS', str(LIMIT))


def _tool(size: int) -> dict:
    return {
        'type': 'function',
        'function': {
            'name': 'lookup',
            'description': 'd' * size,
            'parameters': {'type': 'object', 'properties': {'q': {'type': 'string'}}},
        },
    }


def chats_seen(ollama_server) -> int:
    return sum(1 for r in ollama_server.requests if r['path'] in ('/api/chat', '/api/generate'))


@pytest.mark.parametrize(
    'body',
    [
        {'messages': [{'role': 'system', 'content': 's' * 8000}, *SMALL]},
        {'messages': [m for i in range(12) for m in ({'role': 'user', 'content': f'{i} ' + 'h' * 400},
                                                      {'role': 'assistant', 'content': 'a' * 400})] + SMALL},
        {'messages': SMALL, 'tools': [_tool(10_000)]},
        {'messages': SMALL, 'format': {'type': 'object', 'description': 'f' * 10_000}},
    ],
    ids=['system prompt', 'history', 'tool definitions', 'output schema'],
)  # fmt: skip
async def test_the_chat_api_counts_everything_it_sends(client, alice, ollama_server, body: dict) -> None:
    before = chats_seen(ollama_server)
    response = await client.post('/api/v1/chat', json={'model': 'llama3.2', **body}, headers=alice.headers)
    detail = assert_problem(response, 422, TOO_LONG)['detail']
    assert f'at most {LIMIT:,}' in detail
    assert chats_seen(ollama_server) == before  # nothing was sent to Ollama


async def test_the_gateway_counts_tools_too(client, alice, ollama_server) -> None:
    before = chats_seen(ollama_server)
    body = {'model': 'llama3.2', 'messages': SMALL, 'tools': [_tool(10_000)]}
    response = await client.post('/v1/chat/completions', json=body, headers=alice.headers)
    assert response.status_code in (400, 422), response.text
    assert TOO_LONG in response.json()['error']['message']
    assert chats_seen(ollama_server) == before


async def test_a_tool_with_a_huge_schema_cannot_be_created(client, alice) -> None:
    schema = {
        'type': 'object',
        'properties': {f'p{i}': {'type': 'string', 'description': 'x' * 250_000} for i in range(20)},
    }  # about 5 MB in 20 parameters
    body = {'name': 'big', 'description': 'huge', 'parameters': schema, 'kind': 'static', 'config': {'response': {}}}
    response = await client.post('/api/v1/tools', json=body, headers=alice.headers)
    assert response.status_code in (413, 422), response.text
    assert response.json()['detail'].endswith('.')  # a sentence saying what is wrong (here: a part too long)
    assert (await client.get('/api/v1/tools', headers=alice.headers)).json()['total'] == 0


async def test_retrieved_context_counts_in_a_rag_question(client, alice, ollama_server) -> None:
    kb = (
        await client.post('/api/v1/knowledge', json={'name': 'Long', 'embedding_model': 'nomic-embed-text',
                          'chunk_size': 128, 'chunk_overlap': 0}, headers=alice.headers)
    ).json()['id']  # fmt: skip
    for name, animal in (('llamas.md', 'Llamas'), ('alpacas.md', 'Alpacas')):  # one job each: each embeds < limit
        text = (f'{animal} live in the Andes and carry loads for people who live there. ' * 40).encode()
        files = [('files', (name, f'# {animal}\n'.encode() + text, 'text/markdown'))]
        uploaded = await client.post(f'/api/v1/knowledge/{kb}/documents', files=files, headers=alice.headers)
        assert uploaded.status_code == 201, uploaded.text
        assert (await client.post(f'/api/v1/knowledge/{kb}/ingest', headers=alice.headers)).status_code == 202
        for _ in range(200):
            job = (await client.get(f'/api/v1/knowledge/{kb}/ingest', headers=alice.headers)).json()
            if job['finished']:
                break
            await asyncio.sleep(0.05)
        assert job['state'] == 'done', job
    rag = await client.post(
        '/api/v1/rag', json={'name': 'QA', 'kb_ids': [kb], 'chat_model': 'llama3.2', 'top_k': 20},
        headers=alice.headers,
    )  # fmt: skip
    assert rag.status_code == 201, rag.text
    before = chats_seen(ollama_server)
    asked = await client.post(f'/api/v1/rag/{rag.json()["id"]}/ask', json={'question': 'Where do llamas live?'},
                              headers=alice.headers)  # fmt: skip
    assert_problem(asked, 422, TOO_LONG)
    assert chats_seen(ollama_server) == before


async def test_a_small_request_still_works(client, alice) -> None:
    body = {'model': 'llama3.2', 'messages': SMALL, 'tools': [_tool(50)]}
    response = await client.post('/api/v1/chat', json=body, headers=alice.headers)
    assert response.status_code == 200, response.text
