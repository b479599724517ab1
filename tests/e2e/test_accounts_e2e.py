"""A new user in real Chromium: sign up, sign out, sign in, home page; sessions survive a restart."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveApp, screenshot, sign_in, sign_up


def test_new_user_signs_up_logs_in_and_sees_home(page: Page, live_app: LiveApp) -> None:
    page.goto(live_app.url)
    expect(page).to_have_url(f'{live_app.url}/login?next=%2F')
    sign_up(page, live_app, 'Ada Lovelace', 'ada@example.org')
    expect(page.get_by_text('Signed in as ada@example.org (admin)')).to_be_visible()  # the first account is admin
    expect(page.get_by_text('Ollama: up')).to_be_visible()
    screenshot(page, 'home-admin')

    page.goto(f'{live_app.url}/logout')  # a GET only offers the sign-out (a POST from this site)
    page.get_by_role('button', name='Sign out').click()
    page.get_by_role('button', name='Sign in').wait_for()
    page.get_by_label('Email').fill('ada@example.org')
    page.get_by_label('Password', exact=True).fill('wrong-password-1')
    page.get_by_role('button', name='Sign in').click()
    expect(page.get_by_text('Wrong email or password.')).to_be_visible()
    screenshot(page, 'login-error')

    sign_in(page, live_app, 'ada@example.org')
    expect(page.get_by_text('Welcome, Ada Lovelace')).to_be_visible()
    expect(page.get_by_text('Users').first).to_be_visible()


def test_users_and_sessions_survive_a_restart(page: Page, live_app: LiveApp) -> None:
    sign_up(page, live_app, 'Ada', 'ada@example.org')
    live_app.restart()
    page.goto(live_app.url)
    expect(page.get_by_text('Welcome, Ada')).to_be_visible()  # still signed in: session kept
    page.goto(f'{live_app.url}/logout')
    page.get_by_role('button', name='Sign out').click()
    expect(page.get_by_label('Email')).to_be_visible()  # signed out (the POST lands on /login) before going on
    sign_in(page, live_app, 'ada@example.org')  # the account is still there


def test_ollama_down_banner_in_the_browser(page: Page, live_app: LiveApp) -> None:
    sign_up(page, live_app, 'Ada', 'ada@example.org')
    live_app.ollama.go_down()
    try:
        expect(page.get_by_text(f'Ollama at {live_app.ollama.url} is not reachable.')).to_be_visible(timeout=15_000)
        screenshot(page, 'ollama-down-banner')
    finally:
        live_app.ollama.come_up()
    expect(page.get_by_text('is not reachable')).to_have_count(0, timeout=15_000)


def test_markup_in_a_display_name_stays_text(page: Page, live_app: LiveApp) -> None:
    name = '<img src=x onerror="document.title=1">Mallory'
    sign_up(page, live_app, name, 'mallory@example.org')
    expect(page.get_by_text(f'Welcome, {name}')).to_be_visible()  # shown literally
    assert page.locator('img[src="x"]').count() == 0
    assert page.title() != '1'
