"""Backup and restore (issue 17 item 3), with the app as a real server subprocess (tests/security/live.py).

A platform with accounts, a live workshop with an attendee's progress, a knowledge base with documents and a RAG
system is backed up with `manage.py backup` while it serves requests; the data directory is wiped, the backup restored
into it with `manage.py restore`, and the app started again: the same accounts sign in (token, password, and a browser
session from before the backup, which needs the storage secret), the workshop and its progress are there, and the RAG
system retrieves the same passages. The refusals (a non-empty target, a backup of newer code) are checked in-process.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import httpx
import pytest

import manage
from config import Settings
from services.admin import backup as backups
from services.core import db
from tests.api.test_knowledge_api import _ingested_kb, _make_rag
from tests.e2e.conftest import LiveApp
from tests.postgres import PostgresServer
from tests.security.live import PASSWORD, Account, running_app
from tests.ui.test_vector_stores import milvus_server  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]
ENV = {'STORAGE_SECRET': '', 'BENCH_ENDPOINT': 'true'}  # no STORAGE_SECRET: the secret file in the data directory
QUESTION = {'question': 'Who carries packs in the Andes?'}


def _manage(*args: str, data_dir: Path, database_url: str = '', milvus_uri: str = '') -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith('PYTEST') and k not in ('DATABASE_URL', 'MILVUS_URI')
    }
    env.update(DATA_DIR=str(data_dir), STORAGE_SECRET='', DATABASE_URL=database_url, MILVUS_URI=milvus_uri)
    command = [sys.executable, 'manage.py', *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


async def _build(url: str, teacher: Account, alice: Account) -> tuple[int, int, int]:
    """A live workshop alice joined, and alice's ingested knowledge base with a RAG system over it."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        created = await client.post('/api/v1/workshops', json={'title': 'Prompting 101'}, headers=teacher.headers)
        workshop = created.json()['id']
        started = await client.post(f'/api/v1/workshops/{workshop}/start', headers=teacher.headers)
        joined = await client.post('/api/v1/workshops/join', json={'code': started.json()['join_code']},
                                   headers=alice.headers)  # fmt: skip
        assert joined.status_code == 200, joined.text
        kb = await _ingested_kb(client, alice)
        return workshop, kb, await _make_rag(client, alice, kb)


async def _progress(data_dir: Path, workshop: int, user_id: int) -> None:
    """Two steps, the first one done by the attendee (steps have no REST route: written as the console would)."""
    from models import StepProgress, WorkshopMembership, WorkshopStep

    await db.open_database(Settings(data_dir=data_dir).db_url)
    try:
        first = await WorkshopStep.create(workshop_id=workshop, position=0, title='Say hello')
        await WorkshopStep.create(workshop_id=workshop, position=1, title='Ask a follow-up')
        membership = await WorkshopMembership.get(workshop_id=workshop, user_id=user_id)
        await StepProgress.create(membership=membership, step=first, how='manual')
    finally:
        await db.close_database()


def _state(http: httpx.Client, teacher: Account, alice: Account, workshop: int, kb: int, rag: int) -> dict:
    """What must survive a backup and restore, as the API shows it."""
    found = http.post(f'/api/v1/rag/{rag}/retrieve', json=QUESTION, headers=alice.headers)
    assert found.status_code == 200, found.text
    report = http.get(f'/api/v1/workshops/{workshop}/export', headers=teacher.headers).json()
    docs = http.get(f'/api/v1/knowledge/{kb}/documents', headers=alice.headers).json()['items']
    return {
        'me': http.get('/api/v1/me', headers=alice.headers).json()['email'],
        'workshops': [w['title'] for w in http.get('/api/v1/workshops', headers=alice.headers).json()['items']],
        'progress': [(a['name'], a['steps_done'], a['progress']) for a in report['attendees']],
        'documents': [(d['name'], d['state']) for d in docs],
        'retrieved': {k: v for k, v in found.json().items() if k != 'latency_ms'},  # passages, scores, reasons
    }


@pytest.mark.parametrize('lite_process', ['true', 'false'], ids=['lite-process', 'lite-in-app'])
def test_a_backup_of_a_serving_platform_restores_into_an_empty_data_directory(
    tmp_path: Path, ollama_server, lite_process: str
) -> None:
    data, archive = tmp_path / 'data', tmp_path / 'backups' / 'platform.tar.gz'
    env = ENV | {'MILVUS_LITE_PROCESS': lite_process}
    with running_app(tmp_path, ollama_server, ('admin', 'teacher', 'alice'), **env) as (live, accounts):
        teacher, alice = accounts['teacher'], accounts['alice']
        browser = httpx.Client(base_url=live.url, timeout=30)  # a browser session, signed in with the password
        assert browser.post('/api/bench/login', params={'email': 'alice@example.org', 'password': PASSWORD}).is_success
        workshop, kb, rag = asyncio.run(_build(live.url, teacher, alice))
        asyncio.run(_progress(data, workshop, alice.id))
        http = httpx.Client(base_url=live.url, timeout=30)
        before = _state(http, teacher, alice, workshop, kb, rag)
        assert before['progress'] == [('Alice', 1, {'Say hello': 'manual', 'Ask a follow-up': ''})]
        assert before['retrieved']['passages'][0]['document_name'] == 'llamas.md'

        served, stop = [], threading.Event()

        def keep_asking() -> None:  # the platform keeps answering while the backup runs
            with httpx.Client(base_url=live.url, timeout=30) as client:
                while not stop.is_set():
                    served.append(client.post(f'/api/v1/rag/{rag}/retrieve', json=QUESTION,
                                              headers=alice.headers).status_code)  # fmt: skip

        asker = threading.Thread(target=keep_asking)
        asker.start()
        started = time.monotonic()
        try:
            made = _manage('backup', '--output', str(archive), data_dir=data)
        finally:
            stop.set()
            asker.join()
        seconds = time.monotonic() - started
        assert made.returncode == 0, made.stderr
        assert served and set(served) == {200}, served
        assert (data / 'milvus.port').is_file()  # where the app's Lite server listens, for the backup
        print(f'\nbackup: {archive.stat().st_size / 1e3:.0f} kB in {seconds:.1f} s; {made.stdout.strip()}')
        browser_cookies = dict(browser.cookies)

    assert not (data / 'milvus.port').exists()  # removed when the app stopped
    assert archive.stat().st_mode & 0o077 == 0  # secrets inside: readable by its owner only
    manifest = backups.read_manifest(archive)
    assert manifest['database'] == 'sqlite' and manifest['storage_secret'] == 'file'
    assert manifest['migration'] == backups.newest_migration() and manifest['app_version'] == backups.app_version()
    assert {'database/platform.db', 'uploads/', 'storage/', 'storage_secret'} <= set(manifest['contents'])
    [collection] = manifest['collections']
    assert collection['rows'] >= 3 and collection['dimension'] == 768

    secret = (data / 'storage_secret').read_text()
    shutil.rmtree(data)
    restored = _manage('restore', str(archive), data_dir=data)
    assert restored.returncode == 0, restored.stderr
    assert (data / 'storage_secret').read_text() == secret

    app = LiveApp(data_dir=data, ollama=ollama_server, extra_env=env)
    app.start()
    try:
        with httpx.Client(base_url=app.url, timeout=30) as http:
            assert _state(http, teacher, alice, workshop, kb, rag) == before
            signed_in = http.post('/api/bench/login', params={'email': 'alice@example.org', 'password': PASSWORD})
            assert signed_in.status_code == 200 and signed_in.json() == {'user_id': alice.id}
            assert http.post('/api/bench/login', params={'email': 'alice@example.org', 'password': 'wrong-horse-42'}
                             ).status_code == 401  # fmt: skip
        with httpx.Client(base_url=app.url, timeout=30, cookies=browser_cookies) as browser:
            acted = browser.post('/api/bench/act')  # the session from before the backup is still signed in
            assert acted.status_code == 200, acted.text
    finally:
        app.stop()


def test_a_postgresql_platform_is_dumped_and_restored_into_an_empty_database(tmp_path: Path) -> None:
    server = PostgresServer().start()
    try:
        source, target = server.url, server.url.rsplit('/', 1)[0] + '/restored'
        created = subprocess.run(['psql', '--no-psqlrc', f'--dbname={source}', '-c', 'CREATE DATABASE restored'],
                                 capture_output=True, text=True)  # fmt: skip
        assert created.returncode == 0, created.stderr
        assert _manage('create-admin', 'ada@example.org', data_dir=tmp_path / 'a', database_url=source).returncode == 0
        archive = tmp_path / 'pg.tar.gz'
        made = _manage('backup', '--output', str(archive), data_dir=tmp_path / 'a', database_url=source)
        assert made.returncode == 0, made.stderr
        manifest = backups.read_manifest(archive)
        assert manifest['database'] == 'postgres' and 'database/platform.pgdump' in manifest['contents']
        restored = _manage('restore', str(archive), data_dir=tmp_path / 'b', database_url=target)
        assert restored.returncode == 0, restored.stderr
        users = _manage('list-users', '--json', data_dir=tmp_path / 'b', database_url=target)
        assert [(u['email'], u['role']) for u in json.loads(users.stdout)] == [('ada@example.org', 'admin')]
        again = _manage('restore', str(archive), data_dir=tmp_path / 'c', database_url=target)
        assert again.returncode == 1 and 'The PostgreSQL database of DATABASE_URL is not empty' in again.stderr
    finally:
        server.stop()


# ----- refusals, in-process ----------------------------------------------------------------------------------------
@pytest.fixture
def small_backup(tmp_path: Path) -> Path:
    settings = Settings(data_dir=tmp_path / 'source')
    settings.ensure_dirs()

    async def migrated() -> None:
        await db.open_database(settings.db_url)
        await db.close_database()

    asyncio.run(migrated())
    return backups.backup(settings, tmp_path / 'small.tar.gz').path


def _with_manifest(archive: Path, **changes) -> Path:
    """A copy of `archive` whose manifest says otherwise."""
    changed = archive.with_name('changed.tar.gz')
    with tarfile.open(archive, 'r:gz') as source, tarfile.open(changed, 'w:gz') as target:
        for member in source.getmembers():
            if member.name == 'manifest.json':
                body = json.dumps(json.load(source.extractfile(member)) | changes).encode()
                member.size = len(body)
                target.addfile(member, io.BytesIO(body))
            else:
                target.addfile(member, source.extractfile(member) if member.isfile() else None)
    return changed


def test_restore_refuses_a_data_directory_that_is_not_empty(small_backup: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / 'target'
    target.mkdir()
    (target / 'notes.txt').write_text('mine')
    assert manage.main(['restore', str(small_backup), '--data-dir', str(target)]) == 1
    assert f'Refused: {target} is not empty: a backup is only restored into an empty or new data directory' in (
        capsys.readouterr().err
    )
    assert [p.name for p in target.iterdir()] == ['notes.txt']
    assert manage.main(['restore', str(small_backup), '--data-dir', str(tmp_path / 'new')]) == 0
    assert (tmp_path / 'new' / 'platform.db').is_file()


@pytest.mark.parametrize(
    'changes', [{'migration': '99_20991231000000_future.py'}, {'app_version': '99.0.0'}], ids=['migration', 'version']
)
def test_restore_refuses_a_backup_made_by_newer_code(small_backup: Path, tmp_path: Path, capsys, changes) -> None:
    newer = _with_manifest(small_backup, **changes)
    assert manage.main(['restore', str(newer), '--data-dir', str(tmp_path / 'new')]) == 1
    error = capsys.readouterr().err
    assert 'Refused: This backup was made by newer code' in error and 'update the platform first' in error
    assert not (tmp_path / 'new').exists()


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path, capsys) -> None:
    junk = tmp_path / 'junk.tar.gz'
    junk.write_bytes(b'not a tarball')
    assert manage.main(['restore', str(junk), '--data-dir', str(tmp_path / 'new')]) == 1
    assert 'is not a platform backup' in capsys.readouterr().err


def test_a_lite_platform_moves_to_a_milvus_server_by_backup_and_restore(
    tmp_path: Path,
    ollama_server,
    milvus_server: str,  # noqa: F811
) -> None:
    """The way from one container to several processes (issue 16 item 5): back up the platform on Milvus Lite, restore
    it with MILVUS_URI naming a Milvus server (here the one `milvus-lite server` starts): the collections go into the
    server as they were, no re-embedding, and retrieval answers as before."""
    data, archive = tmp_path / 'data', tmp_path / 'platform.tar.gz'
    with running_app(tmp_path, ollama_server, ('admin', 'teacher', 'alice'), **ENV) as (live, accounts):
        teacher, alice = accounts['teacher'], accounts['alice']
        workshop, kb, rag = asyncio.run(_build(live.url, teacher, alice))
        with httpx.Client(base_url=live.url, timeout=30) as http:
            before = _state(http, teacher, alice, workshop, kb, rag)
        made = _manage('backup', '--output', str(archive), data_dir=data)
        assert made.returncode == 0, made.stderr
    moved = tmp_path / 'on-server'
    restored = _manage('restore', str(archive), data_dir=moved, milvus_uri=milvus_server)
    assert restored.returncode == 0, restored.stderr
    assert not (moved / 'milvus.db').exists()  # nothing in a Lite file: the vectors are on the server
    app = LiveApp(data_dir=moved, ollama=ollama_server, extra_env=ENV | {'MILVUS_URI': milvus_server})
    app.start()
    try:
        with httpx.Client(base_url=app.url, timeout=30) as http:
            assert _state(http, teacher, alice, workshop, kb, rag) == before
    finally:
        app.stop()
    again = _manage('restore', str(archive), data_dir=tmp_path / 'twice', milvus_uri=milvus_server)
    assert again.returncode == 1 and 'already has the collection' in again.stdout + again.stderr
