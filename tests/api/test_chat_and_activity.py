"""/api/v1/chat (plain and NDJSON streaming), /api/v1/embeddings and /api/v1/activity."""

from __future__ import annotations

import json

from models import ActivityEvent
from tests.api.conftest import assert_problem


async def test_chat_is_answered_and_recorded(client, alice) -> None:
    body = {'model': 'llama3.2', 'messages': [{'role': 'user', 'content': 'Hello there'}]}
    response = await client.post('/api/v1/chat', json=body, headers=alice.headers)
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply['message']['role'] == 'assistant' and reply['message']['content']
    assert reply['completion_tokens'] > 0
    row = await ActivityEvent.get(user_id=alice.id, action='chat')
    assert row.model == 'llama3.2' and row.tokens == reply['prompt_tokens'] + reply['completion_tokens']
    assert row.latency_ms is not None and row.details['via'] == 'api'


async def test_chat_streams_ndjson(client, alice) -> None:
    body = {'model': 'llama3.2', 'stream': True, 'messages': [{'role': 'user', 'content': 'Hi'}]}
    response = await client.post('/api/v1/chat', json=body, headers=alice.headers)
    assert response.headers['content-type'].startswith('application/x-ndjson')
    chunks = [json.loads(line) for line in response.text.splitlines()]
    assert len(chunks) > 2 and chunks[-1]['done'] is True and chunks[-1]['completion_tokens'] > 0
    assert ''.join(c['message']['content'] for c in chunks)
    row = await ActivityEvent.get(user_id=alice.id, action='chat')
    assert row.details['stream'] is True and row.error is None and row.tokens


async def test_chat_with_tools_returns_tool_calls(client, alice) -> None:
    tool = {
        'type': 'function',
        'function': {
            'name': 'add',
            'parameters': {'type': 'object', 'properties': {'a': {'type': 'integer'}, 'b': {'type': 'integer'}}},
        },
    }
    body = {
        'model': 'llama3.2',
        'tools': [tool],
        'messages': [{'role': 'user', 'content': 'call add {"a": 1, "b": 2}'}],
    }
    reply = (await client.post('/api/v1/chat', json=body, headers=alice.headers)).json()
    assert reply['message']['tool_calls'] == [{'function': {'name': 'add', 'arguments': {'a': 1, 'b': 2}}}]


async def test_chat_errors(client, alice, ollama_server) -> None:
    body = {'model': 'no-such-model', 'messages': [{'role': 'user', 'content': 'Hi'}]}
    assert_problem(await client.post('/api/v1/chat', json=body, headers=alice.headers), 404, 'not available')
    body = {'model': 'no-such-model', 'stream': True, 'messages': [{'role': 'user', 'content': 'Hi'}]}
    assert_problem(await client.post('/api/v1/chat', json=body, headers=alice.headers), 404, 'not available')
    body = {'model': 'llama3.2', 'options': {'num_ctx': 1_000_000}, 'messages': [{'role': 'user', 'content': 'Hi'}]}
    assert_problem(await client.post('/api/v1/chat', json=body, headers=alice.headers), 422, 'num_ctx')
    body = {'model': 'llama3.2', 'messages': [{'role': 'user', 'content': 'x' * 1_000_001}]}
    assert_problem(await client.post('/api/v1/chat', json=body, headers=alice.headers), 422, 'too long')
    ollama_server.go_down()
    body = {'model': 'llama3.2', 'messages': [{'role': 'user', 'content': 'Hi'}]}
    assert_problem(await client.post('/api/v1/chat', json=body, headers=alice.headers), 502, 'not reachable')
    assert await ActivityEvent.filter(user_id=alice.id, action='chat', error__isnull=False).exists()


async def test_embeddings(client, alice) -> None:
    body = {'model': 'nomic-embed-text', 'input': ['red apples', 'green apples']}
    response = await client.post('/api/v1/embeddings', json=body, headers=alice.headers)
    assert response.status_code == 200, response.text
    data = response.json()
    assert len(data['embeddings']) == 2 and len(data['embeddings'][0]) == 768
    row = await ActivityEvent.get(user_id=alice.id, action='embed')
    assert row.model == 'nomic-embed-text' and row.details['inputs'] == 2


async def test_activity_is_own_unless_instructor(client, alice, bob, instructor) -> None:
    # an instructor reads the activity of the workshops they teach (tests/security/test_workshop_boundaries.py)
    created = await client.post('/api/v1/workshops', json={'title': 'Class'}, headers=instructor.headers)
    started = await client.post(f'/api/v1/workshops/{created.json()["id"]}/start', headers=instructor.headers)
    for who in (alice, bob):
        joined = {'code': started.json()['join_code']}
        assert (await client.post('/api/v1/workshops/join', json=joined, headers=who.headers)).status_code == 200
    body = {'model': 'llama3.2', 'messages': [{'role': 'user', 'content': 'Hello'}]}
    await client.post('/api/v1/chat', json=body, headers=alice.headers)
    await client.post('/api/v1/chat', json=body, headers=bob.headers)
    own = (await client.get('/api/v1/activity?action=chat', headers=alice.headers)).json()
    assert own['total'] == 1 and own['items'][0]['user_id'] == alice.id
    mine = (await client.get('/api/v1/activity', headers=alice.headers)).json()['items']  # chat and join: hers only
    assert len(mine) == 2 and {a['user_id'] for a in mine} == {alice.id}
    assert_problem(await client.get(f'/api/v1/activity?user_id={bob.id}', headers=alice.headers), 403)
    assert_problem(await client.get('/api/v1/activity?workshop_id=1', headers=alice.headers), 403)
    everyone = (await client.get('/api/v1/activity?action=chat', headers=instructor.headers)).json()
    assert everyone['total'] == 2
    bobs = (await client.get(f'/api/v1/activity?user_id={bob.id}&action=chat', headers=instructor.headers)).json()
    assert [a['user_id'] for a in bobs['items']] == [bob.id]
