"""UI tests run app.py in-process with NiceGUI's simulated `user`; each test gets a fresh data directory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from nicegui import app
from nicegui.testing import User

from models import Role
from models import User as UserRow
from services.wiring import Services

PASSWORD = 'correct-horse-42'


@pytest.fixture(autouse=True)
def _ui_env(app_env) -> None:
    """Every UI test gets its own data directory and the Ollama test server (before the app starts)."""


@pytest.fixture
async def services(user: User) -> Services:
    """The services of the app under test (built once by app.py, as in production), once start-up is done."""
    await app.state.startup.ready.wait()
    return app.state.services


async def sign_up(user: User, name: str, email: str, password: str = PASSWORD) -> None:
    await user.open('/signup')
    user.find(marker='name').type(name)
    user.find(marker='email').type(email)
    user.find(marker='password').type(password)
    user.find(marker='password-confirm').type(password)
    user.find(marker='submit').click()
    await user.should_see(f'Welcome, {name}', retries=50)


async def sign_in(user: User, email: str, password: str = PASSWORD, *, ok: bool = True) -> None:
    """Fill in the sign-in form; with `ok`, wait until the home page greets the user."""
    await user.open('/login')
    user.find(marker='email').type(email)
    user.find(marker='password').type(password)
    user.find(marker='submit').click()
    if ok:
        await user.should_see('Welcome', retries=50)


@pytest.fixture
def make_account(services: Services) -> Callable[..., Awaitable[int]]:
    """Create an account directly through the service (the first one becomes admin)."""

    async def make(email: str, name: str = 'Someone', role: str | None = None) -> int:
        info = await services.auth.signup(email, name, PASSWORD)
        if role and info.role.value != role:
            admin = await UserRow.filter(role=Role.ADMIN).order_by('id').first()
            await services.auth.set_role(admin.id, info.id, Role(role))
        return info.id

    return make


@pytest.fixture(autouse=True)
def _patient_should_see(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wait up to ~3 s (not NiceGUI's default 0.3 s) for things to appear or vanish: password hashing and a busy
    2-core CI machine make 0.3 s flaky. Assertions stay the same; only the patience grows."""
    see, not_see = User.should_see, User.should_not_see

    async def should_see(self, target=None, *, retries: int = 30, **kwargs):
        return await see(self, target, retries=retries, **kwargs)

    async def should_not_see(self, target=None, *, retries: int = 30, **kwargs):
        return await not_see(self, target, retries=retries, **kwargs)

    monkeypatch.setattr(User, 'should_see', should_see)
    monkeypatch.setattr(User, 'should_not_see', should_not_see)
