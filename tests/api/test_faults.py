"""Faults a day-long workshop meets (issue 17 item 6), injected for real:

- a full disk: the data directory on a small tmpfs, filled up while the app runs (a real ENOSPC);
- a locked database: another program holding SQLite's write lock (a real "database is locked").

Each makes the API answer 503 with a sentence naming the cause and what to do (not "something went wrong"), keeps
what was saved before, shows in `/health/ready`, and everything works again once the fault is gone.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from nicegui import app

from config import Settings
from services.core import db, tls
from services.core.audit import AuditService
from services.core.auth import AuthService
from services.core.faults import DATABASE_BUSY, DISK_FULL
from services.core.tokens import TokenService
from tests.api.conftest import assert_problem
from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
PROMPT = {
    'name': 'Summarise',
    'user_template': 'Summarise: {{ text }}',
    'variables': [{'name': 'text', 'type': 'text'}],
}


# ----- a locked database (in-process app) -------------------------------------------------------------------------
@pytest.fixture
def _short_busy_timeout(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's SQLite database, waiting 300 ms (not 10 s) for a lock before giving up."""
    monkeypatch.setenv('DATABASE_URL', f'sqlite://{app_env / "platform.db"}?busy_timeout=300')
    return app_env / 'platform.db'


@pytest.fixture
async def server_client(services) -> AsyncIterator[httpx.AsyncClient]:
    """Like `client`, but as a server behaves: Starlette re-raises an error after answering it, and a server logs
    that instead of failing the request (httpx's ASGI transport would raise it into the test)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url='http://test') as http:
        yield http


async def test_a_locked_database_answers_503_and_loses_nothing(
    _short_busy_timeout: Path, server_client: httpx.AsyncClient, alice
) -> None:
    client = server_client
    first = await client.post('/api/v1/prompts', json=PROMPT, headers=alice.headers)
    assert first.status_code == 201, first.text
    locker = sqlite3.connect(_short_busy_timeout, timeout=1)
    try:
        locker.execute('BEGIN IMMEDIATE')  # another program holds the write lock (a backup, a second copy, ...)
        refused = await client.post('/api/v1/prompts', json={**PROMPT, 'name': 'Second'}, headers=alice.headers)
        body = assert_problem(refused, 503, DATABASE_BUSY)
        assert refused.headers['retry-after'] == '30' and 'Something went wrong' not in body['detail']
        listed = await client.get('/api/v1/prompts', headers=alice.headers)  # reading still works
        assert [p['name'] for p in listed.json()['items']] == ['Summarise']
    finally:
        locker.rollback()
        locker.close()
    again = await client.post('/api/v1/prompts', json={**PROMPT, 'name': 'Second'}, headers=alice.headers)
    assert again.status_code == 201, again.text


async def test_readiness_reports_a_disk_below_the_free_space_minimum(
    client, admin, monkeypatch: pytest.MonkeyPatch, services
) -> None:
    monkeypatch.setattr(services.settings, 'min_free_disk_mb', 10**9)  # more than any disk here has free
    response = await client.get('/health/ready')
    assert response.status_code == 503 and response.json() == {'status': 'down'}
    report = (await client.get('/health/ready', headers=admin.headers)).json()
    assert report['disk']['status'] == 'full' and 'MB free in the data directory' in report['disk']['error']


# ----- a full disk (the app as a server, its data directory on a small tmpfs) ---------------------------------------
def _mount_tmpfs(path: Path, size_mb: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size_mb}m', 'tmpfs', str(path)], capture_output=True)
    if run.returncode != 0:
        pytest.skip(f'cannot mount a tmpfs here (needs root): {run.stderr.decode().strip()}')


async def _admin_token(db_url: str) -> str:
    await db.open_database(db_url)
    try:
        auth = AuthService(min_password_length=10, max_failures=5, window_seconds=60, signup_open_default=True)
        user = await auth.signup('ada@example.org', 'Ada', 'correct-horse-42')
        return (await TokenService(auth, AuditService(auth)).create(user.id, 'tests')).secret
    finally:
        await db.close_database()


@pytest.fixture
def small_disk_server(tmp_path: Path, ollama_server) -> Iterator[tuple[str, str, Path]]:
    disk = tmp_path / 'disk'
    _mount_tmpfs(disk, 160)
    try:
        data = disk / 'data'
        env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST') and k not in ('DATABASE_URL',)}
        env.update(DATA_DIR=str(data), OLLAMA_HOST=ollama_server.url, STORAGE_SECRET='faults', HOST='127.0.0.1',
                   OLLAMA_HEALTH_INTERVAL='3600', MIN_FREE_DISK_MB='5')  # fmt: skip
        settings = Settings(data_dir=data)
        settings.ensure_dirs()
        token = asyncio.run(_admin_token(settings.db_url))
        port = free_port()
        log_path = tmp_path / 'app.log'
        with log_path.open('wb') as log:
            process = subprocess.Popen(
                [sys.executable, 'app.py'], cwd=ROOT, env={**env, 'PORT': str(port)}, stdout=log, stderr=log
            )
            url = f'http://127.0.0.1:{port}'
            try:
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    try:
                        if httpx.get(f'{url}/health/ready', timeout=2).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.3)
                else:
                    pytest.fail('the app did not start: ' + log_path.read_text()[-3000:])
                yield url, token, disk
            finally:
                process.terminate()
                process.wait(15)
    finally:
        subprocess.run(['umount', '-l', str(disk)], capture_output=True)


def _fill(disk: Path, leave_kb: int) -> Path:
    """Fill the disk until only about `leave_kb` KB are free."""
    ballast = disk / f'ballast-{uuid.uuid4().hex}'
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with ballast.open('wb') as handle:
        remaining = max(0, free - leave_kb * 1024)
        chunk = b'\0' * (1024 * 1024)
        while remaining > 0:
            try:
                handle.write(chunk[: min(len(chunk), remaining)])
                handle.flush()
            except OSError:
                break
            remaining -= len(chunk)
    return ballast


def test_a_full_disk_answers_503_names_the_cause_and_recovers(small_disk_server) -> None:
    url, token, disk = small_disk_server
    auth = {'Authorization': f'Bearer {token}'}
    with httpx.Client(base_url=url, headers=auth, timeout=30) as http:
        kb = http.post('/api/v1/knowledge', json={'name': 'Handbook', 'embedding_model': 'nomic-embed-text'})
        assert kb.status_code == 201, kb.text
        kb_id = kb.json()['id']
        saved = http.post(f'/api/v1/knowledge/{kb_id}/documents', files={'files': ('a.md', b'# Before\nsaved')})
        assert saved.status_code == 201, saved.text

        ballast = _fill(disk, leave_kb=64)
        document = ('b.md', b'# Llamas\n' + b'Llamas are social animals. ' * 20_000)  # ~0.5 MB: cannot fit
        refused = http.post(f'/api/v1/knowledge/{kb_id}/documents', files={'files': document})
        assert refused.status_code == 503, refused.text
        assert refused.json()['detail'] == DISK_FULL
        ready = httpx.get(f'{url}/health/ready', timeout=10)
        assert ready.status_code == 503 and ready.json() == {'status': 'down'}
        details = http.get('/health/ready').json()
        assert details['disk']['status'] in ('full', 'down'), details
        assert not [p for p in (disk / 'data' / 'uploads').iterdir() if p.stat().st_size > 400_000]  # nothing half-kept

        ballast.unlink()  # the admin frees space
        assert httpx.get(f'{url}/health/ready', timeout=10).status_code == 200
        documents = http.get(f'/api/v1/knowledge/{kb_id}/documents').json()['items']
        assert [d['name'] for d in documents] == ['a.md']  # what was saved before is still there
        again = http.post(f'/api/v1/knowledge/{kb_id}/documents', files={'files': document})
        assert again.status_code == 201, again.text


# ----- a start-up that fails after the database opened --------------------------------------------------------------
@pytest.fixture
def _unreadable_ca_bundle(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """SSL_CERT_FILE naming a file that is not there (a mistyped path in the .env), set before the app starts."""
    missing = app_env.parent / 'no-such-ca-bundle.pem'
    monkeypatch.setenv('SSL_CERT_FILE', str(missing))
    tls.ssl_context.cache_clear()  # built once per process: an earlier test's context must not hide the setting
    yield missing
    tls.ssl_context.cache_clear()


async def test_a_failed_start_answers_503_with_its_reason_at_once(
    _unreadable_ca_bundle: Path, client: httpx.AsyncClient
) -> None:
    started = time.monotonic()
    page = await client.get('/login')
    api = await client.get('/api/v1/models')
    assert time.monotonic() - started < 10  # not "still starting" after the gate's two-minute wait
    for response in (page, api):
        assert response.status_code == 503, response.text
        assert 'could not start' in response.text and f'SSL_CERT_FILE={_unreadable_ca_bundle}' in response.text
        assert 'Correct the setting it names and restart' in response.text
    assert (await client.get('/health')).status_code == 200  # alive: the log and the reason can be read
    ready = await client.get('/health/ready')
    assert ready.status_code == 503 and ready.json() == {'status': 'down'}  # a load balancer keeps it out


async def test_an_admin_reads_why_the_start_failed_in_readiness(_unreadable_ca_bundle: Path, client, admin) -> None:
    report = (await client.get('/health/ready', headers=admin.headers)).json()
    assert report['status'] == 'down' and 'CA certificates could not be loaded' in report['startup']['error']
    assert any(str(_unreadable_ca_bundle) in problem for problem in report['problems'])


@pytest.fixture
def _unreachable_database(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DATABASE_URL naming a PostgreSQL server that is not there (nothing listens on the port)."""
    monkeypatch.setenv('DATABASE_URL', f'postgres://owp:secret@127.0.0.1:{free_port()}/owp')


async def test_a_database_that_cannot_be_opened_answers_503_with_its_reason(
    _unreachable_database: None, client: httpx.AsyncClient
) -> None:
    for path in ('/login', '/api/v1/models'):
        response = await client.get(path)
        assert response.status_code == 503, response.text
        assert 'the database could not be opened or migrated' in response.text and 'DATABASE_URL' in response.text
    ready = await client.get('/health/ready', headers={'Authorization': 'Bearer owp_not_checkable'})
    assert ready.status_code == 503 and ready.json() == {'status': 'down'}
