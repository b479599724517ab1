"""The audit log: what gets written, and /api/v1/audit for admins (filters, pagination)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.core.errors import NotAuthenticated
from services.wiring import Services
from tests.api.conftest import PASSWORD, assert_problem


async def test_security_events_are_audited_and_filterable(client, admin, alice, bob, services: Services) -> None:
    await services.auth.login('alice@example.org', PASSWORD, '10.0.0.7')
    try:
        await services.auth.login('alice@example.org', 'wrong-password-1', '10.0.0.7')
    except NotAuthenticated:
        pass
    bobs = (await client.get('/api/v1/tokens', headers=bob.headers)).json()['items'][0]
    await client.delete(f'/api/v1/tokens/{bobs["id"]}', headers=alice.headers)  # another user's: 404
    await client.get('/api/v1/users', headers=alice.headers)  # 403
    await client.get('/api/v1/me', headers={'Authorization': 'Bearer owp_' + 'z' * 40})  # 401
    await client.put(f'/api/v1/users/{bob.id}/role', json={'role': 'instructor'}, headers=admin.headers)

    page = (await client.get('/api/v1/audit?limit=200', headers=admin.headers)).json()
    actions = {e['action'] for e in page['items']}
    assert {
        'sign_in',
        'sign_in_failed',
        'token_create',
        'request_refused',
        'permission_denied',
        'token_refused',
        'role_change',
    } <= actions
    assert page['total'] == len(page['items'])

    def only(action: str, **filters: str) -> list[dict]:
        return [e for e in page['items'] if e['action'] == action and all(e[k] == v for k, v in filters.items())]

    assert only('sign_in', user_email='alice@example.org', ip='10.0.0.7')
    assert only('sign_in_failed', target='alice@example.org', outcome='failed')
    refused = only('request_refused', user_id=alice.id)
    assert refused[0]['target'] == f'DELETE /api/v1/tokens/{bobs["id"]}' and refused[0]['details']['status'] == 404
    assert only('permission_denied', user_id=alice.id)[0]['details']['operation'] == 'list_users'
    assert len(only('permission_denied')) == 1  # not written twice (service and API)
    assert only('role_change', target='bob@example.org')[0]['details']['new'] == 'instructor'

    filtered = (await client.get(f'/api/v1/audit?action=sign_in&user_id={alice.id}', headers=admin.headers)).json()
    assert filtered['total'] == 1
    refusals = (await client.get('/api/v1/audit?outcome=refused', headers=admin.headers)).json()
    assert refusals['items'] and all(e['outcome'] == 'refused' for e in refusals['items'])
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace('+00:00', 'Z')
    later = await client.get('/api/v1/audit', params={'since': future}, headers=admin.headers)
    assert later.json()['total'] == 0
    earlier = await client.get(
        '/api/v1/audit', params={'until': future, 'limit': 2, 'offset': 1}, headers=admin.headers
    )
    assert len(earlier.json()['items']) == 2 and earlier.json()['offset'] == 1


async def test_audit_is_for_admins_only(client, instructor, alice) -> None:
    assert_problem(await client.get('/api/v1/audit', headers=alice.headers), 403)
    assert_problem(await client.get('/api/v1/audit', headers=instructor.headers), 403)
