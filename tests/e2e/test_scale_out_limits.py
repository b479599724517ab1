"""Issue 16 items 1 and 3: the room's limits hold across two app processes, and two processes started at once on an
empty database migrate it once.

Real PostgreSQL and Redis (Debian's servers on free ports), two real app processes and HAProxy; the calls are made
over HTTP, half to each process (directly, and through the balancer pinned by its cookie), all at once. The Ollama
test server counts the streams it serves at the same moment."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.balancer import Balancer
from tests.e2e.conftest import LiveApp
from tests.e2e.test_scale_out import _make_accounts
from tests.ollama_server import OllamaTestServer
from tests.postgres import PostgresServer
from tests.redis_server import RedisServer
from tests.security.live import Account

CHAT = {'model': 'llama3.2', 'messages': [{'role': 'user', 'content': 'Hello'}], 'stream': True}
SLOTS = 6  # generations the (one) Ollama host runs at once, for all processes together


def test_two_processes_started_at_once_on_an_empty_database_migrate_it_once(
    tmp_path: Path, ollama: OllamaTestServer
) -> None:
    postgres, redis = PostgresServer().start(), RedisServer().start()
    shared = {'DATABASE_URL': postgres.url, 'REDIS_URL': redis.url}
    apps = [LiveApp(data_dir=tmp_path / name, ollama=ollama, extra_env=shared) for name in ('a', 'b')]
    try:
        for app in apps:
            app.data_dir.mkdir()
        for app in apps:  # at the same moment, neither waiting for the other
            app.launch()
        for app in apps:
            app.wait_ready()  # both ready: the one that waited for the lock started too
        applied = []
        for app in apps:
            found = re.search(r'database ready \((\d+) migration\(s\) applied\)', app.log_path.read_text())
            assert found, app.log_path.read_text()[-2000:]
            applied.append(int(found.group(1)))
        migrations = len(list((Path(__file__).parents[2] / 'migrations' / 'models').glob('*.py')))
        assert sorted(applied) == [0, migrations]  # one migrated everything, the other found nothing left
        rows = _query(postgres, 'SELECT version, count(*) FROM aerich GROUP BY version')
        assert len(rows) == migrations and all(count == 1 for _, count in rows)  # nothing applied twice
        for app in apps:
            assert httpx.get(f'{app.url}/health/ready').json()['status'] == 'ok'
    finally:
        for app in apps:
            app.stop()
        redis.stop()
        postgres.stop()


def _query(postgres: PostgresServer, sql: str) -> list[tuple]:
    import asyncio

    import asyncpg

    async def run() -> list[tuple]:
        connection = await asyncpg.connect(postgres.url)
        try:
            return [tuple(row) for row in await connection.fetch(sql)]
        finally:
            await connection.close()

    with ThreadPoolExecutor(1) as thread:  # a thread of its own: a Playwright test may have left a loop running here
        return thread.submit(asyncio.run, run()).result()


Room = tuple[LiveApp, LiveApp, dict[str, Account], Balancer]


@pytest.fixture(scope='module')
def room(tmp_path_factory: pytest.TempPathFactory, ollama: OllamaTestServer) -> Iterator[Room]:
    tmp_path = tmp_path_factory.mktemp('limits')
    postgres, redis = PostgresServer().start(), RedisServer().start()
    shared = {
        'DATABASE_URL': postgres.url,
        'REDIS_URL': redis.url,
        'CHAT_MAX_STREAMS_PER_USER': '4',
        'OLLAMA_SLOTS': str(SLOTS),
        'QUEUE_MAX_WAIT_SECONDS': '60',
    }
    a = LiveApp(data_dir=tmp_path / 'a', ollama=ollama, extra_env=shared)
    b = LiveApp(data_dir=tmp_path / 'b', ollama=ollama, extra_env=shared)
    for app in (a, b):
        app.data_dir.mkdir()
    try:
        names = ('admin', 'alice', 'bob', 'carol', 'dave', 'erin')
        accounts = _make_accounts(tmp_path / 'setup', postgres.url, names)
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


def _fire(room: Room, who: list[Account], each: int) -> list[httpx.Response]:
    """`each` streamed chats per person at once: half straight to process A, half through the balancer pinned to
    process B."""
    a, _, _, lb = room

    def call(target: str, account: Account) -> httpx.Response:
        if target == 'a':
            return httpx.post(f'{a.url}/api/v1/chat', json=CHAT, headers=account.headers, timeout=90)
        with httpx.Client(cookies={'owp_route': 'app2'}) as client:  # HAProxy's sticky cookie: to B
            return client.post(f'{lb.url}/api/v1/chat', json=CHAT, headers=account.headers, timeout=90)

    jobs = [(('a', 'b')[i % 2], account) for account in who for i in range(each)]
    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(lambda job: call(*job), jobs))


def _slow_replies(ollama: OllamaTestServer) -> None:
    ollama.reset()
    ollama.token_delay, ollama.response_tokens = 0.05, 30  # each reply streams for ~1.5 s: they overlap


def test_a_persons_running_calls_are_limited_across_both_processes(room: Room, ollama: OllamaTestServer) -> None:
    """8 streams opened half on each process by someone whose limit is 4: 4 run at a time, the others wait their
    turn (not refused), so all 8 are answered and never more than 4 ran at once."""
    accounts = room[2]
    _slow_replies(ollama)
    started = time.monotonic()
    responses = _fire(room, [accounts['alice']], 8)
    assert [r.status_code for r in responses] == [200] * 8, [r.text[:200] for r in responses if r.status_code != 200]
    assert all('"done":true' in r.text.replace(' ', '') for r in responses)  # every answer streamed to its end
    assert ollama.peak_streams == 4  # 4 at once, not 4 on each process
    assert time.monotonic() - started > 2.5  # two rounds of ~1.5 s: the second four waited for the first


def test_a_request_quota_holds_across_both_processes(room: Room, ollama: OllamaTestServer) -> None:
    """A daily limit of 3 requests; 8 calls at once, half on each process: exactly 3 reach Ollama."""
    a, _, accounts, _ = room
    bob = accounts['bob']
    quota = httpx.post(
        f'{a.url}/api/v1/quotas', json={'user_id': bob.id, 'max_requests': 3}, headers=accounts['admin'].headers
    )
    assert quota.status_code == 200, quota.text
    _slow_replies(ollama)
    responses = _fire(room, [bob], 8)
    assert sorted(r.status_code for r in responses) == [200] * 3 + [429] * 5
    assert len([r for r in ollama.requests if r['path'] == '/api/chat']) == 3  # not 3 per process
    for refused in (r for r in responses if r.status_code == 429):
        assert 'daily request limit (3 requests)' in refused.json()['detail']


def test_a_hosts_slots_hold_across_both_processes(room: Room, ollama: OllamaTestServer) -> None:
    """Three people open 4 streams each, half on each process, against one host of 6 slots: never more than 6 run
    on the host (each process alone would run 6), and everyone is answered."""
    accounts = room[2]
    _slow_replies(ollama)
    responses = _fire(room, [accounts['carol'], accounts['dave'], accounts['erin']], 4)
    assert [r.status_code for r in responses] == [200] * 12, [r.text[:200] for r in responses if r.status_code != 200]
    assert 3 <= ollama.peak_streams <= SLOTS  # the host's slots, shared; not SLOTS on each process
