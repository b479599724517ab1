"""/api/v1/users, /me, /hosts, /models: admin-only and instructor-only actions refused to attendees (threat T2)."""

from __future__ import annotations

import json

from models import AuditEntry
from services.wiring import Services
from tests.api.conftest import PASSWORD, assert_problem


async def test_admin_manages_users(client, admin, alice, services: Services) -> None:
    page = (await client.get('/api/v1/users?limit=1', headers=admin.headers)).json()
    assert page['total'] == 2 and len(page['items']) == 1 and page['limit'] == 1
    found = (await client.get('/api/v1/users?search=alice', headers=admin.headers)).json()
    assert [u['email'] for u in found['items']] == ['alice@example.org']
    created = await client.post(
        '/api/v1/users',
        json={'email': 'carol@example.org', 'display_name': 'Carol', 'password': PASSWORD},
        headers=admin.headers,
    )
    assert created.status_code == 201 and created.json()['role'] == 'attendee'
    carol = created.json()['id']
    dup = await client.post(
        '/api/v1/users',
        json={'email': 'carol@example.org', 'display_name': 'C', 'password': PASSWORD},
        headers=admin.headers,
    )
    assert_problem(dup, 409, 'already exists')
    role = await client.put(f'/api/v1/users/{carol}/role', json={'role': 'instructor'}, headers=admin.headers)
    assert role.json()['role'] == 'instructor'
    reset = await client.post(
        f'/api/v1/users/{carol}/password', json={'password': 'new-secret-99'}, headers=admin.headers
    )
    assert reset.status_code == 204
    assert (await services.auth.login('carol@example.org', 'new-secret-99')).id == carol
    assert (await client.post(f'/api/v1/users/{carol}/deactivate', headers=admin.headers)).json()['is_active'] is False
    assert (await client.post(f'/api/v1/users/{carol}/activate', headers=admin.headers)).json()['is_active'] is True
    assert_problem(await client.put('/api/v1/users/999/role', json={'role': 'admin'}, headers=admin.headers), 404)
    assert await AuditEntry.filter(action='role_change', target='carol@example.org').exists()


async def test_attendee_cannot_use_admin_actions(client, alice, bob) -> None:
    assert_problem(await client.get('/api/v1/users', headers=alice.headers), 403, 'admin role')
    new = {'email': 'eve@example.org', 'display_name': 'Eve', 'password': PASSWORD}
    assert_problem(await client.post('/api/v1/users', json=new, headers=alice.headers), 403)
    assert_problem(
        await client.put(f'/api/v1/users/{alice.id}/role', json={'role': 'admin'}, headers=alice.headers), 403
    )
    assert_problem(await client.post(f'/api/v1/users/{bob.id}/deactivate', headers=alice.headers), 403)
    assert_problem(await client.post(f'/api/v1/users/{bob.id}/activate', headers=alice.headers), 403)
    assert_problem(
        await client.post(f'/api/v1/users/{bob.id}/password', json={'password': 'x' * 12 + '1'}, headers=alice.headers),
        403,
    )
    me = (await client.get('/api/v1/me', headers=alice.headers)).json()
    assert me['role'] == 'attendee'  # nothing changed
    refused = await AuditEntry.filter(action='permission_denied', user_id=alice.id).count()
    assert refused == 6


async def test_me_and_usage(client, alice) -> None:
    me = (await client.get('/api/v1/me', headers=alice.headers)).json()
    assert me['email'] == 'alice@example.org' and me['display_name'] == 'Alice'
    assert (await client.get('/api/v1/me/usage', headers=alice.headers)).json() == []


async def test_hosts_and_models(client, alice, instructor, ollama_server) -> None:
    hosts = (await client.get('/api/v1/hosts', headers=alice.headers)).json()
    assert len(hosts) == 1 and hosts[0]['url'] == 'host 1'  # attendees do not learn the internal address
    assert (await client.get('/api/v1/hosts', headers=instructor.headers)).json()[0]['url'] == ollama_server.url
    models = (await client.get('/api/v1/models', headers=alice.headers)).json()
    names = {m['name'] for m in models['items']}
    assert {'llama3.2:latest', 'nomic-embed-text:latest'} <= names and models['total'] == len(names)


async def test_pull_and_delete_need_an_instructor(client, alice, instructor, ollama_server) -> None:
    assert_problem(await client.post('/api/v1/models/pull', json={'name': 'tinyllama'}, headers=alice.headers), 403)
    assert_problem(await client.delete('/api/v1/models/llama3.2:latest', headers=alice.headers), 403)
    response = await client.post('/api/v1/models/pull', json={'name': 'tinyllama'}, headers=instructor.headers)
    assert response.status_code == 200
    assert response.headers['content-type'].startswith('application/x-ndjson')
    lines = [json.loads(x) for x in response.text.splitlines()]
    assert lines[-1]['status'] == 'success'
    names = {m['name'] for m in (await client.get('/api/v1/models', headers=alice.headers)).json()['items']}
    assert 'tinyllama:latest' in names
    deleted = await client.delete('/api/v1/models/tinyllama:latest', headers=instructor.headers)
    assert deleted.status_code == 204
    names = {m['name'] for m in (await client.get('/api/v1/models', headers=alice.headers)).json()['items']}
    assert 'tinyllama:latest' not in names
    assert_problem(await client.delete('/api/v1/models/tinyllama:latest', headers=instructor.headers), 404)
    missing = await client.post('/api/v1/models/pull', json={'name': 'no-such-model'}, headers=instructor.headers)
    # Ollama starts the stream ("pulling manifest") before it finds out: the last NDJSON line carries the error
    assert 'file does not exist' in json.loads(missing.text.splitlines()[-1])['error']
    assert await AuditEntry.filter(action='model_pull', target='tinyllama:latest').exists()
    assert await AuditEntry.filter(action='model_delete', target='tinyllama:latest').exists()


async def test_validation_errors_are_problem_details(client, alice) -> None:
    response = await client.post('/api/v1/chat', json={'model': 'llama3.2'}, headers=alice.headers)
    assert_problem(response, 422, 'messages')
    response = await client.get('/api/v1/tokens?limit=1000', headers=alice.headers)
    assert_problem(response, 422, 'limit')


async def test_unknown_routes_and_methods_are_problem_details(client, alice) -> None:
    assert_problem(await client.get('/api/v1/nothing-here', headers=alice.headers), 404, 'documented at /docs')
    assert_problem(await client.patch('/api/v1/me', headers=alice.headers), 405, 'Method Not Allowed')
    gateway = await client.get('/v1/nothing-here', headers=alice.headers)
    assert gateway.status_code == 404 and gateway.json()['error']['type'] == 'not_found_error'
    page = await client.get('/auth/no-such-page')  # outside the API NiceGUI's own error page stays
    assert page.status_code == 404 and page.headers['content-type'].startswith('text/html')
