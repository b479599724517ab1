"""The REST API over conversations, prompts and runs, tools and workshops: happy paths through the same services the
pages use; another user's private object answers 404 (T1), an attendee calling an instructor action 403 (T2), a
revoked token 401 (T5)."""

from __future__ import annotations

import json

from models import ActivityEvent, AuditEntry, Conversation, Prompt, Tool
from tests.api.conftest import assert_problem

PROMPT = {
    'name': 'Summarise',
    'user_template': 'Summarise in {{ words }} words: {{ text }}',
    'variables': [{'name': 'words', 'type': 'number', 'default': 10}, {'name': 'text', 'type': 'text'}],
    'default_model': 'llama3.2',
}
TOOL = {'name': 'weather', 'description': 'The weather', 'kind': 'static', 'config': {'response': {'sky': 'clear'}}}


# ----- conversations -----------------------------------------------------------------------------------------------
async def test_conversation_send_is_saved_and_recorded(client, alice) -> None:
    created = await client.post('/api/v1/conversations', json={'model': 'llama3.2'}, headers=alice.headers)
    assert created.status_code == 201, created.text
    cid = created.json()['id']
    reply = await client.post(f'/api/v1/conversations/{cid}/messages', json={'content': 'Hello'}, headers=alice.headers)
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert data['content'] and data['error'] is None and data['metrics']['output_tokens'] > 0
    view = (await client.get(f'/api/v1/conversations/{cid}', headers=alice.headers)).json()
    assert [m['role'] for m in view['messages']] == ['user', 'assistant']
    assert view['messages'][1]['content'] == data['content'] and view['title'] == 'Hello'
    row = await ActivityEvent.get(user_id=alice.id, action='chat')
    assert row.details['conversation_id'] == cid and row.tokens

    body = {'content': 'Again', 'stream': True}
    streamed = await client.post(f'/api/v1/conversations/{cid}/messages', json=body, headers=alice.headers)
    assert streamed.headers['content-type'].startswith('application/x-ndjson')
    chunks = [json.loads(line) for line in streamed.text.splitlines()]
    assert chunks[-1]['done'] is True and chunks[-1]['reply']['content']
    assert ''.join(c['content'] for c in chunks[:-1]) == chunks[-1]['reply']['content']
    assert len((await Conversation.get(id=cid)).messages) == 4

    renamed = await client.patch(f'/api/v1/conversations/{cid}', json={'title': 'Greetings'}, headers=alice.headers)
    assert renamed.status_code == 200 and renamed.json()['title'] == 'Greetings'
    await client.post('/api/v1/conversations', json={'model': 'llama3.2'}, headers=alice.headers)
    listed = (await client.get('/api/v1/conversations?limit=1&offset=1', headers=alice.headers)).json()
    assert listed['total'] == 2 and [c['id'] for c in listed['items']] == [cid]
    assert listed['items'][0]['message_count'] == 4 and listed['items'][0]['title'] == 'Greetings'
    deleted = await client.delete(f'/api/v1/conversations/{cid}', headers=alice.headers)
    assert deleted.status_code == 200 and not await Conversation.exists(id=cid)


async def test_another_users_conversation_is_not_found(client, alice, bob) -> None:
    cid = (await client.post('/api/v1/conversations', json={'model': 'llama3.2'}, headers=alice.headers)).json()['id']
    url = f'/api/v1/conversations/{cid}'
    assert_problem(await client.get(url, headers=bob.headers), 404)
    assert_problem(await client.patch(url, json={'title': 'Mine now'}, headers=bob.headers), 404)
    assert_problem(await client.post(f'{url}/messages', json={'content': 'Hi'}, headers=bob.headers), 404)
    assert_problem(
        await client.post(f'{url}/messages', json={'content': 'Hi', 'stream': True}, headers=bob.headers), 404
    )
    assert_problem(await client.delete(url, headers=bob.headers), 404)
    assert (await client.get('/api/v1/conversations', headers=bob.headers)).json()['total'] == 0
    row = await Conversation.get(id=cid)
    assert row.title == 'New conversation' and row.messages == []


async def test_conversation_errors(client, alice) -> None:
    embedder = await client.post('/api/v1/conversations', json={'model': 'nomic-embed-text'}, headers=alice.headers)
    assert_problem(embedder, 422, 'embedding model')
    missing = await client.post('/api/v1/conversations', json={'model': 'no-such-model'}, headers=alice.headers)
    url = f'/api/v1/conversations/{missing.json()["id"]}/messages'
    assert_problem(await client.post(url, json={'content': 'Hi'}, headers=alice.headers), 404, 'not available')
    saved = (await Conversation.get(id=missing.json()['id'])).messages
    assert saved[-1]['error_kind'] == 'model_not_found'  # kept as a failed reply, as in the playground
    cid = (await client.post('/api/v1/conversations', json={'model': 'llama3.2'}, headers=alice.headers)).json()['id']
    assert_problem(await client.patch(f'/api/v1/conversations/{cid}', json={'title': ' '}, headers=alice.headers), 422)
    assert_problem(await client.post(f'/api/v1/conversations/{cid}/messages', json={}, headers=alice.headers), 422)


# ----- prompts and runs --------------------------------------------------------------------------------------------
async def test_prompt_lifecycle_runs_and_export(client, alice) -> None:
    created = await client.post('/api/v1/prompts', json=PROMPT, headers=alice.headers)
    assert created.status_code == 201, created.text
    pid = created.json()['id']
    assert created.json()['current']['variables'][0]['name'] == 'words'
    changed = {**PROMPT, 'user_template': 'Briefly, in {{ words }} words: {{ text }}', 'message': 'Shorter'}
    saved = await client.put(f'/api/v1/prompts/{pid}', json=changed, headers=alice.headers)
    assert saved.status_code == 200 and saved.json()['current_version'] == 2
    versions = (await client.get(f'/api/v1/prompts/{pid}/versions', headers=alice.headers)).json()
    assert [v['number'] for v in versions] == [2, 1] and versions[0]['message'] == 'Shorter'

    run = await client.post(f'/api/v1/prompts/{pid}/runs', json={'values': {'text': 'apples'}}, headers=alice.headers)
    assert run.status_code == 201, run.text
    assert run.json()['user_prompt'] == 'Briefly, in 10 words: apples' and run.json()['output']
    assert run.json()['model'] == 'llama3.2' and run.json()['error'] is None
    runs = (await client.get(f'/api/v1/prompts/{pid}/runs', headers=alice.headers)).json()
    assert [r['id'] for r in runs] == [run.json()['id']]
    bad = await client.post(f'/api/v1/prompts/{pid}/runs', json={'values': {'words': 'many'}}, headers=alice.headers)
    assert_problem(bad, 422)

    fork = await client.post(f'/api/v1/prompts/{pid}/fork', headers=alice.headers)
    assert fork.status_code == 201 and fork.json()['forked_from_id'] == pid
    exported = (await client.get(f'/api/v1/prompts/{pid}/export', headers=alice.headers)).json()
    assert exported['format'] == 'ollama-workshop-prompt' and len(exported['versions']) == 2
    imported = await client.post('/api/v1/prompts/import', json=exported, headers=alice.headers)
    assert imported.status_code == 201 and imported.json()['current_version'] == 2
    assert_problem(await client.post('/api/v1/prompts/import', json={'name': 'x'}, headers=alice.headers), 422)
    assert (await client.get('/api/v1/prompts?mine=true', headers=alice.headers)).json()['total'] == 3
    assert (await client.delete(f'/api/v1/prompts/{pid}', headers=alice.headers)).status_code == 200
    assert not await Prompt.exists(id=pid)


async def test_another_users_prompt_is_not_found(client, alice, bob) -> None:
    pid = (await client.post('/api/v1/prompts', json=PROMPT, headers=alice.headers)).json()['id']
    url = f'/api/v1/prompts/{pid}'
    for response in [
        await client.get(url, headers=bob.headers),
        await client.put(url, json={**PROMPT, 'name': 'Taken'}, headers=bob.headers),
        await client.delete(url, headers=bob.headers),
        await client.get(f'{url}/versions', headers=bob.headers),
        await client.post(f'{url}/runs', json={'values': {'text': 'x'}}, headers=bob.headers),
        await client.get(f'{url}/runs', headers=bob.headers),
        await client.post(f'{url}/fork', headers=bob.headers),
        await client.get(f'{url}/export', headers=bob.headers),
    ]:
        assert_problem(response, 404)
    assert (await client.get('/api/v1/prompts', headers=bob.headers)).json()['total'] == 0
    row = await Prompt.get(id=pid)
    assert row.name == 'Summarise' and row.current_version == 1


async def test_a_public_prompt_can_be_read_and_forked_but_not_changed(client, alice, bob) -> None:
    pid = (await client.post('/api/v1/prompts', json={**PROMPT, 'visibility': 'public'}, headers=alice.headers)).json()[
        'id'
    ]
    assert (await client.get(f'/api/v1/prompts/{pid}', headers=bob.headers)).json()['can_edit'] is False
    assert_problem(await client.put(f'/api/v1/prompts/{pid}', json=PROMPT, headers=bob.headers), 403, 'owner')
    assert_problem(await client.delete(f'/api/v1/prompts/{pid}', headers=bob.headers), 403, 'owner')
    fork = await client.post(f'/api/v1/prompts/{pid}/fork', headers=bob.headers)
    assert fork.status_code == 201 and fork.json()['owner_id'] == bob.id and fork.json()['visibility'] == 'private'


# ----- tools -------------------------------------------------------------------------------------------------------
async def test_tool_lifecycle_and_console(client, alice) -> None:
    builtins = (await client.get('/api/v1/tools/builtin', headers=alice.headers)).json()
    assert 'calculator' in {t['name'] for t in builtins}
    calc = await client.post(
        '/api/v1/tools/builtin/calculator/call', json={'arguments': {'expression': '6*7'}}, headers=alice.headers
    )
    assert calc.status_code == 200 and calc.json()['ok'] is True and '42' in json.dumps(calc.json()['result'])

    created = await client.post('/api/v1/tools', json=TOOL, headers=alice.headers)
    assert created.status_code == 201, created.text
    tid = created.json()['id']
    assert created.json()['ref'] == f'tool:{tid}' and created.json()['can_edit'] is True
    called = await client.post(f'/api/v1/tools/{tid}/call', json={'arguments': {}}, headers=alice.headers)
    assert called.status_code == 200 and called.json() | {'duration_ms': 0} == {
        'name': 'weather',
        'arguments': {},
        'ok': True,
        'result': {'sky': 'clear'},
        'error': None,
        'duration_ms': 0,
    }
    assert await ActivityEvent.exists(user_id=alice.id, action='tool_call')
    assert_problem(await client.post('/api/v1/tools', json=TOOL, headers=alice.headers), 409)
    assert_problem(await client.post('/api/v1/tools', json={**TOOL, 'description': ''}, headers=alice.headers), 422)
    updated = await client.put(f'/api/v1/tools/{tid}', json={**TOOL, 'name': 'sky'}, headers=alice.headers)
    assert updated.status_code == 200 and updated.json()['name'] == 'sky'
    assert (await client.get('/api/v1/tools', headers=alice.headers)).json()['total'] == 1
    assert (await client.delete(f'/api/v1/tools/{tid}', headers=alice.headers)).status_code == 200
    assert not await Tool.exists(id=tid)


async def test_a_failing_tool_call_answers_the_error(client, alice) -> None:
    tool = {**TOOL, 'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}, 'required': ['city']}}
    tid = (await client.post('/api/v1/tools', json=tool, headers=alice.headers)).json()['id']
    called = await client.post(f'/api/v1/tools/{tid}/call', json={'arguments': {}}, headers=alice.headers)
    assert called.status_code == 200 and called.json()['ok'] is False and 'city' in called.json()['error']


async def test_another_users_tool_is_not_found(client, alice, bob) -> None:
    tid = (await client.post('/api/v1/tools', json=TOOL, headers=alice.headers)).json()['id']
    url = f'/api/v1/tools/{tid}'
    assert_problem(await client.get(url, headers=bob.headers), 404)
    assert_problem(await client.put(url, json={**TOOL, 'name': 'mine'}, headers=bob.headers), 404)
    assert_problem(await client.post(f'{url}/call', json={'arguments': {}}, headers=bob.headers), 404)
    assert_problem(await client.delete(url, headers=bob.headers), 404)
    assert (await client.get('/api/v1/tools', headers=bob.headers)).json()['total'] == 0
    assert (await Tool.get(id=tid)).name == 'weather'
    assert not await ActivityEvent.exists(user_id=bob.id, action='tool_call')


# ----- workshops ---------------------------------------------------------------------------------------------------
async def _live_workshop(client, instructor) -> dict:
    created = await client.post('/api/v1/workshops', json={'title': 'Prompting 101'}, headers=instructor.headers)
    assert created.status_code == 201, created.text
    started = await client.post(f'/api/v1/workshops/{created.json()["id"]}/start', headers=instructor.headers)
    assert started.status_code == 200 and started.json()['state'] == 'live'
    return started.json()


async def test_workshop_join_activity_announcements_and_export(client, instructor, alice) -> None:
    workshop = await _live_workshop(client, instructor)
    wid, code = workshop['id'], workshop['join_code']
    assert code and workshop['can_manage'] is True
    joined = await client.post('/api/v1/workshops/join', json={'code': code.lower()}, headers=alice.headers)
    assert joined.status_code == 200, joined.text
    assert joined.json() == {'user_id': alice.id, 'workshop_id': wid, 'created_account': False}
    seen = (await client.get(f'/api/v1/workshops/{wid}', headers=alice.headers)).json()
    assert seen['title'] == 'Prompting 101' and seen['join_code'] == '' and seen['can_manage'] is False
    assert [w['id'] for w in (await client.get('/api/v1/workshops', headers=alice.headers)).json()['items']] == [wid]
    assert_problem(await client.post('/api/v1/workshops/join', json={'code': 'ZZZZZZ'}, headers=alice.headers), 404)

    feed = (await client.get(f'/api/v1/workshops/{wid}/activity', headers=instructor.headers)).json()
    assert feed['total'] >= 1 and feed['items'][0]['action'] == 'workshop_join'
    assert feed['items'][0]['user_id'] == alice.id
    said = await client.post(
        f'/api/v1/workshops/{wid}/announcements', json={'text': 'Break until 11'}, headers=instructor.headers
    )
    assert said.status_code == 201 and said.json()['text'] == 'Break until 11'
    exported = (await client.get(f'/api/v1/workshops/{wid}/export', headers=instructor.headers)).json()
    assert exported['workshop']['title'] == 'Prompting 101'
    assert [a['user_id'] for a in exported['attendees']] == [alice.id]


async def test_attendees_cannot_run_workshops(client, instructor, alice) -> None:
    assert_problem(await client.post('/api/v1/workshops', json={'title': 'Mine'}, headers=alice.headers), 403)
    wid = (await _live_workshop(client, instructor))['id']
    code = (await client.get(f'/api/v1/workshops/{wid}', headers=instructor.headers)).json()['join_code']
    await client.post('/api/v1/workshops/join', json={'code': code}, headers=alice.headers)
    url = f'/api/v1/workshops/{wid}'
    assert_problem(await client.get(f'{url}/activity', headers=alice.headers), 403)
    assert_problem(await client.post(f'{url}/announcements', json={'text': 'Go home'}, headers=alice.headers), 403)
    assert_problem(await client.get(f'{url}/export', headers=alice.headers), 403)
    assert_problem(await client.post(f'{url}/end', headers=alice.headers), 403)
    assert (await client.get(url, headers=instructor.headers)).json()['state'] == 'live'
    assert await AuditEntry.exists(user_id=alice.id, outcome='refused')  # refused attempts are audited


async def test_another_instructors_workshop_is_not_found(client, instructor, account, bob) -> None:
    other = await account('olga@example.org', 'instructor', 'Olga')
    wid = (await _live_workshop(client, instructor))['id']
    url = f'/api/v1/workshops/{wid}'
    for who in (other, bob):
        assert_problem(await client.get(url, headers=who.headers), 404)
    assert_problem(await client.get(f'{url}/activity', headers=other.headers), 404)
    assert_problem(await client.post(f'{url}/announcements', json={'text': 'Hi'}, headers=other.headers), 404)
    assert_problem(await client.get(f'{url}/export', headers=other.headers), 404)
    assert_problem(await client.post(f'{url}/end', headers=other.headers), 404)
    assert (await client.get('/api/v1/workshops', headers=other.headers)).json()['total'] == 0


# ----- tokens ------------------------------------------------------------------------------------------------------
async def test_a_revoked_token_is_refused_everywhere(client, alice) -> None:
    cid = (await client.post('/api/v1/conversations', json={'model': 'llama3.2'}, headers=alice.headers)).json()['id']
    tokens = (await client.get('/api/v1/tokens', headers=alice.headers)).json()['items']
    assert (await client.delete(f'/api/v1/tokens/{tokens[0]["id"]}', headers=alice.headers)).status_code == 200
    for method, url in [
        ('GET', '/api/v1/conversations'),
        ('POST', f'/api/v1/conversations/{cid}/messages'),
        ('GET', '/api/v1/prompts'),
        ('GET', '/api/v1/tools'),
        ('GET', '/api/v1/workshops'),
    ]:
        response = await client.request(method, url, json={'content': 'Hi'}, headers=alice.headers)
        assert_problem(response, 401, 'revoked')
    assert (await Conversation.get(id=cid)).messages == []


# ----- quotas ------------------------------------------------------------------------------------------------------
async def test_conversations_and_prompt_runs_count_against_the_same_quotas(client, admin, alice) -> None:
    quota = {'user_id': alice.id, 'max_requests': 2}  # a quota for one person: admins set it
    assert (await client.post('/api/v1/quotas', json=quota, headers=admin.headers)).status_code == 200
    cid = (await client.post('/api/v1/conversations', json={'model': 'llama3.2'}, headers=alice.headers)).json()['id']
    pid = (await client.post('/api/v1/prompts', json=PROMPT, headers=alice.headers)).json()['id']
    url = f'/api/v1/conversations/{cid}/messages'
    assert (await client.post(url, json={'content': 'One'}, headers=alice.headers)).status_code == 200
    run = await client.post(f'/api/v1/prompts/{pid}/runs', json={'values': {'text': 'x'}}, headers=alice.headers)
    assert run.status_code == 201
    refused = await client.post(url, json={'content': 'Two'}, headers=alice.headers)
    assert_problem(refused, 429, 'daily request limit')
    assert 'Retry-After' in refused.headers
    assert_problem(await client.post(url, json={'content': 'Two', 'stream': True}, headers=alice.headers), 429)
    runs = f'/api/v1/prompts/{pid}/runs'
    assert_problem(await client.post(runs, json={'values': {'text': 'x'}}, headers=alice.headers), 429)
    assert len((await Conversation.get(id=cid)).messages) == 2  # the refused message was not stored
    assert len((await client.get(runs, headers=alice.headers)).json()) == 1
