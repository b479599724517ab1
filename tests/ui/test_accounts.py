"""Accounts and roles as a user experiences them in the browser (simulated)."""

from __future__ import annotations

from nicegui.testing import User

from services.wiring import Services
from tests.ui.conftest import PASSWORD, sign_in, sign_up


async def test_first_account_becomes_admin_and_sees_admin_navigation(user: User) -> None:
    await sign_up(user, 'Ada', 'ada@example.org')
    await user.should_see('Signed in as ada@example.org (admin)')
    await user.should_see('Users')  # admin navigation entry
    await user.open('/admin/users')
    await user.should_see('ada@example.org')


async def test_second_account_is_attendee_without_admin_navigation(user: User, make_account) -> None:
    await make_account('root@example.org', 'Root')
    await sign_up(user, 'Bob', 'bob@example.org')
    await user.should_see('attendee')
    await user.should_not_see('Users')
    await user.open('/admin/users')
    await user.should_see('This page needs the admin role.')
    await user.should_not_see('root@example.org')


async def test_login_wrong_password_and_logout(user: User, make_account) -> None:
    await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org', 'not-the-password-1', ok=False)
    await user.should_see(retries=30, target='Wrong email or password.')
    await sign_in(user, 'ada@example.org')
    await user.should_see('Welcome, Ada')
    await user.open('/logout')  # a GET (any link) only offers the sign-out form; the POST is in tests/security
    await user.should_see('Sign out of this browser?')
    await user.open('/')
    await user.should_see('Welcome, Ada')


async def test_pages_need_a_session(user: User) -> None:
    await user.open('/admin/users')
    await user.should_see('Sign in')
    await user.should_not_see('Open sign-up')


async def test_signup_errors_are_clear(user: User, make_account) -> None:
    await make_account('taken@example.org', 'Taken')
    await user.open('/signup')
    user.find(marker='name').type('Eve')
    user.find(marker='email').type('taken@example.org')
    user.find(marker='password').type('short')
    user.find(marker='password-confirm').type('short')
    user.find(marker='submit').click()
    await user.should_see(
        retries=30, target='Password must be at least 10 characters and contain a letter and a digit.'
    )
    user.find(marker='password').clear().type(PASSWORD)
    user.find(marker='password-confirm').clear().type(PASSWORD)
    user.find(marker='submit').click()
    await user.should_see(retries=30, target='An account with this email already exists. Sign in instead.')
    user.find(marker='email').clear().type('not-an-email')
    user.find(marker='submit').click()
    await user.should_see('Please enter a valid email address')


async def test_disabled_signup_is_explained(user: User, services: Services, make_account) -> None:
    admin = await make_account('ada@example.org', 'Ada')
    await services.auth.set_signup_open(admin, False)
    await user.open('/signup')
    await user.should_see('Sign-up is closed')
    await user.open('/login')
    await user.should_not_see('Create an account')


async def test_deactivated_account_cannot_sign_in(user: User, services: Services, make_account) -> None:
    admin = await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    await services.auth.set_active(admin, bob, False)
    await sign_in(user, 'bob@example.org', ok=False)
    await user.should_see(retries=30, target='This account has been deactivated. Ask an admin to reactivate it.')


async def test_login_is_throttled_after_repeated_failures(user: User, make_account) -> None:
    await make_account('ada@example.org', 'Ada')
    for _ in range(5):
        await sign_in(user, 'ada@example.org', 'wrong-password-1', ok=False)
        await user.should_see(retries=30, target='Wrong email or password.')
    await sign_in(user, 'ada@example.org', ok=False)  # even the right password waits now
    await user.should_see(retries=30, target='Too many failed sign-in attempts')
