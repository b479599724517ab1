"""The REST API over knowledge bases, ingestion and RAG systems: upload → ingest → ask with a citation (plain and
NDJSON), another user's private knowledge base or RAG system answers 404 (T1), a file whose extension lies is refused
with nothing stored, a revoked token 401 (T5), and the built-in tool search_knowledge respects the same access."""

from __future__ import annotations

import asyncio
import json

from models import ActivityEvent, Document
from tests import files
from tests.api.conftest import assert_problem

EMBED = 'nomic-embed-text:latest'
CHAT = 'llama3.2:latest'
CONTEXT_FIRST = '{context}\n\nQuestion: {question}'  # the test model echoes the start of the prompt: a cited answer
DOCS = {
    'llamas.md': b'Llamas carry heavy packs across the Andes mountains.',
    'salmon.md': b'Salmon swim upstream to spawn in cold rivers.',
    'volcano.md': b'Volcanoes erupt molten lava and ash.',
}


def _files(docs: dict[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [('files', (name, data, 'application/octet-stream')) for name, data in docs.items()]


async def _make_kb(client, who, **extra) -> int:
    body = {'name': 'Nature', 'embedding_model': EMBED} | extra
    created = await client.post('/api/v1/knowledge', json=body, headers=who.headers)
    assert created.status_code == 201, created.text
    return created.json()['id']


async def _ingested_kb(client, who) -> int:
    kb = await _make_kb(client, who)
    uploaded = await client.post(f'/api/v1/knowledge/{kb}/documents', files=_files(DOCS), headers=who.headers)
    assert uploaded.status_code == 201, uploaded.text
    assert [r['ok'] for r in uploaded.json()] == [True, True, True], uploaded.json()
    started = await client.post(f'/api/v1/knowledge/{kb}/ingest', headers=who.headers)
    assert started.status_code == 202, started.text
    for _ in range(200):  # the test server's embeddings are instant; bounded wait for the background job
        job = (await client.get(f'/api/v1/knowledge/{kb}/ingest', headers=who.headers)).json()
        if job['finished']:
            break
        await asyncio.sleep(0.05)
    assert job['state'] == 'done' and job['docs_done'] == 3 and job['percent'] == 100.0, job
    return kb


async def _make_rag(client, who, kb: int) -> int:
    body = {'name': 'Nature QA', 'kb_ids': [kb], 'chat_model': CHAT, 'top_k': 2, 'prompt_template': CONTEXT_FIRST}
    created = await client.post('/api/v1/rag', json=body, headers=who.headers)
    assert created.status_code == 201, created.text
    return created.json()['id']


async def test_upload_ingest_and_ask_with_a_citation(client, alice) -> None:
    kb = await _ingested_kb(client, alice)
    detail = (await client.get(f'/api/v1/knowledge/{kb}', headers=alice.headers)).json()
    assert detail['stats']['documents'] == 3 and detail['stats']['by_state'] == {'embedded': 3}
    assert detail['stats']['chunks'] >= 3 and detail['latest_job']['state'] == 'done' and detail['dimension'] == 768
    docs = (await client.get(f'/api/v1/knowledge/{kb}/documents', headers=alice.headers)).json()
    assert docs['total'] == 3 and [d['name'] for d in docs['items']] == list(DOCS)
    one = await client.get(f'/api/v1/knowledge/{kb}/documents/{docs["items"][0]["id"]}', headers=alice.headers)
    assert one.json()['state'] == 'embedded' and one.json()['error'] is None
    assert [k['id'] for k in (await client.get('/api/v1/knowledge', headers=alice.headers)).json()['items']] == [kb]

    rag = await _make_rag(client, alice, kb)
    question = {'question': 'Who carries packs in the Andes?'}
    found = await client.post(f'/api/v1/rag/{rag}/retrieve', json=question, headers=alice.headers)
    assert found.status_code == 200, found.text
    passages = found.json()['passages']
    assert passages[0]['document_name'] == 'llamas.md' and passages[0]['kept'] and 'rank 1' in passages[0]['reason']

    asked = await client.post(f'/api/v1/rag/{rag}/ask', json=question, headers=alice.headers)
    assert asked.status_code == 200, asked.text
    answer = asked.json()
    assert '[1]' in answer['answer'] and answer['citations'][0]['document_name'] == 'llamas.md'
    assert 'Llamas carry heavy packs' in answer['citations'][0]['text']

    streamed = await client.post(f'/api/v1/rag/{rag}/ask', json=question | {'stream': True}, headers=alice.headers)
    assert streamed.status_code == 200 and streamed.headers['content-type'].startswith('application/x-ndjson')
    lines = [json.loads(line) for line in streamed.text.splitlines()]
    assert {line['type'] for line in lines[:-1]} == {'delta'} and lines[-1]['type'] == 'done'
    assert ''.join(line['content'] for line in lines[:-1]) == lines[-1]['answer']
    assert lines[-1]['citations'][0]['number'] == 1 and lines[-1]['citations'][0]['document_name'] == 'llamas.md'
    rows = await ActivityEvent.filter(user_id=alice.id, action='rag_query')
    assert len(rows) == 2 and all(r.details['rag_id'] == rag and r.error is None for r in rows)

    deleted = await client.delete(f'/api/v1/knowledge/{kb}/documents/{docs["items"][2]["id"]}', headers=alice.headers)
    assert deleted.status_code == 200 and await Document.filter(kb_id=kb).count() == 2
    assert (await client.delete(f'/api/v1/rag/{rag}', headers=alice.headers)).status_code == 200
    assert (await client.delete(f'/api/v1/knowledge/{kb}', headers=alice.headers)).status_code == 200
    assert_problem(await client.get(f'/api/v1/knowledge/{kb}', headers=alice.headers), 404)


async def test_another_users_private_kb_and_rag_are_not_found(client, alice, bob) -> None:
    kb = await _ingested_kb(client, alice)
    rag = await _make_rag(client, alice, kb)
    doc = (await client.get(f'/api/v1/knowledge/{kb}/documents', headers=alice.headers)).json()['items'][0]['id']
    base = f'/api/v1/knowledge/{kb}'
    assert_problem(await client.get(base, headers=bob.headers), 404)
    assert_problem(await client.get(f'{base}/documents', headers=bob.headers), 404)
    assert_problem(await client.get(f'{base}/documents/{doc}', headers=bob.headers), 404)
    upload = await client.post(f'{base}/documents', files=_files({'mine.md': b'Bob was here.'}), headers=bob.headers)
    assert_problem(upload, 404)
    assert_problem(await client.post(f'{base}/ingest', headers=bob.headers), 404)
    assert_problem(await client.get(f'{base}/ingest', headers=bob.headers), 404)
    assert_problem(await client.post(f'{base}/ingest/cancel', headers=bob.headers), 404)
    assert_problem(await client.delete(f'{base}/documents/{doc}', headers=bob.headers), 404)
    assert_problem(await client.delete(base, headers=bob.headers), 404)
    question = {'question': 'Who carries packs?'}
    assert_problem(await client.get(f'/api/v1/rag/{rag}', headers=bob.headers), 404)
    assert_problem(await client.post(f'/api/v1/rag/{rag}/retrieve', json=question, headers=bob.headers), 404)
    assert_problem(await client.post(f'/api/v1/rag/{rag}/ask', json=question, headers=bob.headers), 404)
    streamed = await client.post(f'/api/v1/rag/{rag}/ask', json=question | {'stream': True}, headers=bob.headers)
    assert_problem(streamed, 404)
    assert_problem(await client.delete(f'/api/v1/rag/{rag}', headers=bob.headers), 404)
    stolen = {'name': 'Mine', 'kb_ids': [kb], 'chat_model': CHAT}
    assert_problem(await client.post('/api/v1/rag', json=stolen, headers=bob.headers), 404)
    assert (await client.get('/api/v1/knowledge', headers=bob.headers)).json()['total'] == 0
    assert (await client.get('/api/v1/rag', headers=bob.headers)).json()['total'] == 0
    assert await Document.filter(kb_id=kb).count() == 3
    assert not await ActivityEvent.filter(user_id=bob.id, action='rag_query').exists()


async def test_a_lying_extension_is_refused_and_stores_nothing(client, alice, services) -> None:
    kb = await _make_kb(client, alice)
    lying = _files({'notes.txt': files.pdf_bytes('other text')})
    refused = await client.post(f'/api/v1/knowledge/{kb}/documents', files=lying, headers=alice.headers)
    assert_problem(refused, 422, 'notes.txt')
    assert not await Document.filter(kb_id=kb).exists()
    uploads = services.knowledge.uploads_dir
    assert not uploads.exists() or not any(uploads.iterdir())
    mixed = _files({'good.md': files.MARKDOWN, 'notes.txt': files.pdf_bytes('other text')})
    partly = await client.post(f'/api/v1/knowledge/{kb}/documents', files=mixed, headers=alice.headers)
    assert partly.status_code == 201 and [r['ok'] for r in partly.json()] == [True, False]
    assert partly.json()[1]['message'] in refused.json()['detail']
    assert await Document.filter(kb_id=kb).count() == 1


async def test_a_revoked_token_is_refused(client, alice) -> None:
    kb = await _make_kb(client, alice)
    tokens = (await client.get('/api/v1/tokens', headers=alice.headers)).json()['items']
    assert (await client.delete(f'/api/v1/tokens/{tokens[0]["id"]}', headers=alice.headers)).status_code == 200
    for method, url in [
        ('GET', '/api/v1/knowledge'),
        ('GET', f'/api/v1/knowledge/{kb}'),
        ('POST', f'/api/v1/knowledge/{kb}/ingest'),
        ('GET', '/api/v1/rag'),
    ]:
        assert_problem(await client.request(method, url, headers=alice.headers), 401, 'revoked')


async def test_search_knowledge_tool_finds_passages_only_in_readable_kbs(client, alice, bob) -> None:
    kb = await _ingested_kb(client, alice)
    url = '/api/v1/tools/builtin/search_knowledge/call'
    arguments = {'knowledge_base_id': kb, 'query': 'What erupts lava?', 'top_k': 1}
    mine = await client.post(url, json={'arguments': arguments}, headers=alice.headers)
    assert mine.status_code == 200, mine.text
    result = mine.json()
    assert result['ok'] and result['result']['results'][0]['document'] == 'volcano.md'
    assert 'lava' in result['result']['results'][0]['text']
    theirs = await client.post(url, json={'arguments': arguments}, headers=bob.headers)
    assert theirs.status_code == 200, theirs.text  # a tool call that fails answers ok=false, as in the tool console
    assert not theirs.json()['ok'] and theirs.json()['error'] == 'Knowledge base not found.'
    assert theirs.json()['result'] is None


async def test_evaluation_and_quota(client, admin, alice) -> None:
    kb = await _ingested_kb(client, alice)
    rag = await _make_rag(client, alice, kb)
    questions = [
        {'question': 'Who carries packs in the Andes?', 'expected_document': 'llamas.md'},
        {'question': 'What erupts lava and ash?', 'expected_document': 'volcano.md', 'expected_keywords': ['lava']},
    ]
    body = {'name': 'Basics', 'questions': questions, 'answers': False}
    report = await client.post(f'/api/v1/rag/{rag}/evaluations', json=body, headers=alice.headers)
    assert report.status_code == 201, report.text
    assert report.json()['hit_rate'] == 1.0 and [r['hit'] for r in report.json()['results']] == [True, True]

    quota = {'user_id': alice.id, 'max_requests': 3}  # each of the 2 questions evaluated counted as one request
    assert (await client.post('/api/v1/quotas', json=quota, headers=admin.headers)).status_code == 200
    question = {'question': 'Who carries packs in the Andes?'}
    assert (await client.post(f'/api/v1/rag/{rag}/ask', json=question, headers=alice.headers)).status_code == 200
    refused = await client.post(f'/api/v1/rag/{rag}/ask', json=question, headers=alice.headers)
    assert_problem(refused, 429, 'daily request limit')
    streamed = await client.post(f'/api/v1/rag/{rag}/ask', json=question | {'stream': True}, headers=alice.headers)
    assert_problem(streamed, 429)
    assert_problem(await client.post(f'/api/v1/rag/{rag}/retrieve', json=question, headers=alice.headers), 429)
    assert await ActivityEvent.filter(user_id=alice.id, action='rag_query').count() == 1


async def test_ingest_progress_over_the_api_moves_between_0_and_100(client, alice, services, ollama_server) -> None:
    """`GET …/ingest` reads the job row: it is updated while the job runs (every PROGRESS_SECONDS), not only when
    documents become final at the flush, which comes once at the end of a job this size."""
    kb = await _make_kb(client, alice)
    docs = {f'note{i:03d}.md': f'Note {i}: llamas and alpacas graze in valley {i}.'.encode() for i in range(240)}
    for start in range(0, len(docs), 20):
        part = dict(list(docs.items())[start : start + 20])
        uploaded = await client.post(f'/api/v1/knowledge/{kb}/documents', files=_files(part), headers=alice.headers)
        assert uploaded.status_code == 201, uploaded.text
    services.ingest.batch_size = 16  # 15 /api/embed calls, two in flight, each slowed down by the test server
    ollama_server.embed_delay = 0.4
    try:
        started = await client.post(f'/api/v1/knowledge/{kb}/ingest', headers=alice.headers)
        assert started.status_code == 202, started.text
        seen = []
        for _ in range(600):
            job = (await client.get(f'/api/v1/knowledge/{kb}/ingest', headers=alice.headers)).json()
            seen.append(job['percent'])
            if job['finished']:
                break
            assert job['docs_done'] in (0, 240)  # documents become final all at once, at the flush (then 'done')
            await asyncio.sleep(0.05)
    finally:
        services.ingest.batch_size = 64
        ollama_server.embed_delay = 0.0
    assert job['state'] == 'done' and job['docs_done'] == 240 and seen[-1] == 100.0, job
    between = sorted({p for p in seen if 0 < p < 100})
    assert len(between) >= 2, seen  # intermediate values, rising
    assert seen == sorted(seen)
    assert await Document.filter(kb_id=kb, state='embedded').count() == 240
