"""In real Chromium: create a prompt with two variables, run it against two models side by side, then hold a
conversation in which the model calls a tool. Screenshots go to test-artifacts/."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveApp, screenshot, sign_up


def pick(page: Page, label: str, *options: str) -> None:
    """Choose options in a Quasar select (single or multiple) by their visible text."""
    page.get_by_label(label).click()
    for option in options:
        page.get_by_role('option', name=option, exact=True).click()
    page.keyboard.press('Escape')


def test_prompt_side_by_side_then_a_tool_call(page: Page, live_app: LiveApp) -> None:
    sign_up(page, live_app, 'Ada', 'ada@example.org')
    page.goto(f'{live_app.url}/prompts/new')
    page.get_by_label('Name', exact=True).fill('Story teller')
    page.get_by_label('User template').fill('Tell {{audience}} about {{topic}}')
    page.get_by_role('button', name='Detect variables').click()
    expect(page.get_by_text('Added audience, topic.')).to_be_visible()
    page.get_by_role('button', name='Save').click()
    expect(page.get_by_text('Version 1 is current')).to_be_visible()

    page.get_by_label('topic').fill('rain')
    page.get_by_label('audience').fill('children')
    pick(page, 'Models (pick several to compare side by side)', 'llama3.2:latest', 'qwen3:0.6b')
    page.get_by_role('button', name='Run', exact=True).click()
    expect(page.get_by_text('You said: Tell children about rain.').first).to_be_visible()
    outputs = page.get_by_text('You said: Tell children about rain.').filter(visible=True)
    expect(outputs).to_have_count(2)  # one per model, not counting the copies in the collapsed 'Your earlier runs'
    screenshot(page, 'prompt-side-by-side')

    page.goto(f'{live_app.url}/tools/chat')
    pick(page, 'Tools the model may call', 'calculator (builtin)')
    box = page.get_by_placeholder('Message (Ctrl+Enter to send)')
    box.fill('call calculator {"expression": "1234 * 5678"}')
    box.press('Control+Enter')
    expect(page.get_by_text('Step 1: calculator')).to_be_visible()
    expect(page.get_by_text('7006652').first).to_be_visible()
    expect(page.get_by_text('The tool calculator returned').first).to_be_visible()
    screenshot(page, 'tool-chat')
