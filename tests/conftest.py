"""Shared fixtures: the Ollama-compatible test server and an isolated data directory per test."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nicegui import context
from nicegui.testing import User
from nicegui.testing.general_fixtures import get_path_to_main_file
from nicegui.testing.user_navigate import UserNavigate
from nicegui.testing.user_simulation import user_simulation

from tests.ollama_server import OllamaTestServer


@pytest.fixture(scope='session')
def ollama_session() -> Iterator[OllamaTestServer]:
    server = OllamaTestServer().start()
    yield server
    server.stop()


@pytest.fixture
def ollama_server(ollama_session: OllamaTestServer) -> Iterator[OllamaTestServer]:
    """The test server, reset to its defaults (models, switches, counters) for each test."""
    ollama_session.come_up()
    ollama_session.reset()
    yield ollama_session
    ollama_session.come_up()
    ollama_session.reset()


@pytest.fixture
def app_env(tmp_path: Path, ollama_server: OllamaTestServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment for an app started in this test: its own data directory and the test server as Ollama."""
    data = tmp_path / 'data'
    monkeypatch.setenv('DATA_DIR', str(data))
    monkeypatch.setenv('OLLAMA_HOST', ollama_server.url)
    monkeypatch.setenv('OLLAMA_HEALTH_INTERVAL', '3600')
    monkeypatch.setenv('STORAGE_SECRET', 'test-secret-not-for-production')
    monkeypatch.delenv('DATABASE_URL', raising=False)
    monkeypatch.delenv('MILVUS_URI', raising=False)
    return data


@pytest.fixture
async def user(caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest) -> AsyncIterator[User]:
    """NiceGUI's simulated `user` (app.py started in-process), overriding the plugin's fixture for one reason: its
    check for ERROR logs failed inside the simulation, and NiceGUI's lifespan has no `finally`, so the app's
    shutdown never ran. The database, Milvus Lite and the background jobs of that test stayed open, and the tests
    after it found a half-started app (on a loaded CI machine: a run that hung). The same check runs here once the
    app has shut down, and names the logged errors."""
    async with user_simulation(main_file=get_path_to_main_file(request)) as simulated:
        yield simulated
    errors = [record for record in caplog.get_records('call') if record.levelname == 'ERROR']
    if errors:
        names = '; '.join(f'{record.name}: {record.getMessage()}' for record in errors)
        pytest.fail(f'There were unexpected ERROR logs: {names}', pytrace=False)


@pytest.fixture(autouse=True)
def _each_browser_navigates_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """In NiceGUI's simulation `ui.navigate` acts for whichever `User` had an attribute read last, and reading
    happens in the background too (its simulated emit reads two for every update sent to its page). So with two
    users, a live page of the first (an instructor's dashboard updating as an attendee joins) took over the second
    user's navigation: the attendee's join sent the instructor's browser to the workshop (1 run in 3 on a loaded
    machine). Here, as in real browsers, a page event navigates the browser whose page it came from."""
    owners: weakref.WeakValueDictionary[str, User] = weakref.WeakValueDictionary()
    original_patch, original_to = User._patch_outbox_emit_function, UserNavigate.to

    def patch_emit(self: User) -> None:
        owners[object.__getattribute__(self, 'client').id] = self
        original_patch(self)

    def to(self: UserNavigate, target, new_tab: bool = False) -> None:
        try:
            owner = owners.get(context.client.id)
        except RuntimeError:  # not called from a page
            owner = None
        navigate = object.__getattribute__(owner, 'navigate') if owner is not None else self
        original_to(navigate, target, new_tab)

    monkeypatch.setattr(User, '_patch_outbox_emit_function', patch_emit)
    monkeypatch.setattr(UserNavigate, 'to', to)


# Playwright's sync API runs an event loop of its own and cannot share a pytest process with pytest-asyncio's tests
# (nor with fixtures calling asyncio.run): browser tests run in pytest runs of their own (scripts/test.sh:
# tests/e2e, then `-m browser tests/security`).
BROWSER_FIXTURES = frozenset({'page', 'new_page', 'browser', 'live_app', 'signed_in_page'})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if 'e2e' in item.path.parts or BROWSER_FIXTURES & set(getattr(item, 'fixturenames', ())):
            item.add_marker('browser')
