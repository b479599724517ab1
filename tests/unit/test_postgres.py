"""The same migrations and services on PostgreSQL: a DATABASE_URL is all it takes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from tortoise.backends.base.executor import EXECUTOR_CACHE

from models import ModelCall, Role, User
from services.core import db
from services.core.activity import ActivityService
from services.core.audit import AuditService
from services.core.auth import AuthService
from services.core.membership import Membership
from services.core.quotas import QuotaService
from tests.postgres import PostgresServer


@pytest.fixture(scope='module')
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_query_cache() -> Iterator[None]:
    """Tortoise caches compiled queries per model and connection name ('default'), not per dialect: a process that
    switches from SQLite to PostgreSQL (only this test suite does) must drop them."""
    EXECUTOR_CACHE.clear()
    yield
    EXECUTOR_CACHE.clear()


async def test_migrations_and_services_work_on_postgres(postgres: PostgresServer) -> None:
    applied = await db.open_database(postgres.url)
    try:
        assert applied and applied[0].startswith('0_')
        auth = AuthService(min_password_length=10, max_failures=3, window_seconds=60, signup_open_default=True)
        admin = await auth.signup('ada@example.org', 'Ada', 'correct-horse-42')
        assert admin.role == Role.ADMIN
        activity = await ActivityService(Membership()).record(admin.id, 'chat', model='m', details_key='value')
        assert activity.details == {'details_key': 'value'}
        await ModelCall.create(
            user_id=admin.id, purpose='api', kind='chat', model='m', host='h', counted=True, tokens=7
        )
        assert [
            u.tokens for u in await QuotaService(auth, AuditService(auth), Membership())._usage(admin.id, None)
        ] == []
        assert (await auth.login('ADA@example.org', 'correct-horse-42')).id == admin.id
    finally:
        await db.close_database()
    assert await db.open_database(postgres.url) == []  # nothing applied twice
    try:
        assert await User.filter(email='ada@example.org').count() == 1
    finally:
        await db.close_database()


START = """
import asyncio, json, sys
from services.core import db

async def main():
    applied = await db.open_database(sys.argv[1])
    await db.close_database()
    print(json.dumps(applied))

asyncio.run(main())
"""


def test_processes_starting_at_once_on_an_empty_database_migrate_once(postgres: PostgresServer) -> None:
    """Four app processes start at the same moment on one empty PostgreSQL database: one applies every migration, the
    others wait for it and apply nothing; none fails (without the lock: `UniqueViolationError` on `pg_type`)."""

    async def create() -> None:
        conn = await asyncpg.connect(postgres.url)
        await conn.execute('CREATE DATABASE race')
        await conn.close()

    asyncio.run(create())
    url = postgres.url.rsplit('/', 1)[0] + '/race'
    root = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen(
            [sys.executable, '-c', START, url], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    results = [(*p.communicate(timeout=120), p.returncode) for p in procs]
    assert all(code == 0 for _, _, code in results), [err[-2000:] for _, err, _ in results]
    applied = sorted((json.loads(out.strip().splitlines()[-1]) for out, _, _ in results), key=len)
    every = sorted(p.name for p in (db.MIGRATIONS / 'models').glob('[0-9]*_*.py'))
    assert applied[:3] == [[], [], []] and sorted(applied[3]) == every
