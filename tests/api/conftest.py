"""API tests: the app runs in-process (NiceGUI's user simulation starts it); requests go through httpx's ASGI
transport, so every middleware, dependency and error handler is exercised as in production."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from nicegui import app
from nicegui.testing import User

from models import Role
from models import User as UserRow
from services.wiring import Services

PASSWORD = 'correct-horse-42'


@pytest.fixture(autouse=True)
def _api_env(app_env) -> None:
    """Every API test gets its own data directory and the Ollama test server (before the app starts)."""


@pytest.fixture
async def services(user: User) -> Services:
    await app.state.startup.ready.wait()
    return app.state.services


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url='http://test') as http:
        yield http


@dataclass(kw_only=True, slots=True)
class Account:
    id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {'Authorization': f'Bearer {self.token}'}


@pytest.fixture
def account(services: Services) -> Callable[..., Awaitable[Account]]:
    """An account (the first one becomes admin) with a personal API token."""

    async def make(email: str, role: str = 'attendee', name: str = 'Someone') -> Account:
        info = await services.auth.signup(email, name, PASSWORD)
        if info.role.value != role:
            admin = await UserRow.filter(role=Role.ADMIN).order_by('id').first()
            await services.auth.set_role(admin.id, info.id, Role(role))
        new = await services.tokens.create(info.id, 'tests')
        return Account(id=info.id, email=email, token=new.secret)

    return make


@pytest.fixture
async def admin(account) -> Account:
    return await account('ada@example.org', 'admin', 'Ada')


@pytest.fixture
async def instructor(admin, account) -> Account:
    return await account('ivan@example.org', 'instructor', 'Ivan')


@pytest.fixture
async def alice(admin, account) -> Account:
    return await account('alice@example.org', 'attendee', 'Alice')


@pytest.fixture
async def bob(admin, account) -> Account:
    return await account('bob@example.org', 'attendee', 'Bob')


def assert_problem(response: httpx.Response, status: int, text: str = '') -> dict:
    assert response.status_code == status, response.text
    assert response.headers['content-type'].startswith('application/problem+json')
    body = response.json()
    assert set(body) == {'type', 'title', 'status', 'detail'}
    assert body['status'] == status
    assert text in body['detail'], body['detail']
    return body
