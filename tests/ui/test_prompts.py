"""Prompt templates in the UI: variables and the generated form, versions, visibility and fork, runs, import/export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from nicegui import ui
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User

from services.core import actions
from services.models.callers import Purpose
from services.prompts.library import PromptDraft
from services.wiring import Services
from tests.ui.conftest import sign_in

DRAFT = PromptDraft(
    name='Story',
    system_template='Answer in a {{tone}} tone.',
    user_template='Tell a story about {{topic}} in {{words}} words. Emoji: {{emoji}}. Notes: {{notes}}',
    variables=[
        {'name': 'topic', 'type': 'text', 'default': 'llamas'},
        {'name': 'words', 'type': 'number', 'default': 50},
        {'name': 'tone', 'type': 'choice', 'choices': ['calm', 'wild']},
        {'name': 'emoji', 'type': 'yes_no'},
        {'name': 'notes', 'type': 'long_text', 'default': 'none'},
    ],
    default_model='llama3.2:latest',
)


def only(user: User, marker: str):
    [element] = user.find(marker=marker).elements
    return element


async def test_create_prompt_with_detected_variables(user: User, services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await user.open('/prompts')
    await user.should_see('No prompts yet')
    user.find(marker='new-prompt').click()
    await user.should_see('User template')
    user.find(marker='prompt-name').type('Greeter <img src=x onerror=alert(1)>')
    user.find(marker='user-template').type('Greet {{name}} in {{lang}}')
    user.find(marker='save-prompt').click()
    await user.should_see('no such variable is defined')
    user.find(marker='detect-variables').click()
    await user.should_see('Added name, lang.')
    await user.should_see(marker='var-type-2')
    user.find(marker='var-type-2').click()
    user.find('Choice').click()
    await user.should_see(marker='var-choices-2')
    user.find(marker='var-choices-2').type('English, German')
    user.find(marker='save-prompt').click()
    await user.should_see('Saved version 1.', retries=30)
    [prompt] = await services.prompts.list_prompts(ada)
    assert [(v.name, v.type, v.choices) for v in (await services.prompts.get(ada, prompt.id)).current.variables] == [
        ('name', 'text', []),
        ('lang', 'choice', ['English', 'German']),
    ]
    [created] = await services.activity.query(user_id=ada, action=actions.PROMPT_CREATE)
    assert created.details['variables'] == 2
    # the name is shown as text, not as HTML
    await user.open('/prompts')
    await user.should_see('Greeter <img src=x onerror=alert(1)>')


async def test_generated_form_and_side_by_side_run(user: User, services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    prompt = await services.prompts.create(ada, DRAFT)
    await sign_in(user, 'ada@example.org')
    await user.open(f'/prompts/{prompt.id}')
    assert isinstance(only(user, 'var-topic'), ui.input)
    assert isinstance(only(user, 'var-words'), ui.number)
    assert isinstance(only(user, 'var-tone'), ui.select)
    assert isinstance(only(user, 'var-emoji'), ui.switch)
    assert isinstance(only(user, 'var-notes'), ui.textarea)
    only(user, 'var-topic').value = 'rain'
    only(user, 'var-tone').value = 'wild'
    only(user, 'var-emoji').value = True
    only(user, 'run-models').value = ['llama3.2:latest', 'qwen3:0.6b']
    user.find(marker='run').click()
    await user.should_see(marker='output-llama3.2:latest', retries=30)
    await user.should_see('You said: Tell a story about rain in', retries=50)
    runs = []
    for _ in range(50):
        runs = await services.prompt_runs.runs(ada, prompt.id)
        if len(runs) == 2:
            break
        await user.should_see('Run')
    assert sorted(r.model for r in runs) == ['llama3.2:latest', 'qwen3:0.6b']
    assert all(r.user_prompt.endswith('Emoji: yes. Notes: none') for r in runs)
    assert all(r.system_prompt == 'Answer in a wild tone.' for r in runs)
    await user.should_see(marker=f'rate-{runs[0].id}', retries=30)
    next(iter(user.find(marker=f'rate-{runs[0].id}').elements)).value = 5
    await user.should_see('Rating saved.')
    assert (await services.prompt_runs.runs(ada, prompt.id))[0].rating == 5


async def test_batch_run_and_csv_download(user: User, services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    prompt = await services.prompts.create(ada, DRAFT)
    await sign_in(user, 'ada@example.org')
    await user.open(f'/prompts/{prompt.id}')
    user.find('Batch').click()
    csv_input = only(user, 'batch-csv')
    csv_input.value = 'topic,tone\nsun,calm\nsnow,wild\nfog,angry\n'
    user.find(marker='run-batch').click()
    await user.should_see('Row 3 of the CSV: "tone" must be one of: calm, wild')
    csv_input.value = 'topic,tone\nsun,calm\nsnow,wild\n'
    user.find(marker='run-batch').click()
    await user.should_see('2 rows, 0 failed', retries=50)
    table = only(user, 'batch-table')
    assert [r['topic'] for r in table.rows] == ['sun', 'snow']
    assert table.rows[1]['output'].startswith('You said: Tell a story about snow')
    user.find(marker='download-csv').click()
    response = await user.download.next()
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r['topic'] for r in rows] == ['sun', 'snow'] and rows[0]['model'] == 'llama3.2:latest'
    assert rows[0]['output'].startswith('You said:') and rows[0]['emoji'] == 'no'
    [batch] = await services.activity.query(user_id=ada, action=actions.PROMPT_BATCH)
    assert batch.details['rows'] == 2


async def test_versions_history_diff_and_rollback(user: User, services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    prompt = await services.prompts.create(ada, DRAFT)
    await sign_in(user, 'ada@example.org')
    await user.open(f'/prompts/{prompt.id}')
    user.find('Edit').click()
    only(user, 'system-template').value = 'Answer in a {{tone}} tone, briefly.'
    user.find(marker='version-message').type('be brief')
    user.find(marker='save-prompt').click()
    await user.should_see('Saved version 2.', retries=30)
    await user.open(f'/prompts/{prompt.id}')
    user.find('History').click()
    await user.should_see('be brief')
    user.find(marker='compare').click()
    await user.should_see(marker='diff-unified', retries=20)
    unified = only(user, 'diff-unified').content
    assert '-Answer in a {{tone}} tone.' in unified and '+Answer in a {{tone}} tone, briefly.' in unified
    only(user, 'diff-mode').value = 'side'
    await user.should_see(marker='diff-side', retries=20)
    await user.should_see('Answer in a {{tone}} tone, briefly.')
    user.find(marker='rollback-1').click()
    await user.should_see('Rolled back', retries=20)
    detail = await services.prompts.get(ada, prompt.id)
    assert detail.current_version == 3 and detail.current.system_template == 'Answer in a {{tone}} tone.'
    await user.open(f'/prompts/{prompt.id}')
    user.find('History').click()
    user.find(marker='make-current-2').click()
    await user.should_see('Version 2 is current.', retries=20)
    assert (await services.prompts.get(ada, prompt.id)).current_version == 2


async def test_visibility_fork_and_private_not_found(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    bob_id = await make_account('bob@example.org', 'Bob')
    prompt = await services.prompts.create(ada, DRAFT)
    bob = create_user()
    await sign_in(bob, 'bob@example.org')
    await bob.open(f'/prompts/{prompt.id}')
    await bob.should_see('No such prompt')
    await bob.should_not_see('Tell a story')
    await bob.open('/prompts')
    await bob.should_not_see('Story')
    # Ada makes it public through the editor
    await sign_in(user, 'ada@example.org')
    await user.open(f'/prompts/{prompt.id}')
    user.find('Edit').click()
    user.find(marker='prompt-visibility').click()
    user.find('Public').click()
    user.find(marker='save-prompt').click()
    await user.should_see('Saved version 2.', retries=30)
    await bob.open('/prompts')
    await bob.should_see('Story')
    await bob.open(f'/prompts/{prompt.id}')
    await bob.should_not_see('Save as new version')
    bob.find(marker='fork').click()
    await bob.should_see('Forked into your prompts.', retries=30)
    mine = await services.prompts.list_prompts(bob_id, mine_only=True)
    assert [p.name for p in mine] == ['Story (fork)'] and mine[0].visibility == 'private'


async def test_export_and_import(user: User, services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    prompt = await services.prompts.create(ada, DRAFT)
    await sign_in(user, 'ada@example.org')
    await user.open(f'/prompts/{prompt.id}')
    user.find(marker='export').click()
    exported = (await user.download.next()).text
    assert json.loads(exported)['versions'][0]['user_template'] == DRAFT.user_template
    await user.open('/prompts')
    user.find(marker='import-prompt').click()
    only(user, 'import-json').value = '{"format": "something else"}'
    user.find(marker='import-submit').click()
    await user.should_see('This is not a prompt export')
    only(user, 'import-json').value = exported
    user.find(marker='import-submit').click()
    await user.should_see('Imported "Story".', retries=30)
    assert len(await services.prompts.list_prompts(ada, mine_only=True)) == 2


async def test_batch_csv_and_prompt_json_can_be_uploaded(user: User, services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    prompt = await services.prompts.create(ada, DRAFT)
    await sign_in(user, 'ada@example.org')
    await user.open(f'/prompts/{prompt.id}')
    user.find('Batch').click()
    csv_file = SmallFileUpload(name='rows.csv', content_type='text/csv', _data='\ufefftopic,tone\nmoon,calm\n'.encode())
    await only(user, 'batch-upload').handle_uploads([csv_file])
    await user.should_see('moon,calm')
    user.find(marker='run-batch').click()
    await user.should_see('1 rows, 0 failed', retries=50)
    exported = await services.prompts.export_json(ada, prompt.id)
    await user.open('/prompts')
    user.find(marker='import-prompt').click()
    await user.should_see(marker='import-upload')
    upload = SmallFileUpload(name='../../app.py', content_type='application/json', _data=exported.encode())
    await only(user, 'import-upload').handle_uploads([upload])
    await user.should_see('Imported "Story".', retries=30)
    garbage = SmallFileUpload(name='x.json', content_type='application/json', _data=b'\xff\xfe\x00garbage')
    await user.open('/prompts')
    user.find(marker='import-prompt').click()
    await user.should_see(marker='import-upload')
    await only(user, 'import-upload').handle_uploads([garbage])
    await user.should_see('The file is not UTF-8 text')
    assert len(await services.prompts.list_prompts(ada, mine_only=True)) == 2


async def test_a_run_that_waits_for_a_slot_says_so(user: User, services: Services, make_account, ollama_server) -> None:
    admin = await make_account('admin@example.org', 'Admin')
    ada = await make_account('ada@example.org', 'Ada')
    prompt = await services.prompts.create(ada, DRAFT)
    services.calls.room.default_slots = 1  # one generation at a time, and the admin's demo holds it
    ollama_server.token_delay = 0.05
    ollama_server.response_tokens = 400
    demo = await services.calls.chat_stream(
        await services.calls.caller(admin),
        Purpose.PLAYGROUND,
        model='llama3.2',
        messages=[{'role': 'user', 'content': 'hi'}],
    )
    await anext(demo)
    await sign_in(user, 'ada@example.org')
    await user.open(f'/prompts/{prompt.id}')
    ollama_server.response_tokens = 12
    user.find(marker='run').click()
    await user.should_see('Waiting for a free slot — you are next.', retries=50)
    await demo.aclose()  # the slot frees: the run starts
    await user.should_see('You said: Tell a story about llamas', retries=80)
    await user.should_not_see('Waiting for a free slot')
