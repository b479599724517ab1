"""Issue 16 item 3b: two app processes on one PostgreSQL database and one Redis share browser sessions. Signed in on
process A, the browser is signed in on B; signing out on B signs it out on A too. Real PostgreSQL and Redis (Debian's
servers, started here on free ports), two real app processes, Chromium (cookies are per host, not per port, so one
browser context talks to both processes as a load balancer would send it to either)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveApp, sign_up
from tests.ollama_server import OllamaTestServer
from tests.postgres import PostgresServer
from tests.redis_server import RedisServer


@pytest.fixture
def two_processes(tmp_path: Path, ollama: OllamaTestServer) -> Iterator[tuple[LiveApp, LiveApp]]:
    ollama.come_up()
    ollama.reset()
    postgres, redis = PostgresServer().start(), RedisServer().start()
    shared = {'DATABASE_URL': postgres.url, 'REDIS_URL': redis.url}
    a = LiveApp(data_dir=tmp_path / 'a', ollama=ollama, extra_env=shared)
    b = LiveApp(data_dir=tmp_path / 'b', ollama=ollama, extra_env=shared)
    for app in (a, b):
        app.data_dir.mkdir()
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        for app in (a, b):
            app.stop()
        redis.stop()
        postgres.stop()


def test_a_sign_in_and_a_sign_out_count_on_every_process(two_processes: tuple[LiveApp, LiveApp], page: Page) -> None:
    a, b = two_processes
    sign_up(page, a, 'Ada', 'ada@example.org')  # signed in on A
    page.goto(f'{b.url}/')
    expect(page.get_by_text('Welcome, Ada')).to_be_visible()  # B knows the session from Redis

    page.get_by_role('button', name='Account').click()
    page.get_by_text('Sign out').click()  # on B
    page.wait_for_url(f'{b.url}/login')

    page.goto(f'{a.url}/')
    page.wait_for_url(f'{a.url}/login**')  # A no longer lets the browser in
    expect(page.get_by_role('button', name='Sign in', exact=True)).to_be_visible()
