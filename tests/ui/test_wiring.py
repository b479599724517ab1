"""Wiring across features: quotas in the UI's model calls, audit of model management from the UI, tools in the
playground, chat-only model choices."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from services import Services, audit
from services.ollama import OllamaError
from services.prompts import PromptDraft
from tests.ollama_server import OllamaTestServer
from tests.ui.conftest import sign_in


def only(user: User, marker: str):
    [element] = user.find(marker=marker).elements
    return element


def chat_requests(server: OllamaTestServer) -> int:
    return sum(1 for r in server.requests if r.get('path') == '/api/chat')


async def attendee_with_quota(services: Services, make_account, max_requests: int = 1) -> int:
    admin = await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    await services.quotas.set_quota(admin, user_id=bob, period='day', max_requests=max_requests)
    return bob


async def test_playground_refuses_over_quota_without_calling_ollama(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer, caplog
) -> None:
    await attendee_with_quota(services, make_account)
    await sign_in(user, 'bob@example.org')
    await user.open('/playground')
    only(user, 'chat-input').value = 'first question'
    user.find(marker='chat-send').click()
    await user.should_see('You said: first question', retries=50)
    await user.should_see(marker='chat-send', retries=30)
    sent = chat_requests(ollama_server)
    only(user, 'chat-input').value = 'second question'
    user.find(marker='chat-send').click()
    await user.should_see('You have used up your daily request limit (1 requests).', retries=50)
    await user.should_see('It resets at')
    assert chat_requests(ollama_server) == sent  # nothing went to Ollama
    assert only(user, 'chat-input').value == 'second question'  # the input is kept
    assert not [r for r in caplog.records if r.levelname == 'ERROR']


async def test_prompt_run_and_batch_refused_over_quota(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    bob = await attendee_with_quota(services, make_account, max_requests=0)
    prompt = await services.prompts.create(
        bob,
        PromptDraft(
            name='Echo',
            user_template='Say {{word}}',
            variables=[{'name': 'word', 'type': 'text'}],
            default_model='llama3.2:latest',
        ),
    )
    await sign_in(user, 'bob@example.org')
    await user.open(f'/prompts/{prompt.id}')
    only(user, 'var-word').value = 'hello'
    user.find(marker='run').click()
    await user.should_see('You have used up your daily request limit', retries=50)
    user.find('Batch').click()
    only(user, 'batch-csv').value = 'word\nsun\n'
    user.find(marker='run-batch').click()
    await user.should_see('It resets at', retries=50)
    assert chat_requests(ollama_server) == 0
    assert only(user, 'var-word').value == 'hello'
    assert await services.prompt_runs.runs(bob, prompt.id) == []


async def test_tool_chat_refused_over_quota_keeps_the_message(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await attendee_with_quota(services, make_account, max_requests=0)
    await sign_in(user, 'bob@example.org')
    await user.open('/tools/chat')
    only(user, 'chat-tools').value = ['builtin:calculator']
    only(user, 'chat-input').value = 'call calculator {"expression": "2*3"}'
    user.find(marker='chat-send').click()
    await user.should_see('You have used up your daily request limit', retries=50)
    assert chat_requests(ollama_server) == 0
    assert only(user, 'chat-input').value == 'call calculator {"expression": "2*3"}'


async def test_model_management_from_the_ui_is_audited(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    admin = await make_account('ada@example.org', 'Ada')
    instructor = await make_account('ian@example.org', 'Ian', role='instructor')
    tools, host = services.catalogue.admin, ollama_server.url
    await services.catalogue.refresh()
    # a pull started from the models page (the UI path), then one that fails
    await sign_in(user, 'ian@example.org')
    await user.open('/models')
    user.find(marker='pull-name').type('tinyllama')
    user.find(marker='pull-start').click()
    await user.should_see(marker='model-tinyllama:latest', retries=50)
    failed = await tools.start_pull(instructor, 'no-such-model:7b')
    await tools.wait(failed.id)
    await tools.create(instructor, 'pirate', 'llama3.2:latest', 'Talk like a pirate.')
    await tools.copy(instructor, host, 'pirate:latest', 'parrot')
    await tools.delete(instructor, host, 'parrot:latest')
    await tools.unload(instructor, host, 'llama3.2:latest')
    entries, _ = await services.audit.query(admin, user_id=instructor, limit=50)
    seen = [(e.action, e.outcome, e.target) for e in reversed(entries) if e.action.startswith('model_')]
    assert seen == [
        (audit.MODEL_PULL, 'started', 'tinyllama:latest'),
        (audit.MODEL_PULL, 'ok', 'tinyllama:latest'),
        (audit.MODEL_PULL, 'started', 'no-such-model:7b'),
        (audit.MODEL_PULL, 'failed', 'no-such-model:7b'),
        (audit.MODEL_CREATE, 'ok', 'pirate:latest'),
        (audit.MODEL_COPY, 'ok', 'parrot:latest'),
        (audit.MODEL_DELETE, 'ok', 'parrot:latest'),
        (audit.MODEL_UNLOAD, 'ok', 'llama3.2:latest'),
    ]
    fail = next(e for e in entries if e.outcome == 'failed')
    assert 'not found in the model registry' in fail.details['error'] and fail.details['host'] == host
    # a failing delete is audited as failed
    with pytest.raises(OllamaError):
        await tools.delete(instructor, host, 'no-such-model:latest')
    [last], _ = await services.audit.query(admin, action=audit.MODEL_DELETE, outcome='failed', limit=1)
    assert last.target == 'no-such-model:latest'
