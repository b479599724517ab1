"""Exercise checks in several simulated browsers: attendees' real prompt runs and tool calls are judged, each attendee
sees what is still missing, the matrix shows passed / failed / not tried, the dashboard groups the failure reasons,
and the instructor edits checks with clear errors."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui
from nicegui.testing import User

from services.core import actions
from services.prompts.library import PromptDraft
from services.wiring import Services
from services.workshops.checks import evaluate, normalise
from tests.ui.conftest import sign_in
from tests.ui.test_workshops import _eventually, _join, _row

PROMPT = PromptDraft(
    name='Haiku',
    system_template='You are a poet.',
    user_template='Write a haiku about {{topic}}.',
    variables=[{'name': 'topic', 'type': 'text', 'default': 'llamas'}],
    default_model='llama3.2:latest',
)


async def _workshop(services: Services, make_account) -> tuple[int, object]:
    await make_account('admin@example.org', 'Admin')
    teacher = await make_account('teach@example.org', 'Teacher', role='instructor')
    ws = services.workshops
    info = await ws.create(teacher, 'Checked workshop')
    first = await ws.add_step(teacher, info.id, 'Prompt about rain', 'Run the Haiku prompt about rain.', 'prompt_run')
    await ws.save_check(teacher, info.id, first.id, {'kind': 'output_regex', 'pattern': 'haiku about rain'})
    await ws.save_check(teacher, info.id, first.id, {'kind': 'rag_cites', 'document': 'handbook.md'})
    second = await ws.add_step(teacher, info.id, 'Use the calculator', 'Multiply with the calculator.')
    await ws.save_check(
        teacher, info.id, second.id, {'kind': 'tool_call', 'tool': 'calculator', 'arguments': r'"expression": ".*\*'}
    )
    await ws.add_step(teacher, info.id, 'Reflect', 'Tick when done')
    await ws.start(teacher, info.id)
    return teacher, info


async def test_attendees_see_what_is_missing_and_the_dashboard_groups_reasons(
    user: User, create_user: Callable[[], User], services: Services, make_account, ollama_server
) -> None:
    teacher, info = await _workshop(services, make_account)
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}/dashboard')
    await user.should_see('Exercise checks')
    ann, bob = create_user(), create_user()
    await _join(ann, info.join_code, 'Ann')
    await _join(bob, info.join_code, 'Bob')
    cy = (await services.workshops.join(info.join_code, 'Cy')).user_id
    await services.workshops.join(info.join_code, 'Dee')  # tries nothing
    await _eventually(lambda: _row(user, 'Dee') is not None)
    await ann.should_see('Checks: 0 of 2 passed')
    await ann.should_see('Not tried yet.')
    ann_id, bob_id = _row(user, 'Ann')['id'], _row(user, 'Bob')['id']

    # Ann's real prompt run passes the first check; her RAG answer cites the wrong document
    prompt = await services.prompts.create(ann_id, PROMPT)
    await services.prompt_runs.run(ann_id, prompt.id, {'topic': 'rain'})
    await ann.should_see('Checks: 1 of 2 passed', retries=50)
    await ann.should_see('Passed.')
    await services.activity.record(ann_id, actions.RAG_QUERY, model='llama3.2', rag_id=1, cited=['report.pdf'])
    await ann.should_see('Still missing: cited report.pdf but not handbook.md', retries=50)
    await _eventually(lambda: _row(user, 'Ann')['s0'] == '✗')

    # Bob and Cy run the prompt about something else: the same reason, counted twice
    for who in (bob_id, cy):
        mine = await services.prompts.create(who, PROMPT)
        await services.prompt_runs.run(who, mine.id, {'topic': 'snow'})
    await bob.should_see('Still missing: the output did not match haiku about rain', retries=50)
    await user.should_see('2 attendees: the output did not match haiku about rain', retries=50)
    await user.should_see('1 attendee: cited report.pdf but not handbook.md')
    await user.should_see('2 failed')  # the first check: Bob and Cy (Ann passed it, Dee has not tried)
    await user.should_see('1 not tried')
    await user.should_see('3 not tried')  # the second check: only Ann tried it
    await _eventually(lambda: _row(user, 'Bob')['s0'] == '✗' and _row(user, 'Dee')['s0'] == '')

    # Ann cites the right document: all checks pass, the step completes by itself
    await services.activity.record(ann_id, actions.RAG_QUERY, model='llama3.2', rag_id=1, cited=['handbook.md'])
    await ann.should_see('Checks: 2 of 2 passed', retries=50)
    await _eventually(lambda: _row(user, 'Ann')['s0'] == '⚡')
    tick = next(iter(ann.find(marker='tick-0').elements))
    await _eventually(lambda: tick.value is True)
    await user.should_not_see('cited report.pdf but not handbook.md')

    # a real tool call: adding instead of multiplying fails, multiplying passes; the step's cell follows
    await services.tools.execute(bob_id, 'builtin:calculator', {'expression': '6 + 7'})
    await _eventually(lambda: _row(user, 'Bob')['s1'] == '✗')
    await user.should_see('1 attendee: called calculator but its arguments did not match')
    await services.tools.execute(bob_id, 'builtin:calculator', {'expression': '6 * 7'})
    await _eventually(lambda: _row(user, 'Bob')['s1'] == '⚡')

    # the outcomes are stored: a rebuilt live state (another process, a restart) shows the same
    services.workshops.live.pop(info.id).stop()
    live = await services.workshops.live_state(info.id)
    assert live is not None
    rows = {r['name']: r for r in live.rows()}
    assert (rows['Ann']['s0'], rows['Bob']['s0'], rows['Dee']['s0'], rows['Bob']['s1']) == ('⚡', '✗', '', '⚡')
    # the feed and the instructors' activity list never show what attendees produced (only the checks read it)
    assert not any('You said' in item['detail'] for item in live.feed)
    recorded, _ = await services.workshops.workshop_activity(teacher, info.id, limit=100)
    assert recorded and not any({'output', 'arguments'} & set(a.details) for a in recorded)
    read, _ = await services.activity_reader.page(teacher, workshop_id=info.id, limit=100)
    assert read and not any({'output', 'arguments'} & set(a.details) for a in read)
    [run] = await services.activity.query(user_id=ann_id, action=actions.PROMPT_RUN)
    assert run.details['output'].startswith('You said: Write a haiku about rain.')  # kept for the checks


async def test_instructor_adds_edits_and_deletes_checks_with_clear_errors(
    user: User, services: Services, make_account
) -> None:
    await make_account('admin@example.org', 'Admin')
    teacher = await make_account('teach@example.org', 'Teacher', role='instructor')
    info = await services.workshops.create(teacher, 'Draft workshop')
    await services.workshops.add_step(teacher, info.id, 'Structured output', 'Ask for JSON.')
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}')
    user.find(marker='step-checks-0').click()
    await user.should_see('No checks yet.')

    user.find(marker='check-pattern').type('(\\d+')
    user.find(marker='check-save').click()
    await user.should_see('The regular expression (\\d+ is not valid: missing )')

    kind = next(iter(user.find(marker='check-kind').elements))
    assert isinstance(kind, ui.select)
    kind.value = 'output_json'
    user.find(marker='check-schema').type('{"type": "object", "required": ["answer"]')
    user.find(marker='check-save').click()
    await user.should_see('The JSON schema is not valid JSON')
    user.find(marker='check-schema').clear().type('{"type": "banana"}')
    user.find(marker='check-save').click()
    await user.should_see('The JSON schema is not a valid schema')
    user.find(marker='check-schema').clear().type('{"type": "object", "required": ["answer"]}')
    user.find(marker='check-save').click()
    await user.should_see('Checks (1)', retries=50)
    [step] = await services.workshops.steps(info.id)
    assert step.checks[0]['schema'] == {'type': 'object', 'required': ['answer']}

    # edit: the form is filled with the check, saving replaces it
    user.find(marker='step-checks-0').click()
    await user.should_see('output is JSON fitting the schema {"type": "object", "required": ["answer"]}')
    user.find(marker='check-edit').click()
    kind = next(iter(user.find(marker='check-kind').elements))
    kind.value = 'output_regex'
    user.find(marker='check-pattern').clear().type('^\\{')
    user.find(marker='check-save').click()
    await user.should_see("check: a prompt run's output matches ^\\{", retries=50)
    [step] = await services.workshops.steps(info.id)
    assert step.checks[0]['kind'] == 'output_regex' and step.checks[0]['pattern'] == '^\\{'

    # delete, after a confirmation
    user.find(marker='step-checks-0').click()
    user.find(marker='check-delete').click()
    await user.should_see('Delete this check?')
    user.find(marker='confirm').click()
    await user.should_see('Add checks', retries=50)
    assert (await services.workshops.steps(info.id))[0].checks == []


async def test_features_record_what_the_checks_look_at(services: Services, make_account, ollama_server) -> None:
    """Real RAG answers, evaluations and model creation record the details each kind of check judges."""
    ada = await make_account('ada@example.org', 'Ada')  # the first account: an admin, who may create models
    kb = (await services.knowledge.create_kb(ada, name='Nature', embedding_model='nomic-embed-text:latest')).id
    docs = {'llamas.md': 'Llamas carry heavy packs across the Andes.', 'salmon.md': 'Salmon swim upstream.'}
    await services.knowledge.upload(ada, kb, [(n, t.encode()) for n, t in docs.items()])
    await services.ingest.wait((await services.ingest.start(ada, kb)).job_id)
    rag = (
        await services.rag.create(
            ada, name='QA', kb_ids=[kb], chat_model='llama3.2:latest', top_k=1,
            prompt_template='{context}\n\nQuestion: {question}',  # the test model echoes it: an answer citing [1]
        )
    ).id  # fmt: skip
    await services.rag.answer(ada, rag, 'Who carries packs in the Andes?')
    [asked] = await services.activity.query(user_id=ada, action=actions.RAG_QUERY)
    assert asked.details['cited'] == ['llamas.md']
    cites = normalise({'kind': 'rag_cites', 'document': 'llamas.md'})
    assert evaluate(cites, asked.action, asked.error, asked.details) == (True, '')

    questions = [{'question': 'Who carries packs?', 'expected_document': 'llamas.md'}]
    await services.evals.run(ada, (await services.evals.create_set(ada, rag, 'Set', questions)).id, answers=False)
    [evaluated] = await services.activity.query(user_id=ada, action=actions.RAG_EVAL)
    assert (evaluated.details['k'], evaluated.details['hit_rate']) == (1, 1.0)
    hit = normalise({'kind': 'eval_hit', 'min': 0.9, 'k': 2})
    assert evaluate(hit, evaluated.action, evaluated.error, evaluated.details) == (True, '')

    await services.model_admin.create(ada, 'pirate', 'llama3.2', system='Talk like a pirate, always.')
    [created] = await services.activity.query(user_id=ada, action=actions.MODEL_CREATE)
    assert (created.details['base'], created.details['system']) == ('llama3.2', 'Talk like a pirate, always.')
    model = normalise({'kind': 'model_create', 'base': 'llama3.2:latest', 'phrase': 'PIRATE'})
    assert evaluate(model, created.action, created.error, created.details) == (True, '')
