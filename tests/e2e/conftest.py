"""Browser tests: the app runs as a real subprocess (python app.py) against the Ollama test server, and Playwright
drives a real Chromium (Debian's by default; set PLAYWRIGHT_CHROMIUM to use another executable).

Run them as their own pytest invocation (`pytest tests/e2e`): Playwright's sync API and pytest-asyncio's loop
must not share a process.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.ollama_server import OllamaTestServer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / 'test-artifacts'
PASSWORD = 'correct-horse-42'
expect.set_options(timeout=15_000)  # a busy 2-core CI machine: wait up to 15 s for what a person would see
CHROMIUM_ARGS = [
    '--headless=new',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-dev-shm-usage',
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def chromium_executable() -> str:
    candidates = [
        os.environ.get('PLAYWRIGHT_CHROMIUM', ''),
        '/usr/bin/chromium',
        shutil.which('chromium') or '',
        shutil.which('chromium-browser') or '',
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("No Chromium found: install Debian's chromium package or set PLAYWRIGHT_CHROMIUM.")


@dataclass(kw_only=True)
class LiveApp:
    """The platform as a real server process."""

    data_dir: Path
    ollama: OllamaTestServer
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.port}'

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f'app-{self.port}.log'

    def launch(self) -> None:
        """Start the process without waiting for it (`wait_ready` waits)."""
        # not what in-process tests left in this process's environment (NICEGUI_STORAGE_PATH of another data dir)
        env = {k: v for k, v in os.environ.items() if not k.startswith(('PYTEST', 'NICEGUI_'))}
        env.update(
            DATA_DIR=str(self.data_dir),
            HOST='127.0.0.1',
            PORT=str(self.port),
            OLLAMA_HOST=self.ollama.url,
            STORAGE_SECRET='e2e-secret-not-for-production',
            OLLAMA_HEALTH_INTERVAL='2',
        )
        env.update(self.extra_env)  # may replace the above (STORAGE_SECRET='': the secret file in the data directory)
        with open(self.log_path, 'ab') as log:
            self.process = subprocess.Popen(
                [sys.executable, 'app.py'], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self) -> None:
        assert self.process is not None
        log = self.log_path
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f'the app exited with {self.process.returncode}; see {log.name}')
            try:
                if httpx.get(f'{self.url}/health/ready', timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f'the app did not become ready within 60 s; see {log.name}')

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope='session')
def ollama() -> Iterator[OllamaTestServer]:
    server = OllamaTestServer().start()
    yield server
    server.stop()


@pytest.fixture
def live_app(tmp_path: Path, ollama: OllamaTestServer) -> Iterator[LiveApp]:
    ollama.come_up()
    ollama.reset()
    app = LiveApp(data_dir=tmp_path / 'data', ollama=ollama)
    app.start()
    yield app
    app.stop()


@pytest.fixture(scope='session')
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Browser):
    """Make pages in fresh browser contexts (each one a separate person); all are closed after the test."""
    contexts = []

    def make(viewport: tuple[int, int] = (1366, 800)) -> Page:
        context = browser.new_context(viewport={'width': viewport[0], 'height': viewport[1]})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


def screenshot(page: Page, name: str) -> Path:
    """Save a screenshot as a test artefact (test-artifacts/NAME.png)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f'{name}.png'
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_up(page: Page, app: LiveApp, name: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f'{app.url}/signup')
    page.get_by_label('Display name').fill(name)
    page.get_by_label('Email').fill(email)
    page.get_by_label('Password', exact=True).fill(password)
    page.get_by_label('Repeat password').fill(password)
    page.get_by_role('button', name='Create account').click()
    page.get_by_text(f'Welcome, {name}').wait_for()


def sign_in(page: Page, app: LiveApp, email: str, password: str = PASSWORD) -> None:
    page.goto(f'{app.url}/login')
    page.get_by_label('Email').fill(email)
    page.get_by_label('Password', exact=True).fill(password)
    page.get_by_label('Password', exact=True).press('Enter')
    page.get_by_text('Welcome,').wait_for()


@pytest.fixture
def signed_in_page(live_app: LiveApp, new_page):
    """`signed_in_page(role)`: a page in a fresh browser context, signed in as a new user with that role.
    The first account of an instance is its admin; other roles are set by that admin on the users page."""
    admin_page: list[Page] = []

    def admin() -> Page:
        if not admin_page:
            page = new_page()
            sign_up(page, live_app, 'Admin', 'admin@example.org')
            admin_page.append(page)
        return admin_page[0]

    def make(role: str = 'attendee', name: str | None = None) -> Page:
        if role == 'admin':
            return admin()
        admin_page_ = admin()
        name = name or role.title()
        email = f'{name.lower().replace(" ", ".")}@example.org'
        page = new_page()
        sign_up(page, live_app, name, email)
        if role != 'attendee':
            admin_page_.goto(f'{live_app.url}/admin/users')
            admin_page_.get_by_label(f'Role of {email}').click()
            admin_page_.get_by_role('option', name=role.title()).click()
            admin_page_.get_by_text(f'{name} is now {role}.').wait_for()
            # the role change gives the person a new session id and their open page follows by itself: a reload of
            # ours may collide with that navigation (ERR_ABORTED), so open the home page until it is in
            for _attempt in range(5):
                try:
                    page.goto(f'{live_app.url}/')
                    break
                except PlaywrightError:
                    page.wait_for_timeout(500)
            page.get_by_text('Welcome,').wait_for()
        return page

    return make
