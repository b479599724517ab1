"""Workshop templates in real Chromium: the ready template in one click with its report, the workshop it made, and
an exported file imported again through the upload. Screenshots are saved to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveApp, screenshot, sign_up

TITLE = 'Introduction to local LLMs with Ollama'


def test_ready_template_export_and_import_in_chromium(live_app: LiveApp, new_page, tmp_path: Path) -> None:
    teacher: Page = new_page((1400, 1000))
    sign_up(teacher, live_app, 'Teacher', 'teach@example.org')  # the first account is an admin

    teacher.goto(f'{live_app.url}/workshops')
    teacher.get_by_role('button', name='Create from the ready template').click()
    teacher.get_by_text(f'Workshop created: {TITLE}').wait_for()
    teacher.get_by_text('3 document(s), ingestion started').wait_for()
    teacher.mouse.move(5, 500)  # no tooltip over the list
    teacher.wait_for_timeout(600)  # the dialog has faded in
    screenshot(teacher, 'workshop-template-report')
    teacher.get_by_role('button', name='Open the workshop').click()
    teacher.get_by_text('7. Vote blind in the arena').wait_for()
    screenshot(teacher, 'workshop-from-template')

    with teacher.expect_download() as download:
        teacher.get_by_role('button', name='Export as template').click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == 'introduction-to-local-llms-with-ollama.workshop.json'

    teacher.goto(f'{live_app.url}/workshops')
    teacher.get_by_role('button', name='Import a template').click()
    teacher.locator('.q-uploader input[type=file]').set_input_files(str(saved))
    teacher.get_by_text(f'Workshop created: {TITLE}').wait_for()
    teacher.get_by_text('not in the file (exported without documents): upload it').first.wait_for()
    teacher.get_by_role('button', name='Close').click()
    expect(teacher.get_by_text(TITLE, exact=True)).to_have_count(2)  # the list: the first and the imported one
    expect(teacher.get_by_text('Workshop created')).to_have_count(0)
