"""Issue 14 item 10, threat T20: sign-in abuse against the running app, in Chromium.

- A stranger's wrong passwords slow the stranger down (a growing wait), never lock the owner out.
- A classroom behind one NAT address signs in and joins despite a room's worth of typos.
- `X-Forwarded-For` counts only from TRUSTED_PROXIES: forged from anywhere else (loopback included) it neither resets
  a throttle nor lands in the audit log as the client.
- A display name that impersonates the instructor or another attendee is refused on the join page.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import LiveApp
from tests.ollama_server import OllamaTestServer
from tests.security.live import PASSWORD, Account, running_app

WRONG = 'not-the-password-1'


@contextmanager
def app(tmp_path: Path, ollama: OllamaTestServer, names: tuple[str, ...], **env: str) -> Iterator:
    ollama.come_up()
    ollama.reset()
    with running_app(tmp_path, ollama, names, **env) as (live, accounts):
        yield live, accounts


def person(browser: Browser, forwarded_for: str | None = None) -> Page:
    """A browser of its own; behind a proxy that says it came from `forwarded_for`."""
    headers = {'X-Forwarded-For': forwarded_for} if forwarded_for else {}
    context = browser.new_context(extra_http_headers=headers)
    context.set_default_timeout(15_000)
    return context.new_page()


def try_sign_in(page: Page, live: LiveApp, email: str, password: str, *, reload: bool = True) -> str:
    """Submit the sign-in form; 'in' when it worked, else the error it showed."""
    if reload or '/login' not in page.url:
        page.goto(f'{live.url}/login')
    page.get_by_label('Email').fill(email)
    field = page.get_by_label('Password', exact=True)
    field.fill(password)
    field.press('Enter')
    welcome, error = page.get_by_text('Welcome,'), page.locator('.text-negative').first
    expect(welcome.or_(error)).to_be_visible()
    if welcome.is_visible():
        return 'in'
    expect(field).to_have_value('')  # the form answered this submit (it clears the password)
    return error.inner_text()


def audit_ips(live: LiveApp, admin: Account, action: str) -> list[str]:
    response = httpx.get(f'{live.url}/api/v1/audit', params={'action': action, 'limit': 100}, headers=admin.headers)
    assert response.status_code == 200, response.text
    return [item['ip'] for item in response.json()['items']]


def test_a_strangers_wrong_passwords_do_not_lock_the_owner_out(
    tmp_path: Path, ollama: OllamaTestServer, browser: Browser
) -> None:
    with app(tmp_path, ollama, ('admin', 'alice'), TRUSTED_PROXIES='127.0.0.1') as (live, accounts):
        stranger = person(browser, forwarded_for='198.51.100.66')
        answers = [try_sign_in(stranger, live, 'alice@example.org', WRONG) for _ in range(5)]
        assert answers == ['Wrong email or password.'] * 5
        throttled = try_sign_in(stranger, live, 'alice@example.org', PASSWORD)  # even the right one, for now
        assert throttled.startswith('Too many failed sign-in attempts. Try again in')

        owner = person(browser, forwarded_for='203.0.113.10')
        assert try_sign_in(owner, live, 'alice@example.org', PASSWORD) == 'in'  # at once, no wait

        # the proxy's forwarded address is the one written down
        assert set(audit_ips(live, accounts['admin'], 'sign_in_failed')) == {'198.51.100.66'}
        assert audit_ips(live, accounts['admin'], 'sign_in')[0] == '203.0.113.10'
        stranger.context.close()
        owner.context.close()


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
    tmp_path: Path, ollama: OllamaTestServer, browser: Browser
) -> None:
    with app(tmp_path, ollama, ('admin', 'alice')) as (live, accounts):  # no TRUSTED_PROXIES
        page = person(browser)
        for attempt in range(6):
            page.set_extra_http_headers({'X-Forwarded-For': f'192.0.2.{attempt + 1}'})  # a new "address" each time
            answer = try_sign_in(page, live, 'alice@example.org', WRONG)
        assert answer.startswith('Too many failed sign-in attempts')  # forging addresses did not reset it
        assert set(audit_ips(live, accounts['admin'], 'sign_in_failed')) == {'127.0.0.1'}  # the real peer
        with httpx.Client(base_url=live.url) as client:  # nor does a forged scheme make cookies Secure
            cookie = client.get('/login', headers={'X-Forwarded-Proto': 'https'}).headers['set-cookie']
            assert 'secure' not in cookie.lower()
        page.context.close()


def test_a_classroom_behind_one_address_signs_in_and_joins(
    tmp_path: Path, ollama: OllamaTestServer, browser: Browser
) -> None:
    students = tuple(f'student{i:02d}' for i in range(4))
    with app(tmp_path, ollama, ('admin', 'teacher', *students)) as (live, accounts):  # everyone from 127.0.0.1
        # a room's worth of typos (wrong passwords, unknown emails) from the one address
        page = person(browser)
        page.goto(f'{live.url}/login')
        for i in range(35):
            email = f'{students[i % len(students)]}@example.org' if i % 5 == 0 else f'typo{i}@example.org'
            assert try_sign_in(page, live, email, WRONG, reload=False) == 'Wrong email or password.'
        page.context.close()
        for name in students:  # every student still gets in, at once
            student = person(browser)
            assert try_sign_in(student, live, f'{name}@example.org', PASSWORD) == 'in'
            student.context.close()

        # the instructor opens a workshop; the room joins by code from the same address, typos and all
        teacher = accounts['teacher'].headers
        workshop = httpx.post(f'{live.url}/api/v1/workshops', json={'title': 'Room 101'}, headers=teacher).json()
        started = httpx.post(f'{live.url}/api/v1/workshops/{workshop["id"]}/start', headers=teacher)
        assert started.status_code in (200, 204), started.text
        joiner = person(browser)
        for i in range(12):
            assert join(joiner, live, f'WRONG{i}', f'Typo {i}').startswith('No workshop has this code')
        joiner.context.close()
        for i in range(3):
            newcomer = person(browser)
            assert join(newcomer, live, workshop['join_code'], f'Attendee {i}') == 'in'
            newcomer.context.close()

        # names that would pass for the instructor or for someone already in the room
        impostor = person(browser)
        assert join(impostor, live, workshop['join_code'], 'TEACHER').startswith('A display name cannot claim a role')
        assert join(impostor, live, workshop['join_code'], 'attendee  0').startswith(
            'Someone in this workshop is already called "Attendee 0"'
        )
        assert join(impostor, live, workshop['join_code'], 'Attendee 0 B.') == 'in'
        impostor.context.close()


def join(page: Page, live: LiveApp, code: str, name: str) -> str:
    """Fill a fresh join page; 'in' when it led into the workshop, else the error shown."""
    page.goto(f'{live.url}/join')
    page.get_by_label('Join code').fill(code)
    page.get_by_label('Your name (shown to the instructors)').fill(name)
    page.get_by_role('button', name='Join').click()
    error = page.locator('.text-negative').first
    expect(page.get_by_text('Raise hand').or_(error)).to_be_visible()
    if error.is_visible():
        return error.inner_text()
    return 'in'
