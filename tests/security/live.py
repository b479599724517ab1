"""The app as a real server subprocess for attacks that need real HTTP (body limits, memory of uploads): accounts with
personal API tokens written to a fresh data directory first, then `python app.py` on a free loopback port."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from config import Settings
from models import Role
from services.core import db
from services.core.audit import AuditService
from services.core.auth import AuthService
from services.core.tokens import TokenService
from tests.e2e.conftest import LiveApp
from tests.ollama_server import OllamaTestServer

PASSWORD = 'correct-horse-42'


@dataclass
class Account:
    id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {'Authorization': f'Bearer {self.token}'}


async def _accounts(data_dir: Path, names: tuple[str, ...]) -> dict[str, Account]:
    settings = Settings(data_dir=data_dir)
    settings.ensure_dirs()
    await db.open_database(settings.db_url)
    try:
        auth = AuthService(min_password_length=10, max_failures=5, window_seconds=60, signup_open_default=True)
        tokens = TokenService(auth, AuditService(auth))
        made, admin = {}, None
        for name in names:
            user = await auth.signup(f'{name}@example.org', name.title(), PASSWORD)
            admin = admin or user.id
            if name.startswith('teacher'):
                await auth.set_role(admin, user.id, Role.INSTRUCTOR)
            made[name] = Account(user.id, (await tokens.create(user.id, 'tests')).secret)
        return made
    finally:
        await db.close_database()


@contextmanager
def running_app(
    tmp_path: Path, ollama: OllamaTestServer, names: tuple[str, ...] = ('admin', 'alice'), **env: str
) -> Iterator[tuple[LiveApp, dict[str, Account]]]:
    """The app running on `tmp_path/data` with these accounts (the first is the admin) and extra settings."""
    data = tmp_path / 'data'
    saved = {k: os.environ.get(k) for k in ('DATA_DIR', 'DATABASE_URL')}
    os.environ['DATA_DIR'] = str(data)
    os.environ.pop('DATABASE_URL', None)
    try:
        # in a thread of its own: a Playwright test's thread already runs an event loop
        with ThreadPoolExecutor(1) as thread:
            accounts = thread.submit(asyncio.run, _accounts(data, names)).result()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    app = LiveApp(data_dir=data, ollama=ollama, extra_env=env)
    app.start()
    try:
        yield app, accounts
    finally:
        app.stop()
