"""Issue 14 item 11: sessions follow account changes at once. An admin resetting a password or deactivating an account
signs that person out of their open browser pages at once (Chromium against the app as a server process); the API
token half is in test_deactivated_tokens.py (in-process, apart from the browser's event loop)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveApp, sign_in, sign_up

NEW_PASSWORD = 'brand-new-pass-7'


def _row_button(admin: Page, email: str, icon: str):
    row = admin.get_by_label(f'Role of {email}').locator('xpath=ancestor::div[.//button//i][1]')
    return row.locator('button', has_text=icon)  # icon buttons: the icon's ligature is their text


def test_reset_password_and_deactivation_close_the_open_pages(live_app: LiveApp, new_page) -> None:
    admin = new_page()
    sign_up(admin, live_app, 'Admin', 'admin@example.org')
    bob = new_page()
    sign_up(bob, live_app, 'Bob', 'bob@example.org')
    expect(bob.get_by_text('Welcome, Bob')).to_be_visible()

    admin.goto(f'{live_app.url}/admin/users')
    _row_button(admin, 'bob@example.org', 'key').click()
    admin.get_by_label('New password').fill(NEW_PASSWORD)
    admin.get_by_role('button', name='Set password').click()
    expect(admin.get_by_text('Password of Bob was reset.')).to_be_visible()
    bob.wait_for_url('**/login*', timeout=5_000)  # the open page is sent to sign-in at once
    bob.goto(f'{live_app.url}/')
    bob.wait_for_url('**/login?next=*')  # and the browser is signed out
    sign_in(bob, live_app, 'bob@example.org', NEW_PASSWORD)  # the new password works

    admin.goto(f'{live_app.url}/admin/users')
    _row_button(admin, 'bob@example.org', 'block').click()
    admin.get_by_role('button', name='Deactivate', exact=True).click()
    expect(admin.get_by_text('Bob deactivated.')).to_be_visible()
    bob.wait_for_url('**/login*', timeout=5_000)
    bob.goto(f'{live_app.url}/')
    bob.wait_for_url('**/login?next=*')
    expect(admin.get_by_text('Welcome, Admin').or_(admin.get_by_text('Users').first)).to_be_visible()
    admin.goto(f'{live_app.url}/')
    expect(admin.get_by_text('Welcome, Admin')).to_be_visible()  # the admin's own session is untouched
