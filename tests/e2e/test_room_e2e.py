"""In real Chromium, two people in one room with one generation slot: the second one sees that their reply waits for
a free slot (and how many calls are ahead), and gets it as soon as the first reply is stopped.

Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp, screenshot, sign_up
from tests.ollama_server import OllamaTestServer


@pytest.fixture
def one_slot_app(tmp_path: Path, ollama: OllamaTestServer):
    ollama.come_up()
    ollama.reset()
    app = LiveApp(data_dir=tmp_path / 'data', ollama=ollama, extra_env={'OLLAMA_SLOTS': '1'})
    app.start()
    yield app
    app.stop()


def test_a_waiting_reply_shows_its_place_and_starts_when_a_slot_frees(one_slot_app: LiveApp, new_page) -> None:
    app = one_slot_app
    admin = new_page()
    sign_up(admin, app, 'Admin', 'admin@example.org')  # the first account is the admin; the others attend
    first, second = new_page(), new_page()
    sign_up(first, app, 'Ada', 'ada@example.org')
    sign_up(second, app, 'Bob', 'bob@example.org')
    app.ollama.token_delay = 0.05
    app.ollama.response_tokens = 400  # about 20 s: the only slot stays taken

    first.goto(f'{app.url}/playground?model=llama3.2:latest')
    box = first.get_by_placeholder('Your message (Ctrl+Enter sends)')
    box.fill('a long story please')
    box.press('Control+Enter')
    expect(first.get_by_text('You said: a long story please.')).to_be_visible(timeout=15_000)

    second.goto(f'{app.url}/playground?model=llama3.2:latest')
    box = second.get_by_placeholder('Your message (Ctrl+Enter sends)')
    box.fill('my turn')
    box.press('Control+Enter')
    expect(second.get_by_text('Waiting for a free slot — you are next.')).to_be_visible(timeout=10_000)
    screenshot(second, 'room-waiting-for-a-slot')
    app.ollama.response_tokens = 20

    first.get_by_role('button', name='Stop').click()  # the slot frees at once
    expect(first.get_by_text('Stopped: the answer above is incomplete.')).to_be_visible(timeout=10_000)
    expect(second.get_by_text('You said: my turn.')).to_be_visible(timeout=10_000)
    expect(second.get_by_text('Waiting for a free slot')).to_be_hidden()
    screenshot(second, 'room-slot-granted')
