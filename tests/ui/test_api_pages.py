"""Pages of the API area: API tokens, My usage, Quotas and the Audit log."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing import User

from services.core.errors import NotAuthenticated
from services.wiring import Services
from tests.ui.conftest import sign_in


async def test_attendee_creates_copies_and_revokes_a_token(user: User, services: Services, make_account) -> None:
    await make_account('ada@example.org', 'Ada')
    alice = await make_account('alice@example.org', 'Alice')
    await sign_in(user, 'alice@example.org')
    await user.open('/tokens')
    await user.should_see('You have no tokens yet')
    user.find(marker='token-create').click()
    await user.should_see('Give the token a name')
    user.find(marker='token-name').type('notebook')
    user.find(marker='token-create').click()
    await user.should_see('it will not be shown again', retries=30)
    secret = user.find(marker='token-secret').elements.pop().text
    assert secret.startswith('owp_')
    assert (await services.tokens.authenticate(secret))[0].id == alice
    user.find(marker='token-copy').click()
    await user.should_see('Token copied')
    await user.should_see('notebook')
    user.find(marker='revoke-notebook').click()
    await user.should_see('Revoke "notebook"?')
    user.find(marker='confirm').click()
    await user.should_see('Token revoked.', retries=30)
    await user.should_see('revoked')
    with pytest.raises(NotAuthenticated):
        await services.tokens.authenticate(secret)
    await user.open('/tokens')
    await user.should_not_see('it will not be shown again')  # shown once only
    await user.should_not_see(secret)


async def test_usage_page_shows_own_quota(user: User, services: Services, make_account) -> None:
    admin = await make_account('ada@example.org', 'Ada')
    alice = await make_account('alice@example.org', 'Alice')
    await sign_in(user, 'alice@example.org')
    await user.open('/usage')
    await user.should_see('No limits apply to you')
    await services.quotas.set_quota(admin, user_id=alice, max_requests=5)
    await services.inference.chat(alice, model='llama3.2', messages=[{'role': 'user', 'content': 'Hi'}])
    await user.open('/usage')
    await user.should_see('Requests: 1 of 5')
    await user.should_see('It resets at')
    await user.should_see('llama3.2')


async def test_instructor_sets_a_quota_for_their_workshop_only(
    user: User, create_user, services: Services, make_account
) -> None:
    admin = await make_account('ada@example.org', 'Ada')
    ivan = await make_account('ivan@example.org', 'Ivan', role='instructor')
    olga = await make_account('olga@example.org', 'Olga', role='instructor')
    await make_account('alice@example.org', 'Alice')
    mine = await services.workshops.create(ivan, 'Ivans class')
    theirs = await services.workshops.create(olga, 'Olgas class')
    await services.quotas.set_quota(olga, workshop_id=theirs.id, max_tokens=777)
    await services.quotas.set_quota(admin, user_email='alice@example.org', max_requests=50)
    await sign_in(user, 'ivan@example.org')
    await user.open('/quotas')
    await user.should_see('No quotas on your workshops yet.')
    await user.should_not_see('777')  # another instructor's workshop quota
    await user.should_not_see('alice@example.org')  # a single person's quota: admins only
    [picker] = user.find(marker='quota-ws').elements
    assert isinstance(picker, ui.select) and picker.options == {mine.id: f'Ivans class (#{mine.id})'}
    await user.should_not_see(marker='quota-scope')  # no per-person quota form for instructors
    await user.should_not_see(marker='quota-email')
    user.find(marker='quota-req').type('3')
    user.find(marker='quota-save').click()
    await user.should_see('Quota saved.', retries=30)
    await user.should_see('Workshop Ivans class')
    await user.should_see('3 requests per day')
    assert [(q.workshop_id, q.max_requests) for q in await services.quotas.list_quotas(ivan)] == [(mine.id, 3)]

    await make_account('nina@example.org', 'Nina', role='instructor')
    newcomer = create_user()  # an instructor who runs no workshop yet: no form, a hint instead
    await sign_in(newcomer, 'nina@example.org')
    await newcomer.open('/quotas')
    await newcomer.should_see('You run no workshop yet.')
    await newcomer.should_not_see(marker='quota-save')
    await newcomer.should_not_see('777')

    attendee = create_user()
    await sign_in(attendee, 'alice@example.org')
    await attendee.open('/quotas')
    await attendee.should_see('This page needs the instructor role.')
    await attendee.open('/')
    await attendee.should_see('API tokens')
    await attendee.should_not_see('Audit log')


async def test_admin_sets_a_quota_for_one_person(user: User, services: Services, make_account) -> None:
    await make_account('ada@example.org', 'Ada')
    alice = await make_account('alice@example.org', 'Alice')
    await sign_in(user, 'ada@example.org')
    await user.open('/quotas')
    await user.should_see('No quotas yet')
    only = user.find(marker='quota-scope').elements.pop()
    only.value = 'user'
    user.find(marker='quota-email').type('nobody@example.org')
    user.find(marker='quota-req').type('3')
    user.find(marker='quota-save').click()
    await user.should_see('There is no account with the email nobody@example.org.', retries=30)
    user.find(marker='quota-email').clear().type('alice@example.org')
    user.find(marker='quota-save').click()
    await user.should_see('Quota saved.', retries=30)
    await user.should_see('3 requests per day (everywhere)')
    assert [u.max_requests for u in await services.quotas.usage(alice)] == [3]


async def test_admin_filters_the_audit_log(user: User, services: Services, make_account) -> None:
    await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    await services.tokens.create(bob, 'bob script')
    with pytest.raises(NotAuthenticated):
        await services.auth.login('bob@example.org', 'wrong-password-9')
    await sign_in(user, 'ada@example.org')
    await user.open('/admin/audit')
    await user.should_see('1–3 of 3')  # the token, the failed and the successful sign-in

    def actions() -> set[str]:
        table = user.find(marker='audit-table').elements.pop()
        assert isinstance(table, ui.table)
        return {r['action'] for r in table.rows}

    assert {'sign_in_failed', 'token_create', 'sign_in'} <= actions()
    user.find(marker='audit-action').click()
    user.find('token create').click()
    await user.should_see('1–1 of 1', retries=30)
    assert actions() == {'token_create'}
    user.find(marker='audit-user').type('nobody-matches')
    await user.should_see('No entries match these filters.', retries=30)
