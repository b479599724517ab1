"""Keyboard use and live regions (issue 19, item 7) in a real browser: the skip link is the first Tab stop and moves
focus into the content; focus is visible; a confirmation dialog keeps focus inside and gives it back; the streamed
answer of the playground is announced. (axe-core's checks are tests/e2e/test_accessibility.py.)"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.axe import settle
from tests.e2e.conftest import LiveApp

ACTIVE = """() => {
    const e = document.activeElement;
    const style = e ? getComputedStyle(e) : null;
    return e && {tag: e.tagName, id: e.id, cls: String(e.className), text: (e.innerText || '').trim().slice(0, 80),
                 inDialog: !!e.closest('.q-dialog'), outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
                 top: e.getBoundingClientRect().top, inMain: !!e.closest('#main-content')};
}"""


def active(page: Page) -> dict:
    return page.evaluate(ACTIVE)


def test_the_skip_link_is_the_first_tab_stop_and_moves_focus_to_the_content(live_app: LiveApp, signed_in_page) -> None:
    page = signed_in_page('admin')
    for path in ('/', '/prompts'):
        page.goto(live_app.url + path)
        settle(page)
        page.keyboard.press('Tab')
        first = active(page)
        assert first['tag'] == 'A' and 'skip-link' in first['cls'], f'{path}: the first Tab stop is {first}'
        assert first['text'] == 'Skip to content'
        assert first['top'] >= 0, 'the focused skip link is on screen'
        page.keyboard.press('Enter')
        page.wait_for_function('() => document.activeElement && document.activeElement.id === "main-content"')
        page.keyboard.press('Tab')  # the next stop is inside the content, past the header and the navigation
        assert active(page)['inMain'], f'{path}: after the skip link, Tab went to {active(page)}'


def test_a_focused_button_shows_a_visible_outline_in_light_and_dark(live_app: LiveApp, signed_in_page) -> None:
    page = signed_in_page('admin')
    for dark in (False, True):
        page.goto(live_app.url + '/')
        settle(page)
        if dark:
            page.get_by_role('button', name='Dark mode').click()
            page.wait_for_function('() => document.body.classList.contains("body--dark")')
        page.keyboard.press('Tab')  # the skip link
        page.keyboard.press('Tab')  # the menu button in the header
        focused = active(page)
        assert focused['tag'] == 'BUTTON', focused
        assert focused['outline'] != 'none' and focused['width'] >= 2, f'no visible focus outline: {focused}'
        page.locator('#main-content button, #main-content a').first.focus()  # a control in the content
        page.keyboard.press('Shift+Tab')
        page.keyboard.press('Tab')  # focus by keyboard: :focus-visible applies
        focused = active(page)
        assert focused['outline'] != 'none' and focused['width'] >= 2, f'no visible focus outline: {focused}'
    page.get_by_role('button', name='Dark mode').click()  # back to light for this browser


def test_a_confirmation_dialog_traps_focus_and_escape_returns_it(live_app: LiveApp, signed_in_page) -> None:
    page = signed_in_page('attendee')
    page.goto(f'{live_app.url}/playground?model=llama3.2:latest')
    box = page.get_by_placeholder('Your message (Ctrl+Enter sends)')
    box.fill('hello there')
    box.press('Control+Enter')
    expect(page.get_by_text('You said: hello there.')).to_be_visible()
    page.goto(f'{live_app.url}/playground')
    settle(page)
    delete = page.locator('button:has(i:text-is("delete"))').first  # the conversation's delete button
    delete.focus()
    page.keyboard.press('Enter')
    dialog = page.locator('.q-dialog')
    expect(dialog.get_by_text('Delete this conversation?')).to_be_visible()
    page.wait_for_function('() => !!document.activeElement.closest(".q-dialog")')
    seen = set()
    for _step in range(8):  # Tab cycles among the dialog's buttons and never reaches the page behind it
        page.keyboard.press('Tab')
        now = active(page)
        # past the last button focus may go to the browser itself (no element: <body>), as from a native modal
        # <dialog>, and the next Tab comes back into the dialog (Quasar catches focus landing outside)
        assert now['inDialog'] or now['tag'] == 'BODY', f'Tab left the dialog for the page behind it: {now}'
        if now['inDialog']:
            seen.add(now['text'].casefold())
    assert {'cancel', 'delete'} <= seen, seen
    for _step in range(4):
        page.keyboard.press('Shift+Tab')
        now = active(page)
        assert now['inDialog'] or now['tag'] == 'BODY', f'Shift+Tab left the dialog for the page behind it: {now}'
    if not active(page)['inDialog']:
        page.keyboard.press('Tab')
    assert active(page)['inDialog']
    page.keyboard.press('Escape')
    expect(dialog).to_have_count(0)
    page.wait_for_function('() => !document.activeElement.closest(".q-dialog")')
    assert delete.evaluate('(e) => e === document.activeElement'), f'focus went to {active(page)}'
    expect(page.get_by_text('hello there').first).to_be_visible()  # Escape cancelled: nothing was deleted


def test_the_streamed_answer_is_a_live_region(live_app: LiveApp, signed_in_page) -> None:
    page = signed_in_page('attendee')
    page.goto(f'{live_app.url}/playground?model=llama3.2:latest')
    box = page.get_by_placeholder('Your message (Ctrl+Enter sends)')
    box.fill('hello there')
    box.press('Control+Enter')
    answer = page.get_by_text('You said: hello there.')
    expect(answer).to_be_visible()
    live = answer.evaluate(
        '(e) => { const r = e.closest("[aria-live]"); return r && {live: r.getAttribute("aria-live"), '
        'role: r.getAttribute("role")}; }'
    )
    assert live is not None and live['live'] in ('polite', 'assertive'), (
        'the streamed answer is not inside an aria-live region'
    )
