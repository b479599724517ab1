"""The REST API of hybrid retrieval (issue 19): a RAG system's retrieval settings, the passages' ranks per retriever,
a knowledge base created without keyword search and re-indexed for it (202, progress), refusals with reasons."""

from __future__ import annotations

import asyncio

from tests.api.conftest import assert_problem
from tests.api.test_knowledge_api import CHAT, DOCS, EMBED, _files


async def _kb(client, who, **extra) -> int:
    created = await client.post('/api/v1/knowledge', json={'name': 'Nature', 'embedding_model': EMBED} | extra,
                                headers=who.headers)  # fmt: skip
    assert created.status_code == 201, created.text
    kb = created.json()['id']
    assert created.json()['keyword_index'] is extra.get('keyword_search', True)
    await client.post(f'/api/v1/knowledge/{kb}/documents', files=_files(DOCS), headers=who.headers)
    await client.post(f'/api/v1/knowledge/{kb}/ingest', headers=who.headers)
    for _ in range(200):
        if (await client.get(f'/api/v1/knowledge/{kb}/ingest', headers=who.headers)).json()['finished']:
            break
        await asyncio.sleep(0.05)
    return kb


async def test_hybrid_settings_and_ranks_over_the_api(client, alice) -> None:
    kb = await _kb(client, alice)
    body = {'name': 'Hybrid', 'kb_ids': [kb], 'chat_model': CHAT, 'top_k': 2, 'retrieval_mode': 'hybrid',
            'fusion': 'weighted', 'dense_weight': 0.4}  # fmt: skip
    created = await client.post('/api/v1/rag', json=body, headers=alice.headers)
    assert created.status_code == 201, created.text
    rag = created.json()
    settings = (rag['retrieval_mode'], rag['fusion'], rag['dense_weight'], rag['rerank'])
    assert settings == ('hybrid', 'weighted', 0.4, False)
    found = await client.post(f'/api/v1/rag/{rag["id"]}/retrieve', json={'question': 'Which rivers do salmon swim?'},
                              headers=alice.headers)  # fmt: skip
    assert found.status_code == 200, found.text
    top = found.json()['passages'][0]
    assert found.json()['mode'] == 'hybrid (weighted)' and top['document_name'] == 'salmon.md'
    assert top['dense_rank'] == 1 and top['keyword_rank'] == 1 and top['fused_score'] == 1.0
    bad = await client.post('/api/v1/rag', json=body | {'retrieval_mode': 'fuzzy'}, headers=alice.headers)
    assert_problem(bad, 422)


async def test_reindex_over_the_api(client, alice, bob) -> None:
    kb = await _kb(client, alice, keyword_search=False)
    assert_problem(await client.get(f'/api/v1/knowledge/{kb}/reindex', headers=alice.headers), 404, 'not been')
    assert_problem(await client.post(f'/api/v1/knowledge/{kb}/reindex', headers=bob.headers), 404)
    started = await client.post(f'/api/v1/knowledge/{kb}/reindex', headers=alice.headers)
    assert started.status_code == 202, started.text
    for _ in range(200):
        job = (await client.get(f'/api/v1/knowledge/{kb}/reindex', headers=alice.headers)).json()
        if job['finished']:
            break
        await asyncio.sleep(0.05)
    assert job['state'] == 'done' and job['rows_done'] == job['rows_total'] == 3 and job['percent'] == 100.0, job
    assert (await client.get(f'/api/v1/knowledge/{kb}', headers=alice.headers)).json()['keyword_index'] is True
    again = await client.post(f'/api/v1/knowledge/{kb}/reindex', headers=alice.headers)
    assert_problem(again, 409, 'already has keyword search')
