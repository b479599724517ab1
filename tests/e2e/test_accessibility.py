"""Accessibility (issue 19, item 7): axe-core finds no serious or critical violation on any main page, for an
attendee, an instructor and an admin, in light and in dark mode (colour contrast included), nor on the pages
before signing in. Keyboard use and live regions are tested in tests/e2e/test_keyboard.py."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from tests.e2e.axe import report, settle, violations
from tests.e2e.conftest import LiveApp

TEMPLATE_TITLE = 'Introduction to local LLMs with Ollama'
ANONYMOUS = ['/login', '/signup', '/join']
ATTENDEE = ['/', '/models', '/playground', '/compare', '/prompts', '/prompts/new', '/tools', '/tools/new',
            '/tools/chat', '/knowledge', '/embeddings', '/rag', '/workshops', '/tokens', '/usage']  # fmt: skip
ADMIN = ['/admin/users', '/admin/hosts', '/admin/audit', '/admin/http-allowlist', '/quotas']


def _check(page: Page, base: str, paths: list[str], found: dict[str, list[dict]], label: str) -> None:
    for path in paths:
        page.goto(base + path)
        settle(page)
        if items := violations(page):
            found[f'{label} {path}'] = items


def _dark(page: Page, on: bool) -> None:
    """Dark mode through the header's own button (kept for the browser)."""
    is_dark = page.evaluate('() => document.body.classList.contains("body--dark")')
    if is_dark != on:
        page.get_by_role('button', name='Dark mode').click()
        page.wait_for_function(f'() => document.body.classList.contains("body--dark") === {str(on).lower()}')


def _both_modes(page: Page, base: str, paths: list[str], role: str) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for dark in (False, True):
        page.goto(base + '/')
        settle(page)
        _dark(page, dark)
        _check(page, base, paths, found, f'{role} ({"dark" if dark else "light"})')
    return found


@pytest.fixture
def room(live_app: LiveApp, signed_in_page, new_page) -> dict:
    """An instructor with the ready template started, and an attendee who joined it."""
    teacher = signed_in_page('instructor', 'Teacher')
    teacher.goto(f'{live_app.url}/workshops')
    teacher.get_by_role('button', name='Create from the ready template').click()
    teacher.get_by_text(f'Workshop created: {TEMPLATE_TITLE}').wait_for()
    teacher.get_by_role('button', name='Open the workshop').click()
    teacher.get_by_role('button', name='Start workshop').click()
    teacher.get_by_role('button', name='Open dashboard').click()
    code = teacher.get_by_text(re.compile(r'^[A-HJ-NP-Z2-9]{6}$')).first.inner_text()
    teacher.wait_for_url(re.compile(r'/workshops/\d+/dashboard'))
    workshop = re.search(r'/workshops/(\d+)/dashboard', teacher.url).group(1)
    attendee = new_page()  # joins by code, as most of a room does
    attendee.goto(f'{live_app.url}/join')
    attendee.get_by_label('Join code').fill(code)
    attendee.get_by_label('Your name').fill('Ann')
    attendee.get_by_role('button', name='Join').click()
    attendee.get_by_text(re.compile(r'Step 1 of \d+')).wait_for()
    return {'teacher': teacher, 'attendee': attendee, 'workshop': workshop, 'admin': signed_in_page('admin')}


def test_pages_before_signing_in(live_app: LiveApp, new_page) -> None:
    page = new_page()
    found: dict[str, list[dict]] = {}
    _check(page, live_app.url, ANONYMOUS, found, 'signed out')
    assert not found, 'axe-core found serious or critical violations:\n' + report(found)


def test_attendee_pages(live_app: LiveApp, room: dict) -> None:
    w = room['workshop']
    paths = [*ATTENDEE, f'/workshops/{w}', f'/workshops/{w}/arena']
    found = _both_modes(room['attendee'], live_app.url, paths, 'attendee')
    assert not found, 'axe-core found serious or critical violations:\n' + report(found)


def test_instructor_pages(live_app: LiveApp, room: dict) -> None:
    w = room['workshop']
    paths = [f'/workshops/{w}', f'/workshops/{w}/dashboard', f'/workshops/{w}/dashboard?projector=true',
             f'/workshops/{w}/summary', f'/workshops/{w}/gallery', f'/workshops/{w}/timeline']  # fmt: skip
    found = _both_modes(room['teacher'], live_app.url, paths, 'instructor')
    assert not found, 'axe-core found serious or critical violations:\n' + report(found)


def test_admin_pages(live_app: LiveApp, room: dict) -> None:
    found = _both_modes(room['admin'], live_app.url, [*ADMIN, '/models', '/'], 'admin')
    assert not found, 'axe-core found serious or critical violations:\n' + report(found)


def test_a_knowledge_base_page(live_app: LiveApp, signed_in_page, tmp_path) -> None:
    """A knowledge base with a document: its uploader, documents, chunk preview and ingestion controls."""
    page = signed_in_page('attendee', 'Kim')
    page.goto(f'{live_app.url}/knowledge')
    page.get_by_role('button', name='New knowledge base').click()
    page.get_by_label('Name', exact=True).fill('Notes')
    page.get_by_label('Embedding model', exact=True).click()
    page.get_by_role('option', name='nomic-embed-text:latest', exact=True).click()
    page.get_by_role('button', name='Create', exact=True).click()
    page.get_by_text('No documents yet.').wait_for()
    notes = tmp_path / 'notes.md'
    notes.write_text('# Notes\n\nLlamas graze in the Andes.\n')
    settle(page)  # the page draws its lists after opening: focus the control of the finished page
    picker = page.get_by_label('Pick files')  # the uploader's own control: named, and opened from the keyboard
    with page.expect_file_chooser() as chooser:
        picker.press('Enter')  # focus it (as Tab does), then Enter
    chooser.value.set_files([notes])
    page.get_by_text('"notes.md" uploaded.').wait_for()
    found: dict[str, list[dict]] = {}
    for dark in (False, True):
        _dark(page, dark)
        settle(page)
        if items := violations(page):
            found[f'knowledge base ({"dark" if dark else "light"})'] = items
    assert not found, 'axe-core found serious or critical violations:\n' + report(found)
