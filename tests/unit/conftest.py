"""Unit tests of services run against an in-memory SQLite database migrated exactly as the app migrates it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from services.core import db
from services.core.auth import AuthService
from tests.redis_server import RedisServer


@pytest.fixture
async def database() -> AsyncIterator[None]:
    await db.open_database('sqlite://:memory:')
    yield
    await db.close_database()


@pytest.fixture
def auth(database) -> AuthService:
    return AuthService(min_password_length=10, max_failures=3, window_seconds=60, signup_open_default=True)


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    """A real Redis server (Debian's redis-server) on a free port, for what app processes share."""
    server = RedisServer().start()
    yield server
    server.stop()
