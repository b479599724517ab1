"""Issue 16 items 1 and 3b: two app processes on one PostgreSQL database and one Redis.

They share browser sessions (signed in on A, signed in on B; signed out on B, out on A) and the live state of
workshops (an attendee joining and raising a hand on A shows on the dashboard on B; an announcement from B reaches
attendees on A and on B). Real PostgreSQL and Redis (Debian's servers, started here on free ports), two real app
processes, Chromium (cookies are per host, not per port, so one browser context talks to both processes as a load
balancer would send it to either)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.balancer import Balancer
from tests.e2e.conftest import ROOT, LiveApp, sign_in, sign_up
from tests.ollama_server import OllamaTestServer
from tests.postgres import PostgresServer
from tests.redis_server import RedisServer
from tests.security.live import PASSWORD, Account

Pair = tuple[LiveApp, LiveApp, dict[str, Account], Balancer]


def _make_accounts(data_dir: Path, database_url: str, names: tuple[str, ...]) -> dict[str, Account]:
    """Accounts with API tokens in the shared database, before the processes start. In a Python of its own: this
    process may already have had Tortoise on SQLite (another test's `running_app`), and Tortoise keeps one dialect."""
    script = (
        'import asyncio, json, sys; from pathlib import Path; from tests.security.live import _accounts; '
        'made = asyncio.run(_accounts(Path(sys.argv[1]), tuple(sys.argv[2:]))); '
        'print(json.dumps({k: [a.id, a.token] for k, a in made.items()}))'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(('PYTEST', 'NICEGUI_'))}
    env.update(DATABASE_URL=database_url, DATA_DIR=str(data_dir))
    done = subprocess.run(
        [sys.executable, '-c', script, str(data_dir), *names], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return {k: Account(v[0], v[1]) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}


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

    instructor.get_by_role('button', name='Claim').click()  # B claims it; Ann on A learns who is coming
    expect(ann.get_by_text('has seen your hand and is on the way.')).to_be_visible()
    expect(instructor.get_by_text('Teacher is on the way')).to_be_visible()  # the claim, shown on B too

    # pacing is room-wide: eyes on the projector and a step timer from B dim and count down Ann's page on A
    instructor.get_by_role('button', name='Eyes on the projector').click()
    expect(ann.get_by_text('Eyes on the projector, please.')).to_be_visible()
    instructor.get_by_role('button', name='Release screens').click()
    expect(ann.get_by_text('Eyes on the projector, please.')).to_be_hidden()
    instructor.get_by_role('button', name='Start timer').click()
    expect(ann.get_by_text(re.compile(r'\d+:\d\d left'))).to_be_visible()
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


class MilvusLiteServer:
    """Milvus Lite as a server of its own (the script the app runs it with), shared by both processes as a Milvus
    server would be: one Lite data directory can be opened by one process only."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / 'services' / 'knowledge' / 'milvus_lite_process.py'), '--data-dir',
             str(data_dir), '--parent', str(os.getpid())],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        line = self.process.stdout.readline()
        assert line.startswith('READY '), line
        self.uri = f'http://127.0.0.1:{int(line.split()[1])}'

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(15)


@pytest.fixture
def two_with_milvus(tmp_path: Path, ollama: OllamaTestServer) -> Iterator[Pair]:
    ollama.come_up()
    ollama.reset()
    postgres, redis = PostgresServer().start(), RedisServer().start()
    milvus = MilvusLiteServer(tmp_path / 'milvus')
    shared = {'DATABASE_URL': postgres.url, 'REDIS_URL': redis.url, 'MILVUS_URI': milvus.uri,
              'INGEST_LEASE_SECONDS': '4', 'EMBED_BATCH_SIZE': '8'}  # fmt: skip
    # one data directory for both, as the compose file mounts one volume: uploads are read by whichever process
    # runs the job (the vectors are on the Milvus server, the database is PostgreSQL, sessions are in Redis)
    a = LiveApp(data_dir=tmp_path / 'data', ollama=ollama, extra_env=shared)
    b = LiveApp(data_dir=tmp_path / 'data', ollama=ollama, extra_env=shared)
    a.data_dir.mkdir()
    try:
        accounts = _make_accounts(tmp_path / 'setup', postgres.url, ('admin', 'teacher'))
        a.start()
        b.start()
        yield a, b, accounts, milvus  # type: ignore[misc]
    finally:
        for app in (a, b):
            app.stop()
        milvus.stop()
        redis.stop()
        postgres.stop()
        ollama.embed_delay = 0.0


def test_a_job_of_a_killed_process_is_finished_by_the_other(two_with_milvus, ollama: OllamaTestServer) -> None:
    """Ingestion started on A; A killed -9 mid-job; B takes the job over once A's claim runs out and finishes it:
    every document embedded once, every chunk's vector stored once."""
    a, b, accounts, milvus = two_with_milvus
    who = accounts['teacher'].headers
    body = {'name': 'Notes', 'embedding_model': 'nomic-embed-text', 'chunk_size': 64, 'chunk_overlap': 0}
    kb = httpx.post(f'{a.url}/api/v1/knowledge', json=body, headers=who).json()['id']
    text = ' '.join(f'Sentence {i} about alpacas, their wool and their care.' for i in range(40))
    for batch in range(2):  # at most 20 files an upload
        numbers = range(batch * 12, batch * 12 + 12)
        files = [('files', (f'doc{i}.txt', f'Document {i}. {text}'.encode(), 'text/plain')) for i in numbers]
        uploaded = httpx.post(f'{a.url}/api/v1/knowledge/{kb}/documents', files=files, headers=who, timeout=60)
        assert uploaded.status_code < 300, uploaded.text
    ollama.embed_delay = 0.15  # each /api/embed call takes a while: the job runs for seconds
    assert httpx.post(f'{a.url}/api/v1/knowledge/{kb}/ingest', headers=who).status_code < 300
    deadline = time.monotonic() + 60
    while httpx.get(f'{a.url}/api/v1/knowledge/{kb}/ingest', headers=who).json()['percent'] < 15:
        assert time.monotonic() < deadline, 'the job did not get under way'
        time.sleep(0.2)
    a.process.kill()  # mid-job, -9
    a.process.wait(10)
    ollama.embed_delay = 0.0

    deadline = time.monotonic() + 90
    while not (job := httpx.get(f'{b.url}/api/v1/knowledge/{kb}/ingest', headers=who).json())['finished']:
        assert time.monotonic() < deadline, f'B did not finish the job: {job}'
        time.sleep(0.5)
    assert job['state'] == 'done', (job['error'], job)
    detail = httpx.get(f'{b.url}/api/v1/knowledge/{kb}', headers=who).json()
    assert detail['stats']['by_state'] == {'embedded': 24}  # no document lost
    from pymilvus import MilvusClient

    client = MilvusClient(uri=milvus.uri)
    ids = [row['id'] for row in client.query(f'kb_{kb}', filter='id >= 0', output_fields=['id'], limit=16384)]
    assert len(ids) == len(set(ids)) == detail['stats']['chunks']  # no vector duplicated, none missing
    client.close()


def test_a_pull_on_one_process_shows_and_cancels_on_the_other(
    two_processes: Pair, browser: Browser, ollama: OllamaTestServer
) -> None:
    """An instructor pulls a model on A; the models page served by B shows the pull's progress live, and cancelling
    it there stops it on A."""
    a, b, _, _ = two_processes
    ollama.pull_delay = 0.3  # a pull of some seconds
    try:
        puller, watcher = _person(browser), _person(browser)
        sign_in(puller, a, 'teacher@example.org', PASSWORD)
        sign_in(watcher, b, 'admin@example.org', PASSWORD)
        watcher.goto(f'{b.url}/models')
        puller.goto(f'{a.url}/models')
        puller.get_by_label('Pull a model').fill('tinyllama')
        puller.get_by_role('button', name='Pull', exact=True).click()
        expect(watcher.get_by_text('Pulling tinyllama:latest')).to_be_visible()  # on B, no reload
        watcher.get_by_role('button', name='Cancel').click()  # B cancels A's pull
        expect(puller.get_by_text('cancelled', exact=True).first).to_be_visible()  # A stopped it
        # B learns it from A's next message on the bus, after A has saved the pull: on a loaded machine that can take
        # longer than the default 15 s wait
        expect(watcher.get_by_text('cancelled', exact=True).first).to_be_visible(timeout=40_000)
        puller.context.close()
        watcher.context.close()
    finally:
        ollama.pull_delay = 0.02
