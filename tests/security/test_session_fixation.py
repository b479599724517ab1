"""Issue 14 item 2: session fixation. A session cookie an attacker obtained (and planted in the victim's browser) never
becomes signed in: every sign-in gives the browser a new session id; signing out ends the session on the server."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PASSWORD, LiveApp, sign_in, sign_up

COOKIE = 'session'


def _anonymous_cookie(app: LiveApp) -> str:
    with httpx.Client(base_url=app.url) as attacker:
        attacker.get('/login')
        return attacker.cookies[COOKIE]


def _signed_in(app: LiveApp, cookie: str) -> bool:
    with httpx.Client(base_url=app.url, cookies={COOKIE: cookie}) as client:
        response = client.get('/')
        return response.status_code == 200 and 'Welcome,' in response.text


def _plant(page: Page, app: LiveApp, cookie: str) -> None:
    page.context.add_cookies([{'name': COOKIE, 'value': cookie, 'url': app.url}])


def _cookie(page: Page) -> str:
    return next(c['value'] for c in page.context.cookies() if c['name'] == COOKIE)


def test_a_planted_cookie_does_not_become_signed_in(live_app: LiveApp, new_page) -> None:
    planted = _anonymous_cookie(live_app)
    victim = new_page()
    _plant(victim, live_app, planted)
    sign_up(victim, live_app, 'Ada', 'ada@example.org')  # sign-up signs in
    assert _cookie(victim) != planted
    assert not _signed_in(live_app, planted)
    assert _signed_in(live_app, _cookie(victim))  # the victim is signed in under the new id

    planted = _anonymous_cookie(live_app)
    other = new_page()
    _plant(other, live_app, planted)
    sign_in(other, live_app, 'ada@example.org', PASSWORD)  # password sign-in
    assert _cookie(other) != planted
    assert not _signed_in(live_app, planted)
    assert _signed_in(live_app, _cookie(other))


def test_sign_out_ends_the_session_on_the_server(live_app: LiveApp, page: Page) -> None:
    sign_up(page, live_app, 'Ada', 'ada@example.org')
    before = _cookie(page)
    assert _signed_in(live_app, before)
    page.get_by_role('button', name='Account').click()
    page.get_by_text('Sign out').click()
    page.wait_for_url('**/login')
    expect(page.get_by_role('button', name='Sign in', exact=True)).to_be_visible()
    assert not _signed_in(live_app, before)  # replaying the old cookie: signed out


def test_a_ticket_signs_in_once(live_app: LiveApp, page: Page) -> None:
    sign_up(page, live_app, 'Ada', 'ada@example.org')
    with httpx.Client(base_url=live_app.url) as client:
        refused = client.get('/auth/complete', params={'ticket': 'made-up'})
        assert refused.status_code == 303
        assert refused.headers['location'] == '/login'
        assert not _signed_in(live_app, client.cookies[COOKIE])


def test_a_role_change_rotates_the_session(live_app: LiveApp, new_page) -> None:
    admin = new_page()
    sign_up(admin, live_app, 'Admin', 'admin@example.org')
    bob = new_page()
    sign_up(bob, live_app, 'Bob', 'bob@example.org')
    before = _cookie(bob)
    admin.goto(f'{live_app.url}/admin/users')
    admin.get_by_label('Role of bob@example.org').click()
    admin.get_by_role('option', name='Instructor').click()
    admin.get_by_text('Bob is now instructor.').wait_for()
    # Bob's open page goes through a fresh sign-in: a new session id, still signed in, with the new role
    deadline = time.monotonic() + 5
    while _cookie(bob) == before and time.monotonic() < deadline:
        bob.wait_for_timeout(100)
    assert _cookie(bob) != before
    assert not _signed_in(live_app, before)  # the old id grants neither the old nor the new role
    assert _signed_in(live_app, _cookie(bob))
    bob.reload()
    expect(bob.get_by_text('Welcome, Bob')).to_be_visible()


def test_joining_by_code_gives_a_new_session_id(live_app: LiveApp, new_page) -> None:
    teacher = new_page((1400, 1000))
    sign_up(teacher, live_app, 'Teacher', 'teach@example.org')
    teacher.goto(f'{live_app.url}/workshops')
    teacher.get_by_role('button', name='New workshop').click()
    teacher.get_by_label('Title').fill('Fixation workshop')
    teacher.get_by_role('button', name='Create', exact=True).click()
    teacher.get_by_label('Step title').fill('Say hello')
    teacher.get_by_role('button', name='Add step').click()
    teacher.get_by_text('1. Say hello').wait_for()
    teacher.get_by_role('button', name='Start workshop').click()
    teacher.get_by_role('button', name='Open dashboard').click()
    code = teacher.get_by_text(re.compile(r'^[A-HJ-NP-Z2-9]{6}$')).first.inner_text()

    planted = _anonymous_cookie(live_app)
    victim = new_page()
    _plant(victim, live_app, planted)
    victim.goto(f'{live_app.url}/join')
    victim.get_by_label('Join code').fill(code)
    victim.get_by_label('Your name').fill('Ann')
    victim.get_by_role('button', name='Join').click()
    victim.get_by_text('Step 1 of 1: Say hello').wait_for()  # joined, on the workshop page
    assert _cookie(victim) != planted
    assert not _signed_in(live_app, planted)
    with httpx.Client(base_url=live_app.url, cookies={COOKIE: planted}) as attacker:
        assert attacker.get(victim.url).status_code in (302, 303, 307)  # the attacker's cookie is not in the workshop
