"""Admin pages and role changes taking effect."""

from __future__ import annotations

from collections.abc import Callable

from nicegui.testing import User

from services.wiring import Services
from tests.ui.conftest import PASSWORD, sign_in


async def test_admin_creates_a_user_who_can_sign_in(user: User, create_user: Callable[[], User], make_account) -> None:
    await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await user.open('/admin/users')
    user.find('New user').click()
    user.find(marker='new-name').type('Carol')
    user.find(marker='new-email').type('carol@example.org')
    user.find(marker='new-password').type(PASSWORD)
    user.find(marker='new-create').click()
    await user.should_see('Account for Carol created.')
    await user.should_see('carol@example.org')
    carol = create_user()
    await sign_in(carol, 'carol@example.org')
    await carol.should_see('Welcome, Carol')


async def test_role_change_takes_effect_on_the_users_next_action(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    admin_id = await make_account('ada@example.org', 'Ada')
    bob_id = await make_account('bob@example.org', 'Bob', role='admin')
    bob = create_user()
    await sign_in(bob, 'bob@example.org')
    await bob.open('/admin/users')
    await bob.should_see('Open sign-up')
    # while Bob's page is open, Ada demotes him
    await services.auth.set_role(admin_id, bob_id, 'attendee')
    bob.find('Open sign-up').click()  # his next action from the page he still has open
    await bob.should_see('This needs the admin role; you are signed in as attendee.')
    assert await services.auth.signup_open() is True  # nothing changed
    # the role change rotated Bob's session: a real browser's open page passes through a fresh sign-in
    # (tests/security/test_session_fixation.py::test_a_role_change_rotates_the_session); the simulated browser does not
    # follow it, so its old session id is simply no longer signed in and grants neither role
    await bob.open('/admin/users')
    await bob.should_see('Sign in')


async def test_admin_changes_role_resets_password_and_deactivates(user: User, services: Services, make_account) -> None:
    await make_account('ada@example.org', 'Ada')
    bob_id = await make_account('bob@example.org', 'Bob')
    await sign_in(user, 'ada@example.org')
    await user.open('/admin/users')
    user.find(marker='role-bob@example.org').click()
    user.find('Instructor').click()
    await user.should_see('Bob is now instructor.', retries=20)
    assert (await services.auth.get_user(bob_id)).role.value == 'instructor'

    user.find(marker='reset-bob@example.org').click()
    user.find(marker='reset-password').type('short')
    user.find('Set password').click()
    await user.should_see('Password must be at least 10 characters', retries=20)
    user.find(marker='reset-password').clear().type('brand-new-pass-7')
    user.find('Set password').click()
    await user.should_see('Password of Bob was reset.', retries=30)
    assert (await services.auth.login('bob@example.org', 'brand-new-pass-7')).id == bob_id

    user.find(marker='active-bob@example.org').click()
    await user.should_see('Deactivate Bob?')
    user.find(marker='confirm').click()
    await user.should_see('Bob deactivated.', retries=20)
    assert await services.auth.get_user(bob_id) is None  # an inactive user is nobody


async def test_last_admin_cannot_be_demoted(user: User, services: Services, make_account) -> None:
    admin_id = await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await user.open('/admin/users')
    await user.should_see('ada@example.org')
    try:
        await services.auth.set_role(admin_id, admin_id, 'attendee')
    except Exception as exc:
        assert 'last active admin' in str(exc)
    else:
        raise AssertionError('demoting the last admin must fail')


async def test_admin_sets_the_ranges_of_model_options(user: User, services: Services, make_account) -> None:
    await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await user.open('/admin/users')
    user.find('Ranges of model options').click()
    await user.should_see('and keep_alive are for instructors and admins only', retries=20)
    user.find(marker='cap-num_ctx').clear().type('1000000')
    user.find(marker='caps-save').click()
    await user.should_see('The highest "num_ctx" must be between 256 and 131,072 on this platform.', retries=20)
    assert (await services.option_caps.current()).num_ctx == 32768  # nothing changed
    user.find(marker='cap-num_ctx').clear().type('4096')
    user.find(marker='cap-temperature').clear().type('1')
    user.find(marker='caps-save').click()
    await user.should_see('The ranges of model options are saved.', retries=20)
    caps = await services.option_caps.current()
    assert (caps.num_ctx, caps.temperature, caps.top_k) == (4096, 1.0, 1000)
    await user.open('/admin/users')  # shown as saved
    assert user.find(marker='cap-num_ctx').elements.pop().value == 4096
