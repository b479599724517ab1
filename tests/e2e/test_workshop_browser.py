"""Workshop flow in real Chromium: an instructor and an attendee in two browser contexts. Screenshots of the dashboard
are saved to `test-artifacts/screenshots/` (git-ignored).

Self-contained (its own app subprocess and browser) until the shared e2e harness lands; run it on its own:
`pytest tests/e2e/test_workshop_browser.py` (sync Playwright must not share a process with running event loops).
Set PLAYWRIGHT_CHROMIUM to use another Chromium than /usr/bin/chromium.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ollama_server import OllamaTestServer

playwright_api = pytest.importorskip('playwright.sync_api')
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / 'test-artifacts' / 'screenshots'
CHROMIUM = os.environ.get('PLAYWRIGHT_CHROMIUM', '/usr/bin/chromium')
ARGS = ['--headless=new', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run']  # fmt: skip
PASSWORD = 'correct-horse-42'


@pytest.fixture(scope='module')
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f'no Chromium at {CHROMIUM}')
    ollama = OllamaTestServer().start()
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST')}
    env.update(DATA_DIR=str(tmp_path_factory.mktemp('e2e') / 'data'), PORT=str(port), OLLAMA_HOST=ollama.url,
               STORAGE_SECRET='e2e-secret', OLLAMA_HEALTH_INTERVAL='3600')  # fmt: skip
    server = subprocess.Popen([sys.executable, 'app.py'], cwd=ROOT, env=env)
    url = f'http://127.0.0.1:{port}'
    try:
        for _ in range(300):
            try:
                if httpx.get(f'{url}/health', timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(10)
        ollama.stop()


def test_instructor_and_attendee_in_chromium(app_url: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        teacher = browser.new_context(viewport={'width': 1400, 'height': 1000}).new_page()
        teacher.set_default_timeout(15000)
        # the first account is an admin, who may run workshops
        teacher.goto(f'{app_url}/signup')
        teacher.get_by_label('Display name').fill('Teacher')
        teacher.get_by_label('Email').fill('teach@example.org')
        teacher.get_by_label('Password', exact=True).fill(PASSWORD)
        teacher.get_by_label('Repeat password').fill(PASSWORD)
        teacher.get_by_role('button', name='Create account').click()
        teacher.get_by_text('Welcome, Teacher').first.wait_for()

        teacher.goto(f'{app_url}/workshops')
        teacher.get_by_role('button', name='New workshop').click()
        teacher.get_by_label('Title').fill('Browser workshop')
        teacher.get_by_role('button', name='Create').click()
        teacher.get_by_label('Step title').fill('Say hello')
        teacher.get_by_label('Instructions (markdown)').fill('Open the **chat** and greet the model.')
        teacher.get_by_role('button', name='Add step').click()
        teacher.get_by_text('1. Say hello').wait_for()
        teacher.get_by_role('button', name='Start workshop').click()
        teacher.get_by_role('button', name='Open dashboard').click()
        code = teacher.get_by_text(re.compile(r'^[A-HJ-NP-Z2-9]{6}$')).first.inner_text()

        attendee = browser.new_context().new_page()
        attendee.set_default_timeout(15000)
        attendee.goto(f'{app_url}/join')
        attendee.get_by_label('Join code').fill(code.lower())
        attendee.get_by_label('Your name').fill('Ann')
        attendee.get_by_role('button', name='Join').click()
        attendee.get_by_text('Step 1 of 1: Say hello').wait_for()
        attendee.get_by_text('see your workshop activity').wait_for()

        teacher.get_by_role('cell', name='Ann').first.wait_for()
        teacher.get_by_text('online').first.wait_for()
        attendee.get_by_role('checkbox', name='Say hello').click()
        teacher.get_by_text('Say hello: 1/1 done').wait_for()

        attendee.get_by_label('Question (optional)').fill('Which model should I use?')
        attendee.get_by_role('button', name='Raise hand').click()
        teacher.get_by_text('Which model should I use?').wait_for()
        teacher.screenshot(path=str(SHOTS / 'dashboard.png'), full_page=True)
        teacher.get_by_role('button', name='Resolve').click()
        attendee.get_by_text('Your question was resolved.').wait_for()

        teacher.get_by_label('Announcement to everyone').fill('Break until 11:00')
        teacher.get_by_role('button', name='Broadcast').click()
        attendee.get_by_text('Break until 11:00').first.wait_for()
        attendee.screenshot(path=str(SHOTS / 'attendee.png'), full_page=True)

        teacher.goto(teacher.url + '?projector=true')
        teacher.get_by_text('Attendee 1').wait_for()
        assert teacher.get_by_role('cell', name='Ann').count() == 0
        teacher.screenshot(path=str(SHOTS / 'dashboard-projector.png'), full_page=True)
        browser.close()
