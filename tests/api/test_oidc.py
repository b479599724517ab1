"""OIDC sign-in end to end against a provider double on loopback (state, nonce, PKCE; threat T13)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from nicegui import app

from models import AuditEntry, ExternalIdentity, User
from services.wiring import Services
from tests.oidc_provider import OidcProvider


@pytest.fixture
def idp(monkeypatch: pytest.MonkeyPatch) -> Iterator[OidcProvider]:
    """The provider, configured through the environment before the app starts (request it before `user`)."""
    with OidcProvider(client_id='platform', client_secret='test-client-secret') as provider:
        monkeypatch.setenv('OIDC_DISCOVERY_URL', provider.discovery_url)
        monkeypatch.setenv('OIDC_CLIENT_ID', 'platform')
        monkeypatch.setenv('OIDC_CLIENT_SECRET', 'test-client-secret')
        monkeypatch.setenv('OIDC_NAME', 'Example ID')
        monkeypatch.setenv('OIDC_ROLE_CLAIM', 'groups')
        monkeypatch.setenv('OIDC_ROLE_MAP', 'teachers=instructor,ops=admin')
        yield provider


def browser() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url='http://test')


async def start(web: httpx.AsyncClient) -> str:
    """Start the sign-in; follow the provider's redirect. Returns the callback path (with code and state)."""
    response = await web.get('/auth/oidc/login?next=/tokens')
    assert response.status_code == 302
    authorize = response.headers['location']
    query = parse_qs(urlsplit(authorize).query)
    assert query['code_challenge_method'] == ['S256'] and query['nonce'] and query['state']  # PKCE, nonce, state
    async with httpx.AsyncClient() as real:  # the provider is a real HTTP server on loopback
        back = await real.get(authorize)
    assert back.status_code == 302
    callback = urlsplit(back.headers['location'])
    assert callback.path == '/auth/oidc/callback'
    return f'{callback.path}?{callback.query}'


async def signed_in(web: httpx.AsyncClient) -> bool:
    response = await web.get('/')
    return response.status_code == 200  # the auth middleware redirects to /login otherwise


async def login_error(web: httpx.AsyncClient) -> str:
    page = await web.get('/login')
    return page.text


async def test_sign_in_creates_and_links_an_account(idp: OidcProvider, user, services: Services) -> None:
    await services.auth.signup('first@example.org', 'First', 'correct-horse-42')  # the admin
    idp.next_user = {
        'sub': 'u-42',
        'email': 'Ada@Example.org',
        'email_verified': True,
        'name': 'Ada',
        'groups': ['teachers'],
    }
    async with browser() as web:
        response = await web.get(await start(web))
        assert response.status_code == 303 and response.headers['location'] == '/tokens'
        assert await signed_in(web)
    ada = await User.get(email='ada@example.org')
    assert ada.role == 'instructor' and ada.password_hash is None  # role from the claim; no local password
    assert await ExternalIdentity.filter(provider='oidc', subject='u-42', user_id=ada.id).exists()
    assert idp.token_requests[0]['code_verifier']  # PKCE verifier sent
    # the second sign-in finds the identity (even if the email changed at the provider)
    idp.next_user = {**idp.next_user, 'email': 'ada.new@example.org', 'groups': []}
    async with browser() as web:
        await web.get(await start(web))
        assert await signed_in(web)
    assert await User.all().count() == 2
    assert await AuditEntry.filter(action='sso_sign_in', user_id=ada.id).count() == 2


async def test_links_existing_account_by_verified_email(idp: OidcProvider, user, services: Services) -> None:
    info = await services.auth.signup('ada@example.org', 'Ada', 'correct-horse-42')
    idp.next_user = {'sub': 'u-1', 'email': 'ada@example.org', 'email_verified': True}
    async with browser() as web:
        await web.get(await start(web))
        assert await signed_in(web)
    assert (await ExternalIdentity.get(subject='u-1')).user_id == info.id
    assert (await services.auth.login('ada@example.org', 'correct-horse-42')).id == info.id  # password still works


async def test_unverified_email_is_refused(idp: OidcProvider, user, services: Services) -> None:
    await services.auth.signup('ada@example.org', 'Ada', 'correct-horse-42')
    idp.next_user = {'sub': 'attacker', 'email': 'ada@example.org', 'email_verified': False}
    async with browser() as web:
        response = await web.get(await start(web))
        assert response.headers['location'] == '/login'
        assert not await signed_in(web)
        assert 'is not verified' in await login_error(web)
    assert not await ExternalIdentity.exists()
    refused = await AuditEntry.get(action='sso_refused')
    assert refused.details['reason'] == 'unverified_email' and refused.target == 'ada@example.org'


async def test_bad_state_is_refused(idp: OidcProvider, user, services: Services) -> None:
    async with browser() as web:
        callback = await start(web)
        forged = callback.replace('state=', 'state=forged')
        response = await web.get(forged)
        assert response.headers['location'] == '/login'
        assert not await signed_in(web)
        assert 'could not be verified' in await login_error(web)
    async with browser() as other:  # a callback started in another browser (login CSRF) is refused too
        await other.get(callback)
        assert not await signed_in(other)
    assert not await User.exists()
    assert idp.token_requests == []  # the code was never even redeemed


async def test_replayed_code_is_refused(idp: OidcProvider, user, services: Services) -> None:
    async with browser() as web:
        callback = await start(web)
        await web.get(callback)
        assert await signed_in(web)
    async with browser() as web:
        fresh = await start(web)  # a new state in this session, but the old, already used code
        old_code = parse_qs(urlsplit(callback).query)['code'][0]
        new_state = parse_qs(urlsplit(fresh).query)['state'][0]
        response = await web.get(f'/auth/oidc/callback?code={old_code}&state={new_state}')
        assert response.headers['location'] == '/login'
        assert not await signed_in(web)
        assert 'did not complete' in await login_error(web)
    async with browser() as web:  # the very same callback again in its own session: the state was used up
        await web.get(callback)
        assert not await signed_in(web)


async def test_login_page_shows_the_provider_button(idp: OidcProvider, user) -> None:
    await user.open('/login')
    await user.should_see('Sign in with Example ID')


async def test_github_sign_in(services_env_github, user, services: Services) -> None:
    idp = services_env_github
    idp.next_user = {'sub': '4242', 'email': 'octo@example.org', 'email_verified': True, 'name': 'Octo'}
    async with browser() as web:
        response = await web.get('/auth/github/login')
        authorize = response.headers['location']
        assert authorize.startswith(f'{idp.url}/login/oauth/authorize') and 'code_challenge=' in authorize
        async with httpx.AsyncClient() as real:
            back = await real.get(authorize)
        callback = urlsplit(back.headers['location'])
        assert callback.path == '/auth/github/callback'
        done = await web.get(f'{callback.path}?{callback.query}')
        assert done.status_code == 303
        assert await signed_in(web)
    octo = await User.get(email='octo@example.org')
    assert await ExternalIdentity.filter(provider='github', subject='4242', user_id=octo.id).exists()
    # GitHub says the primary email is not verified: refused
    idp.next_user = {'sub': '777', 'email': 'octo@example.org', 'email_verified': False}
    async with browser() as web:
        response = await web.get('/auth/github/login')
        async with httpx.AsyncClient() as real:
            back = await real.get(response.headers['location'])
        callback = urlsplit(back.headers['location'])
        await web.get(f'{callback.path}?{callback.query}')
        assert not await signed_in(web)
        assert 'GitHub says your email address octo@example.org is not verified' in await login_error(web)


@pytest.fixture
def services_env_github(monkeypatch: pytest.MonkeyPatch) -> Iterator[OidcProvider]:
    with OidcProvider(client_id='gh-client', client_secret='gh-secret') as provider:
        monkeypatch.setenv('GITHUB_CLIENT_ID', 'gh-client')
        monkeypatch.setenv('GITHUB_CLIENT_SECRET', 'gh-secret')
        monkeypatch.setenv('GITHUB_URL', provider.url)
        monkeypatch.setenv('GITHUB_API_URL', provider.url)
        yield provider


async def test_a_planted_session_is_not_signed_in(idp: OidcProvider, user, services: Services) -> None:
    async with browser() as attacker:
        await attacker.get('/login')
        planted = attacker.cookies.get('session')  # the attacker's session, planted in the victim's browser
        async with browser() as victim:
            victim.cookies = httpx.Cookies(attacker.cookies)
            await victim.get(await start(victim))
            assert await signed_in(victim)
            assert victim.cookies.get('session') != planted
        assert not await signed_in(attacker)  # the planted session id did not become signed in


async def test_closed_sign_up_refuses_an_unknown_identity(idp: OidcProvider, user, services: Services) -> None:
    """Issue 14 item 12: with sign-up closed, single sign-on makes no account; a linked account still signs in."""
    admin = await services.auth.signup('first@example.org', 'First', 'correct-horse-42')
    idp.next_user = {'sub': 'known', 'email': 'kim@example.org', 'email_verified': True, 'name': 'Kim'}
    async with browser() as web:
        await web.get(await start(web))
        assert await signed_in(web)  # open sign-up: Kim's account is made and linked
    await services.auth.set_signup_open(admin.id, False)
    idp.next_user = {'sub': 'stranger', 'email': 'eve@example.org', 'email_verified': True, 'name': 'Eve'}
    async with browser() as web:
        response = await web.get(await start(web))
        assert response.headers['location'] == '/login' and not await signed_in(web)
        assert 'Sign-up is closed on this platform' in await login_error(web)
    assert not await User.filter(email='eve@example.org').exists()
    assert (await AuditEntry.get(action='sso_refused')).details['reason'] == 'signup_closed'
    idp.next_user = {'sub': 'known', 'email': 'kim@example.org', 'email_verified': True, 'name': 'Kim'}
    async with browser() as web:
        await web.get(await start(web))
        assert await signed_in(web)  # a linked account is not a sign-up


async def test_the_first_sso_user_is_not_silently_admin(idp: OidcProvider, user, services: Services) -> None:
    idp.next_user = {'sub': 'u-1', 'email': 'first@example.org', 'email_verified': True, 'name': 'First'}
    async with browser() as web:
        await web.get(await start(web))
        assert await signed_in(web)
    assert (await User.get(email='first@example.org')).role == 'attendee'  # SSO_FIRST_USER_ADMIN is off
