"""Issue 14 item 14: browser protections, attacked over real HTTP against the app as a server process and in Chromium.

Headers on pages and API, session cookie SameSite/Secure, a CSP NiceGUI pages work under (no violations), and
sign-out by same-origin POST only."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveApp, sign_up

HEADERS = {
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
}


def _assert_protected(response: httpx.Response) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (response.url, name)
    csp = response.headers['content-security-policy']
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp


def test_pages_and_api_send_the_security_headers(live_app: LiveApp) -> None:
    with httpx.Client(base_url=live_app.url) as client:
        login = client.get('/login')
        assert login.status_code == 200
        _assert_protected(login)
        api = client.get('/api/v1/models')  # the fast lane (no session middleware) is protected too
        assert api.status_code == 401
        _assert_protected(api)
        gateway = client.get('/v1/models')
        _assert_protected(gateway)


def test_session_cookie_is_samesite_lax_and_secure_over_https(live_app: LiveApp, tmp_path) -> None:
    with httpx.Client(base_url=live_app.url) as client:
        plain = client.get('/login')
        cookie = plain.headers['set-cookie']
        assert 'samesite=lax' in cookie.lower()
        assert 'secure' not in cookie.lower()  # plain HTTP on loopback: a Secure cookie would never come back
    with httpx.Client(base_url=live_app.url) as client:
        # nobody is a trusted proxy by default: a forwarded scheme from loopback is not believed
        forged = client.get('/login', headers={'X-Forwarded-Proto': 'https'}).headers['set-cookie']
        assert 'secure' not in forged.lower()
    behind_proxy = LiveApp(
        data_dir=tmp_path / 'proxied', ollama=live_app.ollama, extra_env={'TRUSTED_PROXIES': '127.0.0.1'}
    )
    behind_proxy.start()
    try:
        with httpx.Client(base_url=behind_proxy.url) as client:
            # the TLS-terminating proxy (a TRUSTED_PROXIES address) says the browser used HTTPS
            proxied = client.get('/login', headers={'X-Forwarded-Proto': 'https'})
            cookie = proxied.headers['set-cookie'].lower()
            assert 'samesite=lax' in cookie
            assert '; secure' in cookie
    finally:
        behind_proxy.stop()


def _csp_violations(page: Page) -> list[str]:
    messages: list[str] = []
    page.on(
        'console',
        lambda m: messages.append(m.text) if 'content security policy' in m.text.lower() else None,
    )
    page.on('pageerror', lambda e: messages.append(str(e)))
    return messages


def test_nicegui_pages_work_under_the_csp(live_app: LiveApp, page: Page) -> None:
    violations = _csp_violations(page)
    page.goto(f'{live_app.url}/login')
    expect(page.get_by_role('button', name='Sign in', exact=True)).to_be_visible()
    sign_up(page, live_app, 'Ada', 'ada@example.org')  # a working page event over the websocket
    for path, text in (('/playground', 'Playground'), ('/workshops', 'Workshops')):
        page.goto(f'{live_app.url}{path}')
        expect(page.get_by_text(text).first).to_be_visible()
    page.wait_for_timeout(500)
    assert violations == []


def _session_cookies(page: Page) -> dict[str, str]:
    return {c['name']: c['value'] for c in page.context.cookies()}


def test_sign_out_is_a_same_origin_post_only(live_app: LiveApp, page: Page) -> None:
    sign_up(page, live_app, 'Ada', 'ada@example.org')
    cookies = _session_cookies(page)
    with httpx.Client(base_url=live_app.url, cookies=cookies) as client:
        # a cross-site link (GET) does not sign out
        assert client.get('/logout').status_code == 200
        # a cross-site form (POST from another Origin) is refused
        refused = client.post('/logout', headers={'Origin': 'https://evil.example'})
        assert refused.status_code == 403
        assert 'only accepted from pages of this site' in refused.text
        refused = client.post('/logout')  # no Origin, no Sec-Fetch-Site: not from a page of ours
        assert refused.status_code == 403
    page.goto(f'{live_app.url}/')
    expect(page.get_by_text('Welcome, Ada')).to_be_visible()  # still signed in

    # the real control signs out (a same-origin POST from the page)
    page.get_by_role('button', name='Account').click()
    page.get_by_text('Sign out').click()
    page.wait_for_url('**/login')
    page.goto(f'{live_app.url}/')
    page.wait_for_url('**/login?next=*')
    expect(page.get_by_role('button', name='Sign in', exact=True)).to_be_visible()
