"""Service-level behaviour of prompts, runs, tools and the function-calling loop (real DB, Ollama test server)."""

from __future__ import annotations

import json

import pytest

from models import Workshop, WorkshopMembership
from services.core import actions
from services.core.errors import InvalidInput, NotFound, PermissionDenied
from services.prompts.library import PromptDraft
from services.tools.library import ToolDraft
from services.wiring import Services

DRAFT = PromptDraft(
    name='Haiku',
    system_template='You are a poet who writes in a {{tone}} tone.',
    user_template='Write a haiku about {{topic}}.',
    variables=[{'name': 'topic', 'type': 'text', 'default': 'llamas'},
               {'name': 'tone', 'type': 'choice', 'choices': ['calm', 'wild']}],
    default_model='llama3.2:latest',
)  # fmt: skip


async def test_versions_diff_rollback_and_activity(services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    prompt = await services.prompts.create(ada, DRAFT)
    assert prompt.current_version == 1
    [created] = await services.activity.query(user_id=ada, action=actions.PROMPT_CREATE)
    assert created.details['variables'] == 2
    changed = PromptDraft(
        name='Haiku', system_template=DRAFT.system_template, user_template='Write two haiku about {{topic}}.',
        variables=DRAFT.variables, default_model='qwen3:0.6b',
    )  # fmt: skip
    prompt = await services.prompts.save(ada, prompt.id, changed, 'two poems')
    assert prompt.current_version == 2 and [v.number for v in prompt.versions] == [2, 1]
    diff = await services.prompts.diff(ada, prompt.id, 1, 2)
    assert '-Write a haiku about {{topic}}.' in diff.unified and '+Write two haiku about {{topic}}.' in diff.unified
    assert ('replace', 'Write a haiku about {{topic}}.', 'Write two haiku about {{topic}}.') in diff.rows
    prompt = await services.prompts.rollback(ada, prompt.id, 1)
    assert prompt.current_version == 3 and prompt.current.user_template == DRAFT.user_template
    assert prompt.versions[0].message == 'Rolled back to version 1'
    prompt = await services.prompts.set_current(ada, prompt.id, 2)
    assert prompt.current.default_model == 'qwen3:0.6b'


async def test_private_prompts_and_tools_are_not_found_for_others(services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    prompt = await services.prompts.create(ada, DRAFT)
    tool = await services.tools.create(
        ada, ToolDraft(name='secret', description='Secret', kind='static', config={'response': {'a': 1}})
    )
    for call in (
        lambda: services.prompts.get(bob, prompt.id),
        lambda: services.prompts.save(bob, prompt.id, DRAFT),
        lambda: services.prompts.delete(bob, prompt.id),
        lambda: services.prompts.fork(bob, prompt.id),
        lambda: services.prompts.export_json(bob, prompt.id),
        lambda: services.prompt_runs.run(bob, prompt.id, {'tone': 'calm'}),
        lambda: services.tools.get(bob, tool.id),
        lambda: services.tools.update(bob, tool.id, ToolDraft(name='x', description='y', config={'response': 1})),
        lambda: services.tools.delete(bob, tool.id),
        lambda: services.tools.execute(bob, f'tool:{tool.id}', {}),
    ):
        with pytest.raises(NotFound):
            await call()
    assert [p.name for p in await services.prompts.list_prompts(bob)] == []
    # public: Bob can read and fork, not edit
    await services.prompts.save(ada, prompt.id, PromptDraft(**{**_fields(DRAFT), 'visibility': 'public'}))
    assert (await services.prompts.get(bob, prompt.id)).can_edit is False
    with pytest.raises(PermissionDenied):
        await services.prompts.save(bob, prompt.id, DRAFT)
    fork = await services.prompts.fork(bob, prompt.id)
    assert fork.owner_id == bob and fork.visibility == 'private' and fork.forked_from_id == prompt.id


def _fields(draft: PromptDraft) -> dict:
    return {name: getattr(draft, name) for name in PromptDraft.__dataclass_fields__}


async def test_runs_batches_and_ratings(services: Services, make_account, ollama_server) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    prompt = await services.prompts.create(ada, DRAFT)
    run = await services.prompt_runs.run(ada, prompt.id, {'tone': 'calm', 'topic': 'rain'}, 'qwen3:0.6b')
    assert run.user_prompt == 'Write a haiku about rain.' and run.system_prompt.endswith('calm tone.')
    assert run.output.startswith('You said: Write a haiku about rain.') and run.error is None
    assert run.metrics['output_tokens'] > 0
    assert (await services.prompt_runs.rate(ada, run.id, 4)).rating == 4
    rows = await services.prompt_runs.parse_csv(ada, prompt.id, 'topic,tone\nsun,calm\nsnow,wild\n')
    assert rows == [{'topic': 'sun', 'tone': 'calm'}, {'topic': 'snow', 'tone': 'wild'}]
    with pytest.raises(InvalidInput, match='colour'):
        await services.prompt_runs.parse_csv(ada, prompt.id, 'topic,colour\nsun,red\n')
    with pytest.raises(InvalidInput, match='Row 1'):
        await services.prompt_runs.parse_csv(ada, prompt.id, 'topic,tone\nsun,angry\n')
    too_many = 'topic,tone\n' + 'x,calm\n' * 201
    with pytest.raises(InvalidInput, match='at most 200 rows'):
        await services.prompt_runs.parse_csv(ada, prompt.id, too_many)
    batch = await services.prompt_runs.run_batch(ada, prompt.id, rows, 'llama3.2:latest')
    assert [r.output.split('.')[0] for r in batch.runs] == [
        'You said: Write a haiku about sun',
        'You said: Write a haiku about snow',
    ]
    [logged] = await services.activity.query(user_id=ada, action=actions.PROMPT_BATCH)
    assert logged.details['rows'] == 2
    ollama_server.go_down()
    failed = await services.prompt_runs.run(ada, prompt.id, {'tone': 'wild'})
    assert 'not reachable' in failed.error
    errors = await services.activity.query(user_id=ada, action=actions.PROMPT_RUN, errors_only=True)
    assert len(errors) == 1


async def test_import_export_round_trip_and_validation(services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    prompt = await services.prompts.create(ada, DRAFT)
    await services.prompts.save(
        ada, prompt.id, PromptDraft(**{**_fields(DRAFT), 'user_template': 'Hi {{topic}} {{tone}}'})
    )
    text = await services.prompts.export_json(ada, prompt.id)
    copy = await services.prompts.import_json(ada, text)
    assert copy.id != prompt.id and len(copy.versions) == 2 and copy.current.user_template == 'Hi {{topic}} {{tone}}'
    bad = json.loads(text)
    bad['versions'][0]['user_template'] = 'Hello {{ name | upper }}'
    with pytest.raises(InvalidInput, match='Version 1'):
        await services.prompts.import_json(ada, json.dumps(bad))
    with pytest.raises(InvalidInput, match='not valid JSON'):
        await services.prompts.import_json(ada, '{nope')
    with pytest.raises(InvalidInput, match='not a prompt export'):
        await services.prompts.import_json(ada, '{"name": "x"}')


async def test_tool_loop_calls_tools_and_bounds_steps(services: Services, make_account, ollama_server) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    messages = [{'role': 'user', 'content': 'call calculator {"expression": "6*7"}'}]
    events = [e async for e in services.tool_loop.run(ada, 'llama3.2:latest', messages, ['builtin:calculator'])]
    [result] = [e for e in events if e.kind == 'result']
    assert result.call.ok and result.call.result['result'] == 42
    done = events[-1]
    assert done.kind == 'done' and done.messages[-1]['role'] == 'assistant'
    assert 'The tool calculator returned' in done.messages[-1]['content']
    assert done.messages[2] == {
        'role': 'tool',
        'tool_name': 'calculator',
        'content': '{"expression": "6*7", "result": 42}',
    }
    # a failing tool: the error goes back to the model as text
    messages = [{'role': 'user', 'content': 'call calculator {"expression": "os.system(1)"}'}]
    events = [e async for e in services.tool_loop.run(ada, 'llama3.2:latest', messages, ['builtin:calculator'])]
    [result] = [e for e in events if e.kind == 'result']
    assert not result.call.ok and 'Only numbers' in result.call.error
    assert events[-1].messages[2]['content'].startswith('Error: ')
    # the step bound
    ollama_server.always_call_tools = True
    events = [
        e async for e in services.tool_loop.run(ada, 'llama3.2:latest', messages, ['builtin:calculator'], max_steps=3)
    ]
    assert [e.kind for e in events].count('result') == 3 and events[-2].kind == 'limit'
    # a model without tools
    with pytest.raises(InvalidInput, match='does not support tool calling'):
        async for _ in services.tool_loop.run(ada, 'llava:7b', messages, ['builtin:calculator']):
            pass
    calls = await services.activity.query(user_id=ada, action=actions.TOOL_CALL)
    assert len(calls) == 5 and sum(1 for c in calls if c.error) == 4


async def test_workshop_sharing_hook_and_admin_only_allow_list(services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    carol = await make_account('carol@example.org', 'Carol')
    workshop = await Workshop.create(title='Class', owner_id=ada, join_code='CLASS7')
    await WorkshopMembership.create(workshop_id=workshop.id, user_id=bob)  # bob attends, carol does not
    shared = await services.prompts.create(
        ada, PromptDraft(**{**_fields(DRAFT), 'visibility': 'workshop', 'workshop_id': workshop.id})
    )
    assert [p.id for p in await services.prompts.list_prompts(bob)] == [shared.id]
    assert (await services.prompts.get(bob, shared.id)).can_edit is False
    with pytest.raises(NotFound):
        await services.prompts.get(carol, shared.id)
    with pytest.raises(InvalidInput, match='workshop number'):
        await services.prompts.create(ada, PromptDraft(**{**_fields(DRAFT), 'visibility': 'workshop'}))
    # attendees cannot change the allow-list, even by calling the service directly
    with pytest.raises(PermissionDenied):
        await services.tools.allow_host(bob, 'example.org')
    with pytest.raises(PermissionDenied):
        await services.tools.allowed_hosts(bob)


def test_batch_csv_escapes_formulas() -> None:
    from datetime import UTC, datetime

    from services.prompts.runs import BatchResult, RunInfo, batch_csv

    run = RunInfo(id=1, prompt_id=1, version=1, model='m', values={'topic': '=HYPERLINK("x")'}, system_prompt='',
                  user_prompt='', options={}, output='@SUM(A1)', error=None, metrics={}, rating=None,
                  created_at=datetime.now(UTC))  # fmt: skip
    text = batch_csv(BatchResult(batch_id='b', model='m', variables=['topic'], runs=[run]))
    assert "'=HYPERLINK" in text and "'@SUM(A1)" in text
