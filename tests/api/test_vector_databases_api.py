"""/api/v1/vector-databases: everyone signed in lists them, only admins add (connection tested) and delete them, a
token is never echoed; knowledge bases choose one with vector_db_id and move with PATCH (a rebuild job starts)."""

from __future__ import annotations

import asyncio

from tests.api.conftest import assert_problem
from tests.ui.test_vector_stores import free_port, milvus_server  # noqa: F401 (a fixture)

TOKEN = 'root:api-secret-token-7'
EMBED = 'nomic-embed-text:latest'


async def test_list_create_delete_and_permissions(client, admin, alice, milvus_server: str) -> None:  # noqa: F811
    listed = await client.get('/api/v1/vector-databases', headers=alice.headers)
    assert listed.status_code == 200, listed.text
    assert listed.json() == [
        {
            'id': None,
            'name': 'Built-in (Milvus Lite)',
            'uri': listed.json()[0]['uri'],
            'has_token': False,
            'knowledge_bases': 0,
            'builtin': True,
        }
    ]
    assert (await client.get('/api/v1/vector-databases')).status_code == 401

    body = {'name': 'Team Milvus', 'uri': milvus_server, 'token': TOKEN}
    assert_problem(await client.post('/api/v1/vector-databases', json=body, headers=alice.headers), 403)
    nowhere = body | {'uri': f'http://127.0.0.1:{free_port()}'}
    assert_problem(await client.post('/api/v1/vector-databases', json=nowhere, headers=admin.headers), 422, 'connect')
    bad = body | {'uri': 'ftp://files.example.org'}
    assert_problem(await client.post('/api/v1/vector-databases', json=bad, headers=admin.headers), 422, 'Milvus')

    created = await client.post('/api/v1/vector-databases', json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    assert created.json()['has_token'] and 'token' not in created.json() and TOKEN not in created.text
    db = created.json()['id']
    assert_problem(await client.post('/api/v1/vector-databases', json=body, headers=admin.headers), 409)
    listed = await client.get('/api/v1/vector-databases', headers=alice.headers)
    assert [d['name'] for d in listed.json()] == ['Built-in (Milvus Lite)', 'Team Milvus']
    assert TOKEN not in listed.text and 'secret' not in listed.text

    choice = {'name': 'Nature', 'embedding_model': EMBED, 'vector_db_id': db}
    kb = await client.post('/api/v1/knowledge', json=choice, headers=alice.headers)
    assert kb.status_code == 201 and kb.json()['vector_db_id'] == db, kb.text
    missing = {'name': 'Other', 'embedding_model': EMBED, 'vector_db_id': db + 100}
    assert_problem(await client.post('/api/v1/knowledge', json=missing, headers=alice.headers), 422, 'does not exist')

    assert_problem(await client.delete(f'/api/v1/vector-databases/{db}', headers=alice.headers), 403)
    assert_problem(await client.delete(f'/api/v1/vector-databases/{db}', headers=admin.headers), 409, 'holds')
    assert (await client.delete(f'/api/v1/knowledge/{kb.json()["id"]}', headers=alice.headers)).status_code == 200
    assert (await client.delete(f'/api/v1/vector-databases/{db}', headers=admin.headers)).json() == {'ok': True}
    assert_problem(await client.delete(f'/api/v1/vector-databases/{db}', headers=admin.headers), 404)


async def test_moving_a_knowledge_base_with_patch(client, services, admin, alice, milvus_server: str) -> None:  # noqa: F811
    body = {'name': 'Team Milvus', 'uri': milvus_server}
    db = (await client.post('/api/v1/vector-databases', json=body, headers=admin.headers)).json()['id']
    new = {'name': 'Nature', 'embedding_model': EMBED}
    created = await client.post('/api/v1/knowledge', json=new, headers=alice.headers)
    kb = created.json()['id']
    files = [('files', ('llamas.md', b'Llamas carry packs.', 'text/markdown'))]
    uploaded = await client.post(f'/api/v1/knowledge/{kb}/documents', files=files, headers=alice.headers)
    assert uploaded.status_code == 201, uploaded.text
    assert_problem(await client.patch(f'/api/v1/knowledge/{kb}', json={'vector_db_id': db}, headers=admin.headers), 404)

    moved = await client.patch(f'/api/v1/knowledge/{kb}', json={'vector_db_id': db}, headers=alice.headers)
    assert moved.status_code == 200, moved.text
    assert moved.json()['vector_db_id'] == db and moved.json()['job']['state'] in ('queued', 'running', 'done')
    await services.ingest.wait(moved.json()['job']['job_id'])
    for _ in range(100):
        job = (await client.get(f'/api/v1/knowledge/{kb}/ingest', headers=alice.headers)).json()
        if job['finished']:
            break
        await asyncio.sleep(0.05)
    assert job['state'] == 'done' and job['docs_done'] == 1, job
    assert (await services.knowledge.collection_stats(alice.id, kb)).entities == 1
    assert not (await services.vectors.stats(f'kb_{kb}')).exists

    renamed = await client.patch(f'/api/v1/knowledge/{kb}', json={'name': 'Animals'}, headers=alice.headers)
    assert renamed.json()['name'] == 'Animals' and renamed.json()['job'] is None
    assert not renamed.json()['reembed_needed'] and renamed.json()['vector_db_id'] == db
