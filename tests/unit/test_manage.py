"""The admin command line (`python manage.py …`), run as an admin runs it: a subprocess on the platform's data
directory. Create the first admin without a browser, another admin, reset a password, deactivate, list, migrate,
check the configuration; refusals say why and exit 1, wrong settings exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from models import AuditEntry
from services.core import db
from services.core.auth import AuthService

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / 'data'


def manage(data: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ('DATABASE_URL', 'MILVUS_URI')}
    environment.update(DATA_DIR=str(data), STORAGE_SECRET='console-test', **env)
    return subprocess.run(
        [sys.executable, 'manage.py', *args], cwd=ROOT, env=environment, input=stdin, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


async def signs_in(data: Path, email: str, password: str) -> bool:
    await db.open_database(f'sqlite://{data / "platform.db"}')
    try:
        auth = AuthService(min_password_length=10, max_failures=5, window_seconds=60, signup_open_default=True)
        return (await auth.login(email, password)).email == email
    finally:
        await db.close_database()


def test_help_lists_every_command() -> None:
    run = subprocess.run([sys.executable, 'manage.py', '--help'], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0
    for command in ('create-admin', 'reset-password', 'deactivate', 'activate', 'list-users', 'migrate',
                    'check-config', 'health'):  # fmt: skip
        assert command in run.stdout
        sub = subprocess.run([sys.executable, 'manage.py', command, '--help'], cwd=ROOT, capture_output=True, text=True)
        assert sub.returncode == 0 and 'usage:' in sub.stdout


async def test_an_install_without_a_browser(data: Path) -> None:
    assert 'No accounts yet' in manage(data, 'list-users').stdout

    first = manage(data, 'create-admin', 'ada@example.org', '--name', 'Ada')
    assert first.returncode == 0, first.stderr
    password = first.stdout.split('shown once; change it after signing in): ')[1].strip()
    assert await signs_in(data, 'ada@example.org', password)

    second = manage(data, 'create-admin', 'grace@example.org', '--password-stdin', stdin='hopper-rules-1906\n')
    assert second.returncode == 0 and 'Password' not in second.stdout
    users = json.loads(manage(data, 'list-users', '--json').stdout)
    assert [(u['email'], u['role'], u['active']) for u in users] == [
        ('ada@example.org', 'admin', True), ('grace@example.org', 'admin', True)
    ]  # fmt: skip

    again = manage(data, 'create-admin', 'ADA@example.org')
    assert again.returncode == 1 and 'already exists' in again.stderr
    weak = manage(data, 'reset-password', 'grace@example.org', '--password-stdin', stdin='short\n')
    assert weak.returncode == 1 and 'at least 10 characters' in weak.stderr

    reset = manage(data, 'reset-password', 'grace@example.org')
    assert reset.returncode == 0
    assert await signs_in(data, 'grace@example.org', reset.stdout.split('(shown once): ')[1].strip())

    assert manage(data, 'deactivate', 'grace@example.org').returncode == 0
    last = manage(data, 'deactivate', 'ada@example.org')
    assert last.returncode == 1 and 'last active admin' in last.stderr
    unknown = manage(data, 'deactivate', 'nobody@example.org')
    assert unknown.returncode == 1 and 'no account with the email nobody@example.org' in unknown.stderr
    listing = manage(data, 'list-users').stdout
    assert 'deactivated  grace@example.org' in listing and 'active       ada@example.org' in listing

    await db.open_database(f'sqlite://{data / "platform.db"}')
    try:
        rows = [e.action for e in await AuditEntry.all() if e.details.get('via') == 'console']
    finally:
        await db.close_database()
    assert sorted(rows) == sorted(['user_created', 'user_created', 'password_reset', 'user_active'])


def test_migrate_and_check_config(data: Path) -> None:
    first = manage(data, 'migrate')
    assert first.returncode == 0 and first.stdout.startswith('Applied ')
    assert manage(data, 'migrate').stdout.strip() == 'The database is up to date.'
    ok = manage(data, 'check-config', METRICS_TOKEN='abc', OLLAMA_SLOTS='6')
    assert ok.returncode == 0 and 'OLLAMA_SLOTS=6' in ok.stdout and 'METRICS_TOKEN=(set)' in ok.stdout
    assert 'abc' not in ok.stdout
    bad = manage(data, 'check-config', OLLAMA_SLOTS='zero')
    assert bad.returncode == 2 and "OLLAMA_SLOTS='zero'" in bad.stderr and 'Traceback' not in bad.stderr


def test_health_of_a_platform_that_is_not_running(data: Path) -> None:
    run = manage(data, 'health', '--url', 'http://127.0.0.1:9')
    assert run.returncode == 1 and 'does not answer' in run.stderr
