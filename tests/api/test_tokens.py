"""Personal API tokens: create (shown once), list, revoke, expiry; bearer only; stored hashed (threat T5)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from models import ApiToken
from services.wiring import Services
from tests.api.conftest import assert_problem


async def test_create_list_and_use_a_token(client, alice, services: Services) -> None:
    response = await client.post(
        '/api/v1/tokens', json={'name': 'notebook', 'expires_in_days': 30}, headers=alice.headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    secret = body['secret']
    assert secret.startswith('owp_') and len(secret) == 44
    assert body['token']['prefix'] == secret[:12]
    row = await ApiToken.get(id=body['token']['id'])
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()  # stored hashed
    assert secret not in str(await ApiToken.all().values())  # never stored in clear
    listed = await client.get('/api/v1/tokens', headers={'Authorization': f'Bearer {secret}'})
    assert listed.status_code == 200
    page = listed.json()
    assert page['total'] == 2 and {t['name'] for t in page['items']} == {'tests', 'notebook'}
    assert all('secret' not in t for t in page['items'])  # the secret is shown only once
    me = await client.get('/api/v1/me', headers={'Authorization': f'Bearer {secret}'})
    assert me.json()['email'] == 'alice@example.org'


async def test_missing_malformed_and_unknown_tokens_are_401(client, alice) -> None:
    assert_problem(await client.get('/api/v1/me'), 401, 'Authorization: Bearer')
    assert_problem(await client.get('/api/v1/me', headers={'Authorization': 'Bearer nope'}), 401, 'not a valid')
    fake = {'Authorization': 'Bearer owp_' + 'x' * 40}
    response = await client.get('/api/v1/me', headers=fake)
    assert_problem(response, 401, 'not valid')
    assert response.headers['www-authenticate'] == 'Bearer'


async def test_tokens_in_the_query_string_are_refused(client, alice) -> None:
    for name in ('access_token', 'token', 'api_key'):
        response = await client.get(f'/api/v1/me?{name}={alice.token}')
        assert_problem(response, 401, 'never in the URL')
        # even together with a valid header: the token has leaked, refuse it
        response = await client.get(f'/api/v1/me?{name}={alice.token}', headers=alice.headers)
        assert_problem(response, 401, 'never in the URL')
    response = await client.get(f'/v1/models?api_key={alice.token}')
    assert response.status_code == 401
    assert 'never in the URL' in response.json()['error']['message']


async def test_revoked_token_stops_working_at_once(client, alice) -> None:
    assert (await client.get('/api/v1/me', headers=alice.headers)).status_code == 200
    tokens = (await client.get('/api/v1/tokens', headers=alice.headers)).json()['items']
    response = await client.delete(f'/api/v1/tokens/{tokens[0]["id"]}', headers=alice.headers)
    assert response.status_code == 200 and response.json()['revoked_at']
    assert_problem(await client.get('/api/v1/me', headers=alice.headers), 401, 'revoked')
    gateway = await client.get('/v1/models', headers=alice.headers)
    assert gateway.status_code == 401 and 'revoked' in gateway.json()['error']['message']


async def test_expired_token_is_401(client, alice, services: Services) -> None:
    await ApiToken.filter(user_id=alice.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert_problem(await client.get('/api/v1/me', headers=alice.headers), 401, 'expired')


async def test_deactivated_or_demoted_users_token_follows_the_database(client, admin, instructor) -> None:
    response = await client.get('/api/v1/quotas', headers=instructor.headers)
    assert response.status_code == 200
    await client.put(f'/api/v1/users/{instructor.id}/role', json={'role': 'attendee'}, headers=admin.headers)
    assert_problem(await client.get('/api/v1/quotas', headers=instructor.headers), 403, 'instructor role')
    await client.post(f'/api/v1/users/{instructor.id}/deactivate', headers=admin.headers)
    assert_problem(await client.get('/api/v1/me', headers=instructor.headers), 401, 'deactivated')


async def test_another_users_token_cannot_be_revoked(client, alice, bob) -> None:
    bobs = (await client.get('/api/v1/tokens', headers=bob.headers)).json()['items'][0]
    assert_problem(await client.delete(f'/api/v1/tokens/{bobs["id"]}', headers=alice.headers), 404, 'No such token')
    assert (await client.get('/api/v1/me', headers=bob.headers)).status_code == 200  # nothing changed


async def test_invalid_token_requests(client, alice) -> None:
    assert_problem(await client.post('/api/v1/tokens', json={'name': ''}, headers=alice.headers), 422, 'name')
    response = await client.post('/api/v1/tokens', json={'name': 'x', 'expires_in_days': 0}, headers=alice.headers)
    assert_problem(response, 422)


async def test_a_token_made_with_a_token_cannot_outlive_it(client, alice, services: Services) -> None:
    """A leaked token must not mint tokens that survive its revocation or expiry (threat T5)."""
    parent = await services.tokens.create(alice.id, 'short-lived', expires_in_days=5)
    as_parent = {'Authorization': f'Bearer {parent.secret}'}
    response = await client.post('/api/v1/tokens', json={'name': 'child', 'expires_in_days': 365}, headers=as_parent)
    assert response.status_code == 201, response.text
    child = response.json()
    assert datetime.fromisoformat(child['token']['expires_at']) == parent.token.expires_at  # capped at the parent's
    as_child = {'Authorization': f'Bearer {child["secret"]}'}
    response = await client.post('/api/v1/tokens', json={'name': 'grandchild'}, headers=as_child)
    grandchild = response.json()
    assert datetime.fromisoformat(grandchild['token']['expires_at']) == parent.token.expires_at
    as_grandchild = {'Authorization': f'Bearer {grandchild["secret"]}'}
    assert (await client.get('/api/v1/me', headers=as_grandchild)).status_code == 200

    # the owner finds the leak and revokes the parent (here with another token of theirs): all three stop at once
    assert (await client.delete(f'/api/v1/tokens/{parent.token.id}', headers=alice.headers)).status_code == 200
    for headers in (as_parent, as_child, as_grandchild):
        assert_problem(await client.get('/api/v1/me', headers=headers), 401, 'revoked')
    assert (await client.get('/api/v1/me', headers=alice.headers)).status_code == 200  # unrelated tokens keep working
    statuses = {t.name: t.status(datetime.now(UTC)) for t in await services.tokens.list(alice.id)}
    assert statuses == {'tests': 'active', 'short-lived': 'revoked', 'child': 'revoked', 'grandchild': 'revoked'}


async def test_last_used_reaches_the_tokens_list(client, alice, services) -> None:
    """A token's "last used" time reaches the tokens list. It is written after the request (not on the path to a
    model's first token), the uses of a moment in one query, and shutdown writes what is still waiting."""
    made = [
        (await client.post('/api/v1/tokens', json={'name': f'laptop {i}'}, headers=alice.headers)).json()
        for i in range(5)
    ]
    before = datetime.now(UTC)
    for token in made:
        assert (
            await client.get('/api/v1/me', headers={'Authorization': f'Bearer {token["secret"]}'})
        ).status_code == 200
    ids = [t['token']['id'] for t in made]
    await services.tokens.flush()  # what shutdown does (and the background writer, a second later)
    listed = {t['id']: t for t in (await client.get('/api/v1/tokens', headers=alice.headers)).json()['items']}
    for token_id in ids:
        used = datetime.fromisoformat(listed[token_id]['last_used_at'])
        assert before - timedelta(seconds=1) <= used <= datetime.now(UTC)
