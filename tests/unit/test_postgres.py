"""The same migrations and services on PostgreSQL: a DATABASE_URL is all it takes."""

from __future__ import annotations

from collections.abc import Iterator

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
