"""AuthService: sign-up rules, the first admin, sign-in throttling and role checks against the database."""

from __future__ import annotations

import asyncio

import pytest

from models import Role, User
from services.core.auth import AuthService
from services.core.errors import Conflict, InvalidInput, NotAuthenticated, PermissionDenied, Throttled

PASSWORD = 'correct-horse-42'


async def test_first_signup_is_admin_and_the_rest_are_attendees(auth: AuthService) -> None:
    first = await auth.signup('ada@example.org', 'Ada', PASSWORD)
    second = await auth.signup('bob@example.org', 'Bob', PASSWORD)
    assert first.role == Role.ADMIN
    assert second.role == Role.ATTENDEE


async def test_concurrent_first_signups_make_exactly_one_admin(auth: AuthService) -> None:
    # a second service instance stands for a second worker: the in-process lock cannot serialise them
    other = AuthService(min_password_length=10, max_failures=3, window_seconds=60, signup_open_default=True)
    results = await asyncio.gather(
        *((auth if i % 2 else other).signup(f'user{i}@example.org', f'User {i}', PASSWORD) for i in range(8))
    )
    assert sum(r.role == Role.ADMIN for r in results) == 1
    assert await User.filter(role=Role.ADMIN).count() == 1


async def test_passwords_are_hashed_with_argon2id(auth: AuthService) -> None:
    await auth.signup('ada@example.org', 'Ada', PASSWORD)
    stored = await User.get(email='ada@example.org')
    assert stored.password_hash.startswith('$argon2id$')
    assert PASSWORD not in stored.password_hash


@pytest.mark.parametrize('password', ['short1', 'onlyletterslong', '1234567890123', ''])
async def test_weak_passwords_are_refused_with_the_rule(auth: AuthService, password: str) -> None:
    with pytest.raises(InvalidInput, match='at least 10 characters and contain a letter and a digit'):
        await auth.signup('ada@example.org', 'Ada', password)
    assert not await User.exists()


async def test_duplicate_email_is_refused_case_insensitively(auth: AuthService) -> None:
    await auth.signup('ada@example.org', 'Ada', PASSWORD)
    with pytest.raises(Conflict, match='already exists'):
        await auth.signup('  ADA@Example.org ', 'Ada again', PASSWORD)


async def test_closed_signup_refuses_new_accounts(auth: AuthService) -> None:
    admin = await auth.signup('ada@example.org', 'Ada', PASSWORD)
    await auth.set_signup_open(admin.id, False)
    with pytest.raises(PermissionDenied, match='Sign-up is closed'):
        await auth.signup('bob@example.org', 'Bob', PASSWORD)


async def test_wrong_passwords_slow_their_source_not_the_owner(auth: AuthService) -> None:
    """Threat T20: five wrong passwords from one address make that address wait; the owner elsewhere signs in."""
    await auth.signup('ada@example.org', 'Ada', PASSWORD)
    for _ in range(2):
        with pytest.raises(NotAuthenticated, match='Wrong email or password'):
            await auth.login('ada@example.org', 'wrong-password-1', '10.0.0.1')
    assert (await auth.login('ada@example.org', PASSWORD, '10.0.0.1')).email == 'ada@example.org'
    for _ in range(auth.pair_throttle.free):
        with pytest.raises(NotAuthenticated):
            await auth.login('ada@example.org', 'wrong-password-1', '10.0.0.2')
    with pytest.raises(Throttled, match=r'Too many failed sign-in attempts. Try again in \d+ seconds?\.'):
        await auth.login('ada@example.org', PASSWORD, '10.0.0.2')  # the guesser waits, even with the right one
    assert (await auth.login('ada@example.org', PASSWORD, '10.0.0.3')).email == 'ada@example.org'  # the owner: in


async def test_login_throttles_per_address_across_accounts(auth: AuthService) -> None:
    for i in range(auth.address_throttle.free):
        with pytest.raises(NotAuthenticated):
            await auth.login(f'nobody{i}@example.org', 'wrong-password-1', '192.0.2.7')
    with pytest.raises(Throttled):
        await auth.login('someone-else@example.org', 'wrong-password-1', '192.0.2.7')
    with pytest.raises(NotAuthenticated):  # another address is not affected
        await auth.login('someone-else@example.org', 'wrong-password-1', '192.0.2.8')


async def test_a_classroom_behind_one_address_signs_in_after_its_typos(auth: AuthService) -> None:
    """Thirty attendees behind one NAT address each mistype once: all of them still sign in."""
    for i in range(30):
        await auth.signup(f'student{i}@example.org', f'Student {i}', PASSWORD)
    for i in range(30):
        with pytest.raises(NotAuthenticated):
            await auth.login(f'student{i}@example.org', 'typo-password-1', '198.51.100.1')
    for i in range(30):
        assert (await auth.login(f'student{i}@example.org', PASSWORD, '198.51.100.1')).email


async def test_role_checks_read_the_database_every_time(auth: AuthService) -> None:
    admin = await auth.signup('ada@example.org', 'Ada', PASSWORD)
    bob = await auth.signup('bob@example.org', 'Bob', PASSWORD)
    await auth.set_role(admin.id, bob.id, Role.ADMIN)
    assert (await auth.require(bob.id, Role.ADMIN)).role == Role.ADMIN
    await auth.set_role(admin.id, bob.id, Role.ATTENDEE)
    with pytest.raises(PermissionDenied, match='needs the admin role'):
        await auth.require(bob.id, Role.ADMIN)
    with pytest.raises(PermissionDenied):
        await auth.set_role(bob.id, bob.id, Role.ADMIN)  # an attendee cannot promote themselves
    with pytest.raises(PermissionDenied):
        await auth.list_users(bob.id)


async def test_deactivated_users_cannot_sign_in_or_act(auth: AuthService) -> None:
    admin = await auth.signup('ada@example.org', 'Ada', PASSWORD)
    bob = await auth.signup('bob@example.org', 'Bob', PASSWORD)
    await auth.set_active(admin.id, bob.id, False)
    with pytest.raises(PermissionDenied, match='deactivated'):
        await auth.login('bob@example.org', PASSWORD)
    with pytest.raises(NotAuthenticated):
        await auth.require(bob.id)


async def test_last_admin_is_protected(auth: AuthService) -> None:
    admin = await auth.signup('ada@example.org', 'Ada', PASSWORD)
    with pytest.raises(Conflict, match='last active admin'):
        await auth.set_role(admin.id, admin.id, Role.ATTENDEE)
    with pytest.raises(Conflict, match='cannot deactivate your own account'):
        await auth.set_active(admin.id, admin.id, False)


async def test_admin_resets_password(auth: AuthService) -> None:
    admin = await auth.signup('ada@example.org', 'Ada', PASSWORD)
    bob = await auth.signup('bob@example.org', 'Bob', PASSWORD)
    await auth.reset_password(admin.id, bob.id, 'another-pass-9')
    assert (await auth.login('bob@example.org', 'another-pass-9')).id == bob.id
    with pytest.raises(NotAuthenticated):
        await auth.login('bob@example.org', PASSWORD)


async def test_a_request_reads_its_user_once_and_nothing_outlives_it(auth: AuthService) -> None:
    """Within one HTTP request the user is read once (the token check, then the services' checks); a change made in
    the request, a task the request started, or a long request all read the database again."""
    import asyncio

    from tortoise import connections

    from services.core.auth import UsersReadOncePerRequest, _UsersSeen

    admin = await auth.signup('ada@example.org', 'Ada', PASSWORD)
    bob = await auth.signup('bob@example.org', 'Bob', PASSWORD)
    seen_later: list = []

    async def endpoint(scope, receive, send) -> None:
        assert (await auth.get_user(bob.id)).role == Role.ATTENDEE
        # changed behind the service's back (another process): this request keeps what it read ...
        await connections.get('default').execute_query("UPDATE users SET role = 'instructor' WHERE id = ?", [bob.id])
        assert (await auth.get_user(bob.id)).role == Role.ATTENDEE
        # ... but a change made through the service in this request is seen at once
        await auth.set_role(admin.id, bob.id, Role.ADMIN)
        assert (await auth.get_user(bob.id)).role == Role.ADMIN

        async def later() -> None:
            await asyncio.sleep(0.05)
            await connections.get('default').execute_query('UPDATE users SET is_active = 0 WHERE id = ?', [bob.id])
            seen_later.append(await auth.get_user(bob.id))

        scope['task'] = asyncio.create_task(later())

    scope = {'type': 'http'}
    await UsersReadOncePerRequest(endpoint)(scope, None, None)
    await scope['task']
    assert seen_later == [None]  # the task outlived the request: it read the deactivation
    assert await auth.get_user(bob.id) is None  # and so does the next request

    stale = _UsersSeen()
    stale[admin.id] = ('a long-gone read', 0.0)
    assert stale.get_fresh(admin.id) == (False, 'a long-gone read')  # older than a second: read again
