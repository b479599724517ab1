"""Shared fixtures: the Ollama-compatible test server and an isolated data directory per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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


# Playwright's sync API runs an event loop of its own and cannot share a pytest process with pytest-asyncio's tests
# (nor with fixtures calling asyncio.run): browser tests run in pytest runs of their own (scripts/test.sh:
# tests/e2e, then `-m browser tests/security`).
BROWSER_FIXTURES = frozenset({'page', 'new_page', 'browser', 'live_app', 'signed_in_page'})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if 'e2e' in item.path.parts or BROWSER_FIXTURES & set(getattr(item, 'fixturenames', ())):
            item.add_marker('browser')
