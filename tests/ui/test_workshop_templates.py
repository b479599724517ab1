"""Workshop templates in the browser: the ready template in one click, importing a file with its report (and a
refused file), exporting from the manage page, and an attendee in another browser following the imported agenda."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable

from nicegui import ui
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User

from services.wiring import Services
from tests.ui.conftest import sign_in

TITLE = 'Introduction to local LLMs with Ollama'


def only(user: User, marker: str):
    elements = user.find(marker=marker).elements
    assert len(elements) == 1, f'{len(elements)} elements marked {marker}'
    return next(iter(elements))


async def _upload(user: User, name: str, data: bytes) -> None:
    upload = only(user, 'template-upload')
    assert isinstance(upload, ui.upload)
    await upload.handle_uploads([SmallFileUpload(name=name, content_type='application/octet-stream', _data=data)])


async def test_the_ready_template_in_one_click_then_an_attendee_follows_it(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    await make_account('admin@example.org', 'Admin')
    teacher = await make_account('teach@example.org', 'Teacher', role='instructor')
    await sign_in(user, 'teach@example.org')
    await user.open('/workshops')
    await user.should_see('start from the ready template')
    user.find(marker='ready-intro-to-local-llms').click()
    await user.should_see(f'Workshop created: {TITLE}', retries=100)
    await user.should_see('Ask the Ollama notes')  # the RAG system, with a link
    await user.should_see('3 document(s), ingestion started')
    await user.should_see('what-is-ollama.md')
    user.find(marker='report-open').click()
    await user.should_see('Vote blind in the arena')
    await user.should_see('auto: ran a chat with a model')
    for kind in ('prompt: Explain it to…', 'tool: workshop_schedule', 'knowledge: Ollama notes'):
        await user.should_see(kind)
    [info] = await services.workshops.list_for(teacher)
    assert info.state == 'draft' and info.title == TITLE

    user.find(marker='ws-start').click()
    await user.should_see('The workshop is live.')
    code = (await services.workshops.get(teacher, info.id)).join_code
    ann = create_user()
    await ann.open('/join')
    ann.find(marker='join-code').type(code)
    ann.find(marker='join-name').type('Ann')
    ann.find(marker='join-submit').click()
    await ann.should_see('Step 1 of 7', retries=50)
    await ann.should_see('Your first chat')


async def test_import_a_file_shows_the_report_and_refusals(user: User, services: Services, make_account) -> None:
    await make_account('admin@example.org', 'Admin')
    teacher = await make_account('teach@example.org', 'Teacher', role='instructor')
    report = await services.templates.import_ready(teacher, 'intro-to-local-llms')
    exported = await services.templates.export(teacher, report.workshop_id)
    data = json.loads(exported.content)
    data['workshop']['title'] = 'Imported copy'
    data['quiz'] = {'questions': 3}  # a section this platform does not know
    data['rag_systems'][0]['chat_model'] = 'no-such-model'
    await sign_in(user, 'teach@example.org')
    await user.open('/workshops')
    user.find(marker='import-template').click()
    await user.should_see(marker='template-upload')
    # refused files leave the dialog open with the reason; the next file is tried in the same dialog
    await _upload(user, 'broken.json', json.dumps({**data, 'version': 9}).encode())
    await user.should_see('This template has version 9; this platform reads version 1')
    await _upload(user, 'bad.json', json.dumps({**data, 'steps': [{'title': ''}]}).encode())
    await user.should_see('steps[0].title: is missing')

    await _upload(user, 'copy.workshop.json', json.dumps(data).encode())
    await user.should_see('Workshop created: Imported copy', retries=100)
    await user.should_see('quiz: unknown section "quiz"')
    await user.should_see('The model "no-such-model" is on no host yet')
    await user.should_see('not in the file (exported without documents): upload it')  # its three documents
    user.find(marker='report-open').click()
    await user.should_see('Imported copy')
    await user.should_see('Your first chat')


async def test_export_as_template_from_the_manage_page(user: User, services: Services, make_account) -> None:
    await make_account('admin@example.org', 'Admin')
    teacher = await make_account('teach@example.org', 'Teacher', role='instructor')
    report = await services.templates.import_ready(teacher, 'intro-to-local-llms')
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{report.workshop_id}')
    user.find(marker='export-template').click()
    plain = await user.download.next(timeout=5)
    data = json.loads(plain.content)
    assert data['workshop']['title'] == TITLE and len(data['steps']) == 7
    user.find(marker='export-documents').click()
    user.find(marker='export-template').click()
    zipped = await user.download.next(timeout=5)
    names = zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
    assert 'workshop.json' in names and len(names) == 4
