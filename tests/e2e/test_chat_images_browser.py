"""In real Chromium: attach an image through the file picker, see its thumbnail, send it to a vision model, and see
the image again (loaded through the owner-only route) when the conversation is reopened. Screenshots go to
test-artifacts/."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.images import png


def test_attach_send_and_reopen_an_image(live_app, signed_in_page, tmp_path) -> None:
    page = signed_in_page('admin')
    picture = tmp_path / 'red.png'
    picture.write_bytes(png(24, 24))
    page.goto(f'{live_app.url}/playground?model=llava:7b')
    with page.expect_file_chooser() as chooser:
        page.get_by_role('button', name='Attach images').click()
    chooser.value.set_files(str(picture))
    expect(page.get_by_role('img', name='red.png')).to_be_visible(timeout=10_000)
    expect(page.get_by_role('button', name='Remove image red.png')).to_be_visible()
    screenshot(page, 'chat-image-attached')
    box = page.get_by_placeholder('Your message (Ctrl+Enter sends)')
    box.fill('What colour is this?')
    box.press('Control+Enter')
    expect(page.get_by_text('I see 1 image. You said: What colour is this.')).to_be_visible(timeout=15_000)
    page.reload()
    shown = page.get_by_role('img', name='red.png')
    expect(shown).to_be_visible(timeout=15_000)
    page.wait_for_function(  # the picture itself, fetched from the owner-only route
        "() => [...document.querySelectorAll('img')].some(i => i.src.includes('/images/') && i.naturalWidth === 24)",
        timeout=10_000,
    )
    screenshot(page, 'chat-image-history')
