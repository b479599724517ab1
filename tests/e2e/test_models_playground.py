"""In real Chromium: pull a model (progress bar, then listed), chat with it (streamed text, Stop works).

Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot


def shot(page, name: str) -> None:
    screenshot(page, f'models-playground-{name}')


def test_pull_a_model_then_chat_with_it_and_stop(live_app, signed_in_page) -> None:
    page = signed_in_page('admin')
    live_app.ollama.pull_delay = 0.15
    page.goto(f'{live_app.url}/models')
    expect(page.get_by_text('llama3.2:latest').first).to_be_visible(timeout=15_000)
    page.get_by_label('Pull a model').fill('tinyllama')
    page.get_by_role('button', name='Pull').click()
    expect(page.get_by_text('Pulling tinyllama:latest', exact=True)).to_be_visible(timeout=10_000)
    expect(page.locator('.q-linear-progress').first).to_be_visible()
    shot(page, 'pull-progress')
    expect(page.get_by_text('done', exact=True)).to_be_visible(timeout=30_000)
    expect(page.get_by_text('tinyllama:latest', exact=True).first).to_be_visible(timeout=15_000)
    shot(page, 'pulled')

    live_app.ollama.token_delay = 0.05
    live_app.ollama.response_tokens = 400
    page.goto(f'{live_app.url}/playground?model=tinyllama:latest')
    box = page.get_by_placeholder('Your message (Ctrl+Enter sends)')
    box.fill('hello there')
    box.press('Control+Enter')
    expect(page.get_by_text('You said: hello there.')).to_be_visible(timeout=15_000)
    shot(page, 'streaming')
    page.get_by_role('button', name='Stop').click()
    expect(page.get_by_text('Stopped: the answer above is incomplete.')).to_be_visible(timeout=10_000)
    assert live_app.ollama.wait_for_disconnect()
    shot(page, 'stopped')
