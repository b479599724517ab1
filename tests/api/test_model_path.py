"""The one model-call path: every feature that calls a model goes through `services.models.calls.ModelCalls`.

Proved from the outside: what the Ollama test server received (its request log) is compared with the usage ledger
(`models.ModelCall`), feature by feature, for an attendee of a live workshop; the workshop's allowed models, the
per-user limit on running calls and request quotas hold on every path, and a refused call sends nothing to Ollama.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import httpx
import pytest

from models import Comparison, ModelCall
from services.core.errors import PermissionDenied, Throttled
from services.models.errors import ModelNotAllowed
from services.wiring import Services
from tests.api.conftest import Account, assert_problem
from tests.ollama_server import OllamaTestServer

GENERATION = {'/api/chat': 'chat', '/api/generate': 'generate', '/api/embed': 'embed', '/api/embeddings': 'embed'}
KINDS = ('chat', 'generate', 'embed')
CHAT, OTHER_CHAT = 'llama3.2', 'qwen3:0.6b'
EMBED, OTHER_EMBED = 'nomic-embed-text', 'all-minilm'
HELLO = [{'role': 'user', 'content': 'Hello'}]
CONTEXT_FIRST = '{context}\n\nQuestion: {question}'
DOCS = {
    'llamas.md': b'Llamas carry heavy packs across the Andes mountains.',
    'salmon.md': b'Salmon swim upstream to spawn in cold rivers.',
    'volcano.md': b'Volcanoes erupt molten lava and ash.',
}
QUESTIONS = [
    {'question': 'Who carries packs in the Andes?', 'expected_document': 'llamas.md'},
    {'question': 'Where do salmon spawn?', 'expected_document': 'salmon.md'},
]


# what a person starts counts against their quotas (the question embedding of a RAG ask and ingestion do not)
COUNTED = ('playground', 'conversation', 'api', 'openai', 'side_by_side', 'tool_round', 'prompt_run', 'batch_row')
COUNTED += ('embeddings', 'rag_ask', 'evaluation')


def full(model: str) -> str:
    return model if ':' in model.rsplit('/', 1)[-1] else f'{model}:latest'


# ----- what reached Ollama, and what the ledger says --------------------------------------------------------------
@dataclass(frozen=True)
class Mark:
    requests: int
    call_id: int


class Witness:
    """Compares the test server's request log with the usage ledger from a mark on."""

    def __init__(self, server: OllamaTestServer) -> None:
        self.server = server

    async def mark(self) -> Mark:
        last = await ModelCall.all().order_by('-id').first()
        return Mark(requests=len(self.server.requests), call_id=last.id if last else 0)

    def requests(self, since: Mark) -> list[tuple[str, str]]:
        """(kind, model) of every generation or embedding request Ollama received since the mark."""
        out = []
        for entry in list(self.server.requests)[since.requests :]:
            kind = GENERATION.get(entry['path'])
            if kind is not None and entry['method'] == 'POST':
                out.append((kind, full((entry.get('body') or {}).get('model') or '')))
        return out

    async def rows(self, since: Mark) -> list[ModelCall]:
        """The ledger's generation and embedding rows since the mark, oldest first."""
        return await ModelCall.filter(id__gt=since.call_id, kind__in=KINDS).order_by('id')

    async def check(self, since: Mark, expected: dict[tuple[str, str], int], *, user: int, workshop: int | None):
        """Ollama got exactly one request per ledger row (same kind and model), the rows have the expected
        (purpose, kind) counts, and each names the caller and their workshop."""
        rows = await self.rows(since)
        sent = self.requests(since)
        assert Counter(sent) == Counter((r.kind, full(r.model)) for r in rows), (sent, [_row(r) for r in rows])
        assert Counter((r.purpose, r.kind) for r in rows) == Counter(expected), [_row(r) for r in rows]
        for row in rows:
            assert (row.user_id, row.workshop_id) == (user, workshop), _row(row)
            assert row.error is None and row.host == self.server.url and row.latency_ms is not None, _row(row)
            assert row.prompt_tokens and row.tokens == row.prompt_tokens + (row.completion_tokens or 0), _row(row)
            if row.kind != 'embed':
                assert row.completion_tokens, _row(row)  # what token quotas count
        return rows

    async def nothing_since(self, since: Mark) -> None:
        """Nothing reached Ollama and nothing was written to the ledger."""
        assert self.requests(since) == []
        assert [_row(r) for r in await ModelCall.filter(id__gt=since.call_id)] == []


ROW_FIELDS = ('purpose', 'kind', 'model', 'user_id', 'workshop_id', 'counted', 'error', 'tokens')


def _row(row: ModelCall) -> dict:
    return {k: getattr(row, k) for k in ROW_FIELDS}


@pytest.fixture
def witness(ollama_server: OllamaTestServer) -> Witness:
    return Witness(ollama_server)


# ----- set-up through the API, as people would -------------------------------------------------------------------
async def live_workshop(client, instructor: Account, attendees: Iterable[Account], allowed: list[str] = ()) -> int:
    body = {'title': 'Models 101', 'allowed_models': list(allowed)}
    created = await client.post('/api/v1/workshops', json=body, headers=instructor.headers)
    assert created.status_code == 201, created.text
    wid = created.json()['id']
    started = await client.post(f'/api/v1/workshops/{wid}/start', headers=instructor.headers)
    assert started.status_code == 200 and started.json()['state'] == 'live', started.text
    code = started.json()['join_code']
    for who in attendees:
        joined = await client.post('/api/v1/workshops/join', json={'code': code}, headers=who.headers)
        assert joined.status_code == 200 and joined.json()['workshop_id'] == wid, joined.text
    return wid


async def conversation(client, who: Account, model: str = CHAT) -> int:
    created = await client.post('/api/v1/conversations', json={'model': model}, headers=who.headers)
    assert created.status_code == 201, created.text
    return created.json()['id']


async def prompt(client, who: Account, model: str = CHAT) -> int:
    body = {
        'name': f'Echo {model}',
        'user_template': 'Say {{ word }}',
        'variables': [{'name': 'word', 'type': 'text'}],
        'default_model': model,
    }
    created = await client.post('/api/v1/prompts', json=body, headers=who.headers)
    assert created.status_code == 201, created.text
    return created.json()['id']


async def knowledge_base(client, who: Account, embed: str = EMBED, *, ingest: bool = True) -> int:
    created = await client.post(
        '/api/v1/knowledge', json={'name': f'Nature {embed}', 'embedding_model': embed}, headers=who.headers
    )
    assert created.status_code == 201, created.text
    kb = created.json()['id']
    files = [('files', (name, data, 'application/octet-stream')) for name, data in DOCS.items()]
    uploaded = await client.post(f'/api/v1/knowledge/{kb}/documents', files=files, headers=who.headers)
    assert uploaded.status_code == 201, uploaded.text
    if ingest:
        job = await ingested(client, who, kb)
        assert job['state'] == 'done' and job['docs_done'] == 3, job
    return kb


async def ingested(client, who: Account, kb: int) -> dict:
    """Start ingesting and wait (bounded) for the background job to finish."""
    started = await client.post(f'/api/v1/knowledge/{kb}/ingest', headers=who.headers)
    assert started.status_code == 202, started.text
    for _ in range(200):
        job = (await client.get(f'/api/v1/knowledge/{kb}/ingest', headers=who.headers)).json()
        if job['finished']:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f'the ingestion job did not finish: {job}')


async def rag_system(client, who: Account, kb: int, chat: str = CHAT, **extra) -> int:
    body = {'name': f'QA {chat}', 'kb_ids': [kb], 'chat_model': chat, 'top_k': 2, 'prompt_template': CONTEXT_FIRST}
    created = await client.post('/api/v1/rag', json=body | extra, headers=who.headers)
    assert created.status_code == 201, created.text
    return created.json()['id']


async def drain(stream: AsyncIterator) -> list:
    return [event async for event in stream]


def ndjson(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def sse(response: httpx.Response) -> list:
    assert response.status_code == 200, response.text
    lines = [line.removeprefix('data: ') for line in response.text.splitlines() if line.startswith('data: ')]
    assert lines[-1] == '[DONE]'
    return [json.loads(line) for line in lines[:-1]]


def openai_error(response: httpx.Response, status: int, text: str) -> str:
    assert response.status_code == status, response.text
    message = response.json()['error']['message']
    assert text in message, message
    return message


# ----- every feature, once, as an attendee of a live workshop -----------------------------------------------------
async def test_every_feature_calls_models_through_the_one_path(
    client, services: Services, instructor: Account, alice: Account, witness: Witness, ollama_server
) -> None:
    wid = await live_workshop(client, instructor, [alice], allowed=[CHAT, OTHER_CHAT, EMBED])
    me = {'user': alice.id, 'workshop': wid}
    h = alice.headers

    # the playground (the page streams through ChatService.send)
    mark = await witness.mark()
    cid = (await services.chat.create_conversation(alice.id, CHAT)).id
    events = await drain(services.chat.send(alice.id, cid, 'Hello playground'))
    assert events[-1].error is None and events[-1].content.startswith('You said: Hello playground')
    await witness.check(mark, {('playground', 'chat'): 1}, **me)

    # a conversation message through the REST API, plain and streamed
    mark = await witness.mark()
    rest = await conversation(client, alice)
    url = f'/api/v1/conversations/{rest}/messages'
    reply = await client.post(url, json={'content': 'Hello API'}, headers=h)
    assert reply.status_code == 200 and reply.json()['content'], reply.text
    assert ndjson(await client.post(url, json={'content': 'Again', 'stream': True}, headers=h))[-1]['done']
    await witness.check(mark, {('conversation', 'chat'): 2}, **me)

    # /api/v1/chat, plain and streamed, and /api/v1/embeddings
    mark = await witness.mark()
    chat = await client.post('/api/v1/chat', json={'model': CHAT, 'messages': HELLO}, headers=h)
    assert chat.status_code == 200 and chat.json()['message']['content'], chat.text
    streamed = await client.post('/api/v1/chat', json={'model': CHAT, 'messages': HELLO, 'stream': True}, headers=h)
    assert ndjson(streamed)[-1]['done'] is True
    embedded = await client.post('/api/v1/embeddings', json={'model': EMBED, 'input': ['a', 'b']}, headers=h)
    assert embedded.status_code == 200 and len(embedded.json()['embeddings']) == 2, embedded.text
    await witness.check(mark, {('api', 'chat'): 2, ('api', 'embed'): 1}, **me)

    # the OpenAI-compatible gateway: chat completions (plain and SSE) and embeddings
    mark = await witness.mark()
    completion = await client.post('/v1/chat/completions', json={'model': CHAT, 'messages': HELLO}, headers=h)
    assert completion.status_code == 200 and completion.json()['choices'][0]['message']['content'], completion.text
    chunks = sse(
        await client.post('/v1/chat/completions', json={'model': CHAT, 'messages': HELLO, 'stream': True}, headers=h)
    )
    assert any(c['choices'] and c['choices'][0]['delta'].get('content') for c in chunks)
    vectors = await client.post('/v1/embeddings', json={'model': EMBED, 'input': 'llamas'}, headers=h)
    assert vectors.status_code == 200 and vectors.json()['data'][0]['embedding'], vectors.text
    await witness.check(mark, {('openai', 'chat'): 2, ('openai', 'embed'): 1}, **me)

    # ingestion of documents into the attendee's own knowledge base (a background job)
    mark = await witness.mark()
    kb = await knowledge_base(client, alice)
    embeds = [r for r in witness.requests(mark) if r[0] == 'embed']
    assert embeds, 'ingestion sent nothing to Ollama'
    await witness.check(mark, {('ingestion', 'embed'): len(embeds)}, **me)

    # RAG: retrieval only, then ask (plain and streamed): one question embedding + one answer each
    rag = await rag_system(client, alice, kb)
    question = {'question': 'Who carries packs in the Andes?'}
    mark = await witness.mark()
    found = await client.post(f'/api/v1/rag/{rag}/retrieve', json=question, headers=h)
    assert found.status_code == 200 and found.json()['passages'][0]['document_name'] == 'llamas.md', found.text
    await witness.check(mark, {('rag_retrieval', 'embed'): 1}, **me)
    mark = await witness.mark()
    asked = await client.post(f'/api/v1/rag/{rag}/ask', json=question, headers=h)
    assert asked.status_code == 200 and '[1]' in asked.json()['answer'], asked.text
    await witness.check(mark, {('rag_retrieval', 'embed'): 1, ('rag_ask', 'chat'): 1}, **me)
    mark = await witness.mark()
    lines = ndjson(await client.post(f'/api/v1/rag/{rag}/ask', json=question | {'stream': True}, headers=h))
    assert lines[-1]['type'] == 'done' and lines[-1]['answer']
    await witness.check(mark, {('rag_retrieval', 'embed'): 1, ('rag_ask', 'chat'): 1}, **me)

    # an evaluation of the RAG system on two questions, with answers
    mark = await witness.mark()
    evaluated = await client.post(f'/api/v1/rag/{rag}/evaluations', json={'questions': QUESTIONS}, headers=h)
    assert evaluated.status_code == 201 and evaluated.json()['hit_rate'] == 1.0, evaluated.text
    rows = await witness.check(mark, {('rag_retrieval', 'embed'): 2, ('evaluation', 'chat'): 2}, **me)
    assert sum(r.counted for r in rows) == 2  # one request per question, as for a RAG question
    mark = await witness.mark()
    retrieval_only = {'questions': QUESTIONS, 'answers': False}
    evaluated = await client.post(f'/api/v1/rag/{rag}/evaluations', json=retrieval_only, headers=h)
    assert evaluated.status_code == 201 and evaluated.json()['hit_rate'] == 1.0, evaluated.text
    rows = await witness.check(mark, {('evaluation', 'embed'): 2}, **me)
    assert sum(r.counted for r in rows) == 2

    # a prompt run, then a batch of three rows: three model calls
    pid = await prompt(client, alice)
    mark = await witness.mark()
    run = await client.post(f'/api/v1/prompts/{pid}/runs', json={'values': {'word': 'sun'}}, headers=h)
    assert run.status_code == 201 and run.json()['output'] and run.json()['error'] is None, run.text
    await witness.check(mark, {('prompt_run', 'chat'): 1}, **me)
    mark = await witness.mark()
    batch = await services.prompt_runs.run_batch(alice.id, pid, [{'word': w} for w in ('sun', 'moon', 'stars')])
    assert [r.error for r in batch.runs] == [None, None, None] and all(r.output for r in batch.runs)
    rows = await witness.check(mark, {('batch_row', 'chat'): 3}, **me)
    assert all(r.counted for r in rows)  # a batch of three rows is three requests

    # side by side: two models, one call each
    mark = await witness.mark()
    comparison = await services.chat.start_comparison(alice.id, 'Which is better?', [full(CHAT), OTHER_CHAT])
    for index in (0, 1):
        result = (await drain(services.chat.compare_stream(alice.id, comparison, index)))[-1]
        assert result.error is None and result.content
    rows = await witness.check(mark, {('side_by_side', 'chat'): 2}, **me)
    assert sorted(full(r.model) for r in rows) == sorted([full(CHAT), OTHER_CHAT])

    # the function-calling loop: from the playground and from the tool chat page (two rounds each)
    calc = 'call calculator {"expression": "6*7"}'
    mark = await witness.mark()
    events = await drain(services.chat.send_with_tools(alice.id, cid, calc, ['builtin:calculator']))
    assert [e.call.ok for e in events if e.kind == 'result'] == [True] and events[-1].kind == 'done'
    await witness.check(mark, {('tool_round', 'chat'): 2}, **me)
    mark = await witness.mark()
    events = await drain(
        services.tool_loop.run(alice.id, CHAT, [{'role': 'user', 'content': calc}], ['builtin:calculator'])
    )
    assert [e.call.ok for e in events if e.kind == 'result'] == [True] and events[-1].kind == 'done'
    await witness.check(mark, {('tool_round', 'chat'): 2}, **me)

    # the embeddings explorer (sentence similarity)
    mark = await witness.mark()
    matrix = await services.embeddings.similarity(alice.id, EMBED, ['Llamas carry packs.', 'Salmon swim.'])
    assert matrix.matrix[0][0] == pytest.approx(1.0, abs=1e-3)
    await witness.check(mark, {('embeddings', 'embed'): 1}, **me)

    # all together, from the start of the test: one ledger row per generation or embedding request Ollama received
    start = Mark(requests=0, call_id=0)
    everything = await witness.rows(start)
    assert Counter(witness.requests(start)) == Counter((r.kind, full(r.model)) for r in everything)
    assert all(r.counted for r in everything if r.purpose in COUNTED), [_row(r) for r in everything]
    assert not any(r.counted for r in everything if r.purpose == 'ingestion')  # background work on own documents


# ----- a workshop's allowed models hold on every path ---------------------------------------------------------------
async def test_an_attendee_is_held_to_the_workshop_models_on_every_path(
    client, services: Services, instructor: Account, alice: Account, bob: Account, witness: Witness
) -> None:
    h = alice.headers
    # made before joining, with a model the workshop will not allow
    old_chat = await conversation(client, alice, OTHER_CHAT)
    playground = (await services.chat.create_conversation(alice.id, OTHER_CHAT)).id
    other_prompt = await prompt(client, alice, OTHER_CHAT)
    own_prompt = await prompt(client, alice, CHAT)
    kb = await knowledge_base(client, alice)  # embedded with an allowed model
    other_rag = await rag_system(client, alice, kb, chat=OTHER_CHAT)
    other_kb = await knowledge_base(client, alice, OTHER_EMBED, ingest=False)

    wid = await live_workshop(client, instructor, [alice], allowed=[CHAT, EMBED])
    allowed = 'Your workshop allows only these models: llama3.2, nomic-embed-text.'
    refusals: list[str] = []

    def refused(response: httpx.Response, model: str) -> None:
        body = assert_problem(response, 403, allowed)
        assert body['detail'].startswith(allowed) and f'"{model}"' in body['detail'], body['detail']
        refusals.append(body['detail'])

    def denied(error: PermissionDenied, model: str) -> None:
        assert isinstance(error, ModelNotAllowed), repr(error)
        assert error.message.startswith(allowed) and f'"{model}"' in error.message, error.message
        refusals.append(error.message)

    mark = await witness.mark()
    # the playground: continuing a conversation with the refused model, plain and with tools
    with pytest.raises(PermissionDenied) as caught:
        await drain(services.chat.send(alice.id, playground, 'Hello'))
    denied(caught.value, OTHER_CHAT)
    with pytest.raises(PermissionDenied) as caught:
        await drain(services.chat.send_with_tools(alice.id, playground, '6*7?', ['builtin:calculator']))
    denied(caught.value, OTHER_CHAT)
    # a conversation through the REST API, plain and streamed
    url = f'/api/v1/conversations/{old_chat}/messages'
    refused(await client.post(url, json={'content': 'Hello'}, headers=h), OTHER_CHAT)
    refused(await client.post(url, json={'content': 'Hello', 'stream': True}, headers=h), OTHER_CHAT)
    # /api/v1/chat and /api/v1/embeddings
    body = {'model': OTHER_CHAT, 'messages': HELLO}
    refused(await client.post('/api/v1/chat', json=body, headers=h), OTHER_CHAT)
    refused(await client.post('/api/v1/chat', json=body | {'stream': True}, headers=h), OTHER_CHAT)
    refused(await client.post('/api/v1/embeddings', json={'model': OTHER_EMBED, 'input': 'x'}, headers=h), OTHER_EMBED)
    # the OpenAI-compatible gateway
    for stream in (False, True):
        response = await client.post('/v1/chat/completions', json=body | {'stream': stream}, headers=h)
        refusals.append(openai_error(response, 403, allowed))
    response = await client.post('/v1/embeddings', json={'model': OTHER_EMBED, 'input': 'x'}, headers=h)
    refusals.append(openai_error(response, 403, allowed))
    # prompt runs: a prompt whose default model is refused, and another model asked for explicitly
    refused(
        await client.post(f'/api/v1/prompts/{other_prompt}/runs', json={'values': {'word': 'a'}}, headers=h), OTHER_CHAT
    )
    explicit = {'values': {'word': 'a'}, 'model': OTHER_CHAT}
    refused(await client.post(f'/api/v1/prompts/{own_prompt}/runs', json=explicit, headers=h), OTHER_CHAT)
    with pytest.raises(PermissionDenied) as caught:
        await services.prompt_runs.run_batch(alice.id, own_prompt, [{'word': 'a'}, {'word': 'b'}], OTHER_CHAT)
    denied(caught.value, OTHER_CHAT)
    # side by side: one refused model refuses the comparison before any call
    with pytest.raises(PermissionDenied) as caught:
        await services.chat.start_comparison(alice.id, 'Which?', [full(CHAT), OTHER_CHAT])
    denied(caught.value, OTHER_CHAT)
    assert not await Comparison.filter(owner_id=alice.id).exists()
    # the tool chat page
    with pytest.raises(PermissionDenied) as caught:
        await drain(services.tool_loop.run(alice.id, OTHER_CHAT, HELLO, ['builtin:calculator']))
    denied(caught.value, OTHER_CHAT)
    # RAG with a refused chat model: ask (plain, streamed) and evaluate; nothing is embedded first
    question = {'question': 'Who carries packs in the Andes?'}
    refused(await client.post(f'/api/v1/rag/{other_rag}/ask', json=question, headers=h), OTHER_CHAT)
    refused(await client.post(f'/api/v1/rag/{other_rag}/ask', json=question | {'stream': True}, headers=h), OTHER_CHAT)
    evaluation = {'questions': QUESTIONS}
    refused(await client.post(f'/api/v1/rag/{other_rag}/evaluations', json=evaluation, headers=h), OTHER_CHAT)
    # the embeddings explorer
    with pytest.raises(PermissionDenied) as caught:
        await services.embeddings.similarity(alice.id, OTHER_EMBED, ['one', 'two'])
    denied(caught.value, OTHER_EMBED)
    # ingestion into a knowledge base whose embedding model is refused: refused when it is asked for, no job runs
    refused(await client.post(f'/api/v1/knowledge/{other_kb}/ingest', headers=h), OTHER_EMBED)
    job = (await client.get(f'/api/v1/knowledge/{other_kb}/ingest', headers=h)).json()
    assert not job or job.get('state') != 'running', job
    docs = (await client.get(f'/api/v1/knowledge/{other_kb}/documents', headers=h)).json()['items']
    assert len(docs) == 3 and 'embedded' not in {d['state'] for d in docs}, docs

    await witness.nothing_since(mark)  # not one refused call reached Ollama or the ledger
    assert len(refusals) == 20  # every path above refused, each naming the allowed models

    # the allowed models still work, and are all the attendee is offered
    mark = await witness.mark()
    assert (await client.post('/api/v1/chat', json={'model': CHAT, 'messages': HELLO}, headers=h)).status_code == 200
    await witness.check(mark, {('api', 'chat'): 1}, user=alice.id, workshop=wid)
    listed = (await client.get('/v1/models', headers=h)).json()['data']
    assert sorted(m['id'] for m in listed) == [full(CHAT), full(EMBED)]
    assert (await client.get(f'/v1/models/{OTHER_CHAT}', headers=h)).status_code == 404
    names = [m['name'] for m in (await client.get('/api/v1/models', headers=h)).json()['items']]
    assert sorted(set(names)) == [full(CHAT), full(EMBED)]
    everything = {full(CHAT), OTHER_CHAT, full(EMBED), full(OTHER_EMBED), 'llava:7b'}
    for who in (instructor, bob):  # the instructor, and an attendee who is not in the workshop, see every model
        assert {m['id'] for m in (await client.get('/v1/models', headers=who.headers)).json()['data']} >= everything
        assert {m['name'] for m in (await client.get('/api/v1/models', headers=who.headers)).json()['items']} >= (
            everything
        )
    assert (await client.post('/api/v1/chat', json=body, headers=bob.headers)).status_code == 200
    assert (await client.post('/api/v1/chat', json=body, headers=instructor.headers)).status_code == 200

    # when the workshop ends, the attendee may use any model again
    ended = await client.post(f'/api/v1/workshops/{wid}/end', headers=instructor.headers)
    assert ended.status_code == 200, ended.text
    mark = await witness.mark()
    assert (await client.post('/api/v1/chat', json=body, headers=h)).status_code == 200
    await witness.check(mark, {('api', 'chat'): 1}, user=alice.id, workshop=None)
    assert len((await client.get('/v1/models', headers=h)).json()['data']) >= len(everything)


# ----- the per-user limit on running calls holds on every path -----------------------------------------------------
async def streaming(stream: AsyncIterator) -> asyncio.Task:
    """Consume a reply in a task, as the playground page does; returns once the first part has arrived."""
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in stream:
            started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    return task


async def stop(task: asyncio.Task) -> None:
    """Stop a reply as the page's Stop button does: cancel the task that consumes it."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture
def two_calls_at_once(app_env, monkeypatch: pytest.MonkeyPatch) -> int:
    """CHAT_MAX_STREAMS_PER_USER=2, set before the app starts (request this fixture before `client`)."""
    monkeypatch.setenv('CHAT_MAX_STREAMS_PER_USER', '2')
    monkeypatch.setenv('QUEUE_MAX_WAIT_SECONDS', '0.5')  # a call over the limit waits this long, then is refused
    return 2


async def test_an_attendee_at_the_call_limit_is_refused_on_every_path(
    two_calls_at_once: int,
    client,
    services: Services,
    instructor: Account,
    alice: Account,
    bob: Account,
    witness: Witness,
    ollama_server: OllamaTestServer,
) -> None:
    assert services.calls.room.max_per_user == two_calls_at_once  # the setting is the one limit
    h = alice.headers
    kb = await knowledge_base(client, alice)
    rag = await rag_system(client, alice, kb)
    pid = await prompt(client, alice)
    cid = await conversation(client, alice)
    wid = await live_workshop(client, instructor, [alice, bob])

    # two playground replies streaming slowly: the attendee is at the limit
    ollama_server.token_delay = 0.05
    ollama_server.response_tokens = 400
    held = []
    for _ in range(two_calls_at_once):
        conv = (await services.chat.create_conversation(alice.id, CHAT)).id
        held.append(await streaming(services.chat.send(alice.id, conv, 'Tell me a long story')))
    assert services.calls.running(alice.id) == two_calls_at_once
    ollama_server.response_tokens = 1  # new replies are one token long (the held ones keep streaming slowly)
    busy = f'You already have {two_calls_at_once} model calls running (the limit is {two_calls_at_once})'

    def throttled(response: httpx.Response) -> None:
        assert_problem(response, 429, busy)
        assert int(response.headers['retry-after']) > 0

    mark = await witness.mark()
    try:
        # the playground (another conversation), with and without tools
        conv = (await services.chat.create_conversation(alice.id, CHAT)).id
        with pytest.raises(Throttled, match=re.escape(busy)):
            await drain(services.chat.send(alice.id, conv, 'Hello'))
        with pytest.raises(Throttled, match=re.escape(busy)):
            await drain(services.chat.send_with_tools(alice.id, conv, '6*7?', ['builtin:calculator']))
        # the REST API
        url = f'/api/v1/conversations/{cid}/messages'
        throttled(await client.post(url, json={'content': 'Hello'}, headers=h))
        throttled(await client.post(url, json={'content': 'Hello', 'stream': True}, headers=h))
        chat = {'model': CHAT, 'messages': HELLO}
        throttled(await client.post('/api/v1/chat', json=chat, headers=h))
        throttled(await client.post('/api/v1/chat', json=chat | {'stream': True}, headers=h))
        throttled(await client.post('/api/v1/embeddings', json={'model': EMBED, 'input': 'x'}, headers=h))
        # the OpenAI-compatible gateway
        for stream in (False, True):
            openai_error(
                await client.post('/v1/chat/completions', json=chat | {'stream': stream}, headers=h), 429, busy
            )
        openai_error(await client.post('/v1/embeddings', json={'model': EMBED, 'input': 'x'}, headers=h), 429, busy)
        # RAG: retrieval, ask (plain and streamed), evaluation
        question = {'question': 'Who carries packs?'}
        throttled(await client.post(f'/api/v1/rag/{rag}/retrieve', json=question, headers=h))
        throttled(await client.post(f'/api/v1/rag/{rag}/ask', json=question, headers=h))
        throttled(await client.post(f'/api/v1/rag/{rag}/ask', json=question | {'stream': True}, headers=h))
        throttled(await client.post(f'/api/v1/rag/{rag}/evaluations', json={'questions': QUESTIONS}, headers=h))
        # a prompt run and a batch
        throttled(await client.post(f'/api/v1/prompts/{pid}/runs', json={'values': {'word': 'a'}}, headers=h))
        with pytest.raises(Throttled, match=re.escape(busy)):
            await services.prompt_runs.run_batch(alice.id, pid, [{'word': 'a'}, {'word': 'b'}, {'word': 'c'}])
        # side by side, the tool chat page, the embeddings explorer
        # a comparison may be started; each of its answers waits in the person's lane and is then refused
        cid = await services.chat.start_comparison(alice.id, 'Which?', [full(CHAT), OTHER_CHAT])
        for index in range(2):
            with pytest.raises(Throttled, match=re.escape(busy)):
                await drain(services.chat.compare_stream(alice.id, cid, index))
        with pytest.raises(Throttled, match=re.escape(busy)):
            await drain(services.tool_loop.run(alice.id, CHAT, HELLO, ['builtin:calculator']))
        with pytest.raises(Throttled, match=re.escape(busy)):
            await services.embeddings.similarity(alice.id, EMBED, ['one', 'two'])
        await witness.nothing_since(mark)  # nothing was sent for any refused call

        # another attendee of the same workshop is not held up
        mark = await witness.mark()
        assert (await client.post('/api/v1/chat', json=chat, headers=bob.headers)).status_code == 200
        await witness.check(mark, {('api', 'chat'): 1}, user=bob.id, workshop=wid)

        # one reply stopped: a slot is free again
        await stop(held.pop())
        assert services.calls.running(alice.id) == two_calls_at_once - 1
        mark = await witness.mark()
        assert (await client.post('/api/v1/chat', json=chat, headers=h)).status_code == 200
        await witness.check(mark, {('api', 'chat'): 1}, user=alice.id, workshop=wid)
    finally:
        for task in held:
            await stop(task)
    assert services.calls.running(alice.id) == 0
    stopped = await ModelCall.filter(user_id=alice.id, purpose='playground').order_by('id')
    assert len(stopped) == two_calls_at_once and all(r.error for r in stopped)  # the stopped replies, recorded


# ----- a batch of N rows is N requests against a quota ---------------------------------------------------------------
async def test_a_batch_of_n_rows_counts_n_requests(
    client, services: Services, admin: Account, alice: Account, bob: Account, witness: Witness
) -> None:
    # no limit reached: a 3-row batch is 3 counted ledger rows, and usage shows 3 requests
    quota = {'user_id': alice.id, 'max_requests': 100}
    assert (await client.post('/api/v1/quotas', json=quota, headers=admin.headers)).status_code == 200
    pid = await prompt(client, alice)
    mark = await witness.mark()
    batch = await services.prompt_runs.run_batch(alice.id, pid, [{'word': w} for w in ('sun', 'moon', 'stars')])
    assert len(batch.runs) == 3 and batch.failed == 0
    rows = await witness.check(mark, {('batch_row', 'chat'): 3}, user=alice.id, workshop=None)
    assert all(r.counted for r in rows)
    usage = (await client.get('/api/v1/me/usage', headers=alice.headers)).json()
    assert [u['requests'] for u in usage] == [3]

    # a quota of 2 requests: a 3-row batch gets no more than 2 model calls through
    quota = {'user_id': bob.id, 'max_requests': 2}
    assert (await client.post('/api/v1/quotas', json=quota, headers=admin.headers)).status_code == 200
    pid = await prompt(client, bob)
    mark = await witness.mark()
    batch = await services.prompt_runs.run_batch(bob.id, pid, [{'word': w} for w in ('sun', 'moon', 'stars')])
    assert [r.error is None for r in batch.runs] == [True, True, False]
    assert 'daily request limit (2 requests)' in batch.runs[2].error
    rows = await witness.check(mark, {('batch_row', 'chat'): 2}, user=bob.id, workshop=None)
    assert all(r.counted for r in rows)
    usage = (await client.get('/api/v1/me/usage', headers=bob.headers)).json()
    assert [u['requests'] for u in usage] == [2]
    # and the quota is used up for every other path too
    mark = await witness.mark()
    refused = await client.post('/api/v1/chat', json={'model': CHAT, 'messages': HELLO}, headers=bob.headers)
    assert_problem(refused, 429, 'daily request limit (2 requests)')
    with pytest.raises(Throttled, match='daily request limit'):
        await services.prompt_runs.run_batch(bob.id, pid, [{'word': 'again'}])
    await witness.nothing_since(mark)


async def test_an_attendee_cannot_start_or_switch_a_conversation_to_a_model_the_workshop_does_not_allow(
    client, instructor: Account, alice: Account, witness: Witness
) -> None:
    await live_workshop(client, instructor, [alice], allowed=[CHAT])
    mark = await witness.mark()
    refused = await client.post('/api/v1/conversations', json={'model': OTHER_CHAT}, headers=alice.headers)
    body = assert_problem(refused, 403, 'Your workshop allows only these models: llama3.2')
    assert f'"{OTHER_CHAT}"' in body['detail']
    cid = await conversation(client, alice, CHAT)  # an allowed model is fine
    switched = await client.patch(f'/api/v1/conversations/{cid}', json={'model': OTHER_CHAT}, headers=alice.headers)
    assert_problem(switched, 403, 'Your workshop allows only these models')
    assert (await client.get(f'/api/v1/conversations/{cid}', headers=alice.headers)).json()['model'] == CHAT
    await witness.nothing_since(mark)
