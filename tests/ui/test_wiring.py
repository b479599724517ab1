"""Wiring across features: quotas in the UI's model calls, audit of model management from the UI, tools in the
playground, chat-only model choices."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from services.core import audit
from services.core.errors import NotFound
from services.prompts.library import PromptDraft
from services.wiring import Services
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
    tools, host = services.model_admin, ollama_server.url
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
    with pytest.raises(NotFound, match='is not on'):
        await tools.delete(instructor, host, 'no-such-model:latest')
    [last], _ = await services.audit.query(admin, action=audit.MODEL_DELETE, outcome='failed', limit=1)
    assert last.target == 'no-such-model:latest'


async def test_playground_with_tools_shows_each_call_and_saves_the_transcript(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await user.open('/playground?model=llama3.2:latest')
    only(user, 'chat-tools').value = ['builtin:calculator']
    only(user, 'chat-input').value = 'call calculator {"expression": "2*3"}'
    user.find(marker='chat-send').click()
    await user.should_see(marker='transcript-result', retries=50)
    await user.should_see('Step 1: calculator')
    await user.should_see('The tool calculator returned', retries=50)
    await user.should_see('1 tool call(s)', retries=30)
    [body] = [r['body'] for r in ollama_server.requests if r.get('path') == '/api/chat'][:1]
    assert [t['function']['name'] for t in body['tools']] == ['calculator']
    [conversation] = await services.chat.list_conversations(ada)
    saved = await services.chat.get_conversation(ada, conversation.id)
    assert [m['role'] for m in saved.messages] == ['user', 'assistant']
    [call] = saved.messages[1]['tool_transcript']
    assert call['name'] == 'calculator' and call['arguments'] == {'expression': '2*3'} and call['ok']
    assert '6' in call['result'] and 'The tool calculator returned' in saved.messages[1]['content']
    # reopened later: the transcript is shown again and the tools are still picked
    await user.open(f'/playground/{conversation.id}')
    await user.should_see('Step 1: calculator', retries=30)
    assert only(user, 'chat-tools').value == ['builtin:calculator']
    # without tools, the next message is a plain reply that sees the earlier answer
    only(user, 'chat-tools').value = []
    only(user, 'chat-input').value = 'thanks'
    user.find(marker='chat-send').click()
    await user.should_see('You said: thanks', retries=50)
    last = [r['body'] for r in ollama_server.requests if r.get('path') == '/api/chat'][-1]
    assert not last.get('tools') and any('calculator returned' in m['content'] for m in last['messages'])


async def test_playground_tools_with_a_model_that_cannot_call_tools_keeps_the_message(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await make_account('ada@example.org', 'Ada')
    await services.catalogue.refresh()
    await sign_in(user, 'ada@example.org')
    await user.open('/playground?model=llava:7b')
    only(user, 'chat-tools').value = ['builtin:calculator']
    only(user, 'chat-input').value = 'what is 2*3?'
    user.find(marker='chat-send').click()
    await user.should_see('does not support tool calling', retries=50)
    assert only(user, 'chat-input').value == 'what is 2*3?'


async def test_stopping_a_reply_with_tools_keeps_the_calls(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await user.open('/playground?model=llama3.2:latest')
    ollama_server.token_delay = 0.1
    ollama_server.response_tokens = 500
    only(user, 'chat-tools').value = ['builtin:calculator']
    only(user, 'chat-input').value = 'call calculator {"expression": "2*3"}'
    user.find(marker='chat-send').click()
    await user.should_see(marker='transcript-result', retries=100)
    await user.should_see('The tool calculator', retries=100)
    user.find(marker='chat-stop').click()
    await user.should_see('Stopped: the answer above is incomplete.', retries=50)
    [conversation] = await services.chat.list_conversations(ada)
    for _ in range(50):
        saved = await services.chat.get_conversation(ada, conversation.id)
        if len(saved.messages) == 2:
            break
        await user.should_see('Stopped')
    reply = saved.messages[-1]
    assert reply['stopped'] and reply['tool_transcript'][0]['name'] == 'calculator'
    assert reply['content'].startswith('The tool calculator')  # the part streamed before the stop is kept


async def test_prompt_runs_and_tool_chat_offer_only_chat_models(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    prompt = await services.prompts.create(
        ada, PromptDraft(name='Plain', user_template='Hello', default_model='llama3.2:latest')
    )
    await sign_in(user, 'ada@example.org')
    await user.open(f'/prompts/{prompt.id}')
    offered = list(only(user, 'run-models').options)
    assert 'llama3.2:latest' in offered and 'qwen3:0.6b' in offered
    assert 'nomic-embed-text:latest' not in offered and 'all-minilm:latest' not in offered
    user.find('Batch').click()
    assert 'all-minilm:latest' not in only(user, 'batch-model').options
    await user.open('/tools/chat')
    offered = list(only(user, 'chat-model').options)
    assert 'llama3.2:latest' in offered and 'nomic-embed-text:latest' not in offered


async def test_compare_refused_over_quota_keeps_the_prompt(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await attendee_with_quota(services, make_account, max_requests=0)
    await services.catalogue.refresh()
    await sign_in(user, 'bob@example.org')
    await user.open('/compare')
    only(user, 'compare-prompt').value = 'which is better?'
    user.find(marker='compare-run').click()
    await user.should_see('You have used up your daily request limit', retries=50)
    assert chat_requests(ollama_server) == 0
    assert only(user, 'compare-prompt').value == 'which is better?'
