"""Issue 16 items 1 and 3b: two app processes on one PostgreSQL database and one Redis.

They share browser sessions (signed in on A, signed in on B; signed out on B, out on A) and the live state of
workshops (an attendee joining and raising a hand on A shows on the dashboard on B; an announcement from B reaches
attendees on A and on B). Real PostgreSQL and Redis (Debian's servers, started here on free ports), two real app
processes, Chromium (cookies are per host, not per port, so one browser context talks to both processes as a load
balancer would send it to either)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.balancer import Balancer
from tests.e2e.conftest import LiveApp, sign_in, sign_up
from tests.ollama_server import OllamaTestServer
from tests.postgres import PostgresServer
from tests.redis_server import RedisServer
from tests.security.live import PASSWORD, Account, _accounts

Pair = tuple[LiveApp, LiveApp, dict[str, Account], Balancer]


def _make_accounts(data_dir: Path, database_url: str, names: tuple[str, ...]) -> dict[str, Account]:
    """Accounts with API tokens in the shared database, before the processes start (in a thread: Playwright's)."""
    saved = os.environ.get('DATABASE_URL')
    os.environ['DATABASE_URL'] = database_url
    try:
        with ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, _accounts(data_dir, names)).result()
    finally:
        if saved is None:
            os.environ.pop('DATABASE_URL', None)
        else:
            os.environ['DATABASE_URL'] = saved


@pytest.fixture
def two_processes(tmp_path: Path, ollama: OllamaTestServer) -> Iterator[Pair]:
    ollama.come_up()
    ollama.reset()
    postgres, redis = PostgresServer().start(), RedisServer().start()
    # HAProxy on loopback forwards X-Forwarded-For: believed from loopback only because it is configured so
    shared = {'DATABASE_URL': postgres.url, 'REDIS_URL': redis.url, 'TRUSTED_PROXIES': '127.0.0.1'}
    a = LiveApp(data_dir=tmp_path / 'a', ollama=ollama, extra_env=shared)
    b = LiveApp(data_dir=tmp_path / 'b', ollama=ollama, extra_env=shared)
    for app in (a, b):
        app.data_dir.mkdir()
    try:
        accounts = _make_accounts(tmp_path / 'setup', postgres.url, ('admin', 'teacher'))
        a.start()
        b.start()
        balancer = Balancer(f'127.0.0.1:{a.port}', f'127.0.0.1:{b.port}').start()
        yield a, b, accounts, balancer
        balancer.stop()
    finally:
        for app in (a, b):
            app.stop()
        redis.stop()
        postgres.stop()


def test_a_sign_in_and_a_sign_out_count_on_every_process(two_processes: Pair, page: Page) -> None:
    a, b, _, _ = two_processes
    sign_up(page, a, 'Ada', 'ada@example.org')  # signed in on A
    page.goto(f'{b.url}/')
    expect(page.get_by_text('Welcome, Ada')).to_be_visible()  # B knows the session from Redis

    page.get_by_role('button', name='Account').click()
    page.get_by_text('Sign out').click()  # on B
    page.wait_for_url(f'{b.url}/login')

    page.goto(f'{a.url}/')
    page.wait_for_url(f'{a.url}/login**')  # A no longer lets the browser in
    expect(page.get_by_role('button', name='Sign in', exact=True)).to_be_visible()


def _person(browser: Browser, lb: Balancer | None = None, route: str = '') -> Page:
    """A browser of its own; through the balancer, pinned to `route` (app1 = A, app2 = B) by HAProxy's cookie."""
    context = browser.new_context(viewport={'width': 1366, 'height': 800})
    if lb is not None and route:
        context.add_cookies([{'name': 'owp_route', 'value': route, 'url': lb.url}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def _join(page: Page, url: str, code: str, name: str) -> None:
    page.goto(f'{url}/join')
    page.get_by_label('Join code').fill(code)
    page.get_by_label('Your name (shown to the instructors)').fill(name)
    page.get_by_role('button', name='Join').click()
    expect(page.get_by_role('button', name='Raise hand')).to_be_visible()


def _start_workshop(app_url: str, accounts: dict[str, Account]) -> dict:
    teacher = accounts['teacher'].headers
    workshop = httpx.post(f'{app_url}/api/v1/workshops', json={'title': 'Two processes'}, headers=teacher).json()
    assert httpx.post(f'{app_url}/api/v1/workshops/{workshop["id"]}/start', headers=teacher).status_code < 300
    return workshop


def test_live_workshop_events_cross_processes_through_the_balancer(two_processes: Pair, browser: Browser) -> None:
    _, b, accounts, lb = two_processes
    workshop = _start_workshop(lb.url, accounts)

    instructor = _person(browser, lb, 'app2')  # the dashboard is served by B
    sign_in(instructor, lb, 'teacher@example.org', PASSWORD)
    instructor.goto(f'{lb.url}/workshops/{workshop["id"]}/dashboard')
    expect(instructor.get_by_text('0 attendee(s)')).to_be_visible()

    ann = _person(browser, lb, 'app1')  # an attendee served by A
    _join(ann, lb.url, workshop['join_code'], 'Ann')
    expect(instructor.get_by_role('cell', name='Ann').first).to_be_visible()  # live on B, no reload
    expect(instructor.get_by_text('1 attendee(s) · 1 online')).to_be_visible()  # A's page counts as online on B

    ann.get_by_label('Question (optional)').fill('Which model for tools?')
    ann.get_by_role('button', name='Raise hand').click()
    expect(instructor.get_by_text('Which model for tools?')).to_be_visible()  # the hand raised on A, shown on B

    bob = _person(browser)  # an attendee talking to B directly
    _join(bob, b.url, workshop['join_code'], 'Bob')
    instructor.get_by_label('Announcement to everyone').fill('Break until 11:00')
    instructor.get_by_role('button', name='Broadcast').click()
    expect(ann.get_by_text('Break until 11:00').first).to_be_visible()  # reached A
    expect(bob.get_by_text('Break until 11:00').first).to_be_visible()  # and B

    instructor.get_by_role('button', name='Acknowledge').click()  # B acknowledges; Ann on A learns it
    expect(ann.get_by_text('An instructor has seen your hand and is on the way.')).to_be_visible()
    for page in (instructor, ann, bob):
        page.context.close()


def test_killing_a_process_moves_its_browsers_to_the_other(two_processes: Pair, browser: Browser) -> None:
    """Process A is killed (-9): HAProxy takes it out, Ann's page reconnects through the balancer to B, reloads there
    and carries on, still signed in and in her workshop, with her progress and raised hand kept."""
    a, _, accounts, lb = two_processes
    workshop = _start_workshop(lb.url, accounts)
    ann = _person(browser, lb, 'app1')
    _join(ann, lb.url, workshop['join_code'], 'Ann')
    ann.get_by_label('Question (optional)').fill('Saved before the crash')
    ann.get_by_role('button', name='Raise hand').click()
    expect(ann.get_by_role('button', name='Lower hand')).to_be_visible()

    a.process.kill()  # -9: no shutdown, no goodbye
    a.process.wait(10)
    # the page notices, reconnects through the balancer, lands on B and reloads onto B's copy of the workshop
    deadline = time.monotonic() + 60
    while _route(ann) != 'app2':
        assert time.monotonic() < deadline, 'the page never moved to process B'
        ann.wait_for_timeout(500)
    expect(ann.get_by_role('button', name='Lower hand')).to_be_visible(timeout=30_000)
    ann.get_by_role('button', name='Lower hand').click()  # she carries on, no reload by hand: B answers
    expect(ann.get_by_role('button', name='Raise hand')).to_be_visible()
    ann.context.close()


def _route(page: Page) -> str:
    return next((c['value'] for c in page.context.cookies() if c['name'] == 'owp_route'), '')
