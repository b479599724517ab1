"""Issue 14 item 11: a deactivated account's API tokens are refused at once; other accounts keep working."""

from __future__ import annotations

from tests.api.conftest import assert_problem


async def test_a_deactivated_accounts_api_tokens_are_refused(client, admin, alice) -> None:
    assert (await client.get('/api/v1/me', headers=alice.headers)).status_code == 200
    response = await client.post(f'/api/v1/users/{alice.id}/deactivate', headers=admin.headers)
    assert response.status_code == 200
    assert_problem(await client.get('/api/v1/me', headers=alice.headers), 401)
    assert (await client.get('/api/v1/me', headers=admin.headers)).status_code == 200
