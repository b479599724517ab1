"""Open redirect after sign-in (threat T19): `next=` leads only to a same-origin path, on every sign-in path."""

from __future__ import annotations

import asyncio
from urllib.parse import quote, urlsplit

import httpx
import pytest
from nicegui.testing import User

from services.core.auth import safe_next
from services.wiring import Services
from tests.api.test_oidc import browser, idp, signed_in, start  # noqa: F401  (idp is a fixture)
from tests.ui.conftest import PASSWORD

OFF_SITE = [
    '/\t/other-host',  # /%09/other-host, what the sweep used: browsers drop the tab -> //other-host
    '/\n/other-host',
    '/\r\n/other-host',
    '/%09/other-host',  # double-encoded: arrives as %09
    '/%2509/other-host',
    '//other-host',
    '///other-host',
    '/\\other-host',
    '\\\\other-host',
    '/\\/other-host',
    'https://other-host/',
    'javascript:alert(1)',
    'other-host',
    '/\u3000/other-host',
    '/\x00/other-host',
    '/\x7f/other-host',
    '',
]


@pytest.mark.parametrize('target', OFF_SITE)
def test_off_site_targets_become_the_home_page(target: str) -> None:
    assert safe_next(target) == '/'


def test_same_site_paths_are_kept_and_normalised() -> None:
    assert safe_next('/tokens') == '/tokens'
    assert safe_next('/workshops/3?tab=steps#live') == '/workshops/3?tab=steps#live'
    assert safe_next('/a/../..//tokens') == '/tokens'  # normalised, cannot climb into `//host`
    assert safe_next('/.//other-host') == '/other-host'  # a path on this site, not a host


async def test_password_sign_in_with_a_tab_trick_stays_on_site(user: User, services: Services) -> None:
    await services.auth.signup('ada@example.org', 'Ada', PASSWORD)
    await user.open('/login?next=' + quote('/\t/other-host', safe=''))
    user.find(marker='email').type('ada@example.org')
    user.find(marker='password').type(PASSWORD)
    user.find(marker='submit').click()
    await user.should_see('Welcome', retries=50)
    assert _landed(user) == '/'


async def test_password_sign_in_keeps_a_same_site_next(user: User, services: Services) -> None:
    await services.auth.signup('ada@example.org', 'Ada', PASSWORD)
    await user.open('/login?next=/tokens')
    user.find(marker='email').type('ada@example.org')
    user.find(marker='password').type(PASSWORD)
    user.find(marker='submit').click()
    for _ in range(50):
        if _landed(user) == '/tokens':
            break
        await asyncio.sleep(0.1)
    assert _landed(user) == '/tokens'


def _landed(user: User) -> str:
    """The page the browser shows after the sign-in (which passes through /auth/complete, an HTTP redirect)."""
    return user.client.page.path if user.client is not None else ''


async def start_with(web: httpx.AsyncClient, target: str) -> str:
    """Start a single sign-on with this `next`, as a link from another site would; returns the callback path."""
    response = await web.get('/auth/oidc/login', params={'next': target})
    assert response.status_code == 302
    async with httpx.AsyncClient() as real:  # the provider is a real HTTP server on loopback
        back = await real.get(response.headers['location'])
    callback = urlsplit(back.headers['location'])
    return f'{callback.path}?{callback.query}'


@pytest.mark.parametrize('target', ['/\t/other-host', '//other-host', '/\\other-host', 'https://other-host'])
async def test_single_sign_on_stays_on_site(idp, user, services: Services, target: str) -> None:  # noqa: F811
    await services.auth.signup('first@example.org', 'First', PASSWORD)
    idp.next_user = {'sub': 'u-7', 'email': 'ada@example.org', 'email_verified': True, 'name': 'Ada'}
    async with browser() as web:
        response = await web.get(await start_with(web, target))
        assert response.status_code == 303 and response.headers['location'] == '/'
        assert await signed_in(web)
    async with browser() as web:  # the legitimate use: back to the page that asked for the sign-in
        response = await web.get(await start(web))
        assert response.status_code == 303 and response.headers['location'] == '/tokens'
