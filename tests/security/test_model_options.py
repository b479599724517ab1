"""Options an attendee may set (issue 13, item 4).

Everyone may set the generation options that make sense in class (the options table), each up to the range the admin
sets; the host-level options (num_gpu, num_thread, use_mmap, ...) and keep_alive, which can unload, pin or exhaust a
host, are for instructors and admins only, on every path. Proved from the outside: each attack is refused with a
sentence naming the option (not silently dropped), and the Ollama test server's request log shows that nothing
reached Ollama; the instructor's same call passes and Ollama receives the option.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api import openai_format
from api.openai_gateway import ChatCompletionRequest
from models import AuditEntry, Comparison, Role
from services.core.errors import InvalidInput, PermissionDenied
from services.models.callers import Purpose
from services.models.option_caps import OptionCapsService
from services.models.options import STAFF_ONLY, OptionCaps
from services.wiring import Services
from tests.api.conftest import Account, assert_problem
from tests.ollama_server import OllamaTestServer

CHAT, OTHER_CHAT = 'llama3.2', 'qwen3:0.6b'
HELLO = [{'role': 'user', 'content': 'Hello'}]
CALC = [{'role': 'user', 'content': 'call calculator {"expression": "6*7"}'}]
CALCULATOR = ['builtin:calculator']
GENERATION = ('/api/chat', '/api/generate', '/api/embed', '/api/embeddings')
HOST_LEVEL = {'num_gpu': 1, 'num_thread': 2, 'use_mmap': False}
PROMPT = {
    'name': 'Echo',
    'user_template': 'Say {{ word }}',
    'variables': [{'name': 'word', 'type': 'text'}],
    'default_model': CHAT,
}
SUN = {'word': 'sun'}


def refusal(name: str) -> str:
    return f'"{name}" can only be set by instructors and admins.'


def out_of_range(name: str, low: str, high: str) -> str:
    return f'"{name}" must be between {low} and {high} on this platform.'


class Sent:
    """What reached Ollama: the bodies of the generation and embedding requests the test server received."""

    def __init__(self, server: OllamaTestServer) -> None:
        self.server = server

    def mark(self) -> int:
        return len(self.server.requests)

    def since(self, mark: int) -> list[dict[str, Any]]:
        entries = list(self.server.requests)[mark:]
        return [e.get('body') or {} for e in entries if e['method'] == 'POST' and e['path'] in GENERATION]


@pytest.fixture
def sent(ollama_server: OllamaTestServer) -> Sent:
    return Sent(ollama_server)


async def drain(stream: AsyncIterator) -> list:
    return [event async for event in stream]


def refused(response: httpx.Response, message: str, status: int = 403) -> None:
    """A problem (REST API) naming the option."""
    body = assert_problem(response, status, message)
    assert body['detail'] == message, body['detail']


def openai_refused(response: httpx.Response, message: str, status: int = 403) -> None:
    """An OpenAI-shaped error (the gateway) naming the option."""
    assert response.status_code == status, response.text
    assert response.json()['error']['message'] == message, response.text


def raises(kind: type[Exception], message: str):
    return pytest.raises(kind, match=f'^{re.escape(message)}$')


async def make_prompt(client, who: Account, **extra) -> int:
    created = await client.post('/api/v1/prompts', json=PROMPT | extra, headers=who.headers)
    assert created.status_code == 201, created.text
    return created.json()['id']


async def make_conversation(client, who: Account, **extra) -> int:
    created = await client.post('/api/v1/conversations', json={'model': CHAT, **extra}, headers=who.headers)
    assert created.status_code == 201, created.text
    return created.json()['id']


# ----- attendees: host-level options --------------------------------------------------------------------------------
@pytest.mark.parametrize(('name', 'value'), list(HOST_LEVEL.items()))
async def test_an_attendee_is_refused_a_host_level_option_on_every_path(
    client, services: Services, alice: Account, sent: Sent, name: str, value: Any
) -> None:
    h = alice.headers
    options = {'temperature': 0.5, name: value}
    message = refusal(name)
    cid = await make_conversation(client, alice)
    pid = await make_prompt(client, alice)
    start = sent.mark()

    # the playground (ChatService): a new conversation, the settings of an existing one, side by side
    with raises(PermissionDenied, message):
        await services.chat.create_conversation(alice.id, CHAT, settings={'options': options})
    with raises(PermissionDenied, message):
        await services.chat.update_conversation(alice.id, cid, settings={'options': options})
    with raises(PermissionDenied, message):
        await services.chat.start_comparison(alice.id, 'Which?', [CHAT, OTHER_CHAT], settings={'options': options})
    # conversation settings through the REST API
    settings = {'settings': {'options': options}}
    refused(await client.post('/api/v1/conversations', json={'model': CHAT} | settings, headers=h), message)
    refused(await client.patch(f'/api/v1/conversations/{cid}', json=settings, headers=h), message)
    # nothing was stored
    assert [c.id for c in await services.chat.list_conversations(alice.id)] == [cid]
    assert (await services.chat.get_conversation(alice.id, cid)).settings.options == {}
    assert not await Comparison.filter(owner_id=alice.id).exists()

    # /api/v1/chat, plain and streamed
    for stream in (False, True):
        body = {'model': CHAT, 'messages': HELLO, 'options': options, 'stream': stream}
        refused(await client.post('/api/v1/chat', json=body, headers=h), message)
    # the OpenAI gateway: OpenAI parameters plus the option in extra_body (an `options` object, or named at the top
    # level, as the SDK's extra_body sends it), plain and streamed
    for extra in ({'options': {name: value}}, {name: value}):
        for stream in (False, True):
            body = {'model': CHAT, 'messages': HELLO, 'temperature': 0.5, 'max_tokens': 20, 'stream': stream} | extra
            openai_refused(await client.post('/v1/chat/completions', json=body, headers=h), message)

    # prompts: a new prompt or a new version with the option, and a run with it
    refused(await client.post('/api/v1/prompts', json=PROMPT | {'options': options}, headers=h), message)
    refused(await client.put(f'/api/v1/prompts/{pid}', json=PROMPT | {'options': options}, headers=h), message)
    run = {'values': SUN, 'options': options}
    refused(await client.post(f'/api/v1/prompts/{pid}/runs', json=run, headers=h), message)
    assert await services.prompt_runs.runs(alice.id, pid) == []
    assert (await services.prompts.version(alice.id, pid)).options == {}

    # the tool loop (the tool chat page)
    with raises(PermissionDenied, message):
        await drain(services.tool_loop.run(alice.id, CHAT, CALC, CALCULATOR, options=options))
    # and the model-call path itself: chat and generate
    caller = await services.calls.caller(alice.id)
    with raises(PermissionDenied, message):
        await services.calls.chat(caller, Purpose.API, model=CHAT, messages=HELLO, options=options)
    with raises(PermissionDenied, message):
        await services.calls.generate(caller, Purpose.API, model=CHAT, prompt='Hello', options=options)

    assert sent.since(start) == []  # nothing reached Ollama
    # the API's refusals are in the audit log
    entries = await AuditEntry.filter(user_id=alice.id, action='request_refused')
    assert len([e for e in entries if e.details.get('detail') == message]) == 11  # one per API request above


async def test_an_attendee_is_refused_keep_alive_on_every_path(
    client, services: Services, alice: Account, sent: Sent
) -> None:
    h = alice.headers
    message = refusal('keep_alive')
    cid = await make_conversation(client, alice)
    start = sent.mark()
    for keep_alive in ('-1', 0, '1h'):  # pin the model, unload it, keep it for an hour
        with raises(PermissionDenied, message):
            await services.chat.create_conversation(alice.id, CHAT, settings={'keep_alive': keep_alive})
        with raises(PermissionDenied, message):
            await services.chat.update_conversation(alice.id, cid, settings={'keep_alive': keep_alive})
        with raises(PermissionDenied, message):
            await services.chat.start_comparison(alice.id, 'Which?', [CHAT, OTHER_CHAT], {'keep_alive': keep_alive})
        body = {'model': CHAT, 'settings': {'keep_alive': keep_alive}}
        refused(await client.post('/api/v1/conversations', json=body, headers=h), message)
        body = {'settings': {'keep_alive': keep_alive}}
        refused(await client.patch(f'/api/v1/conversations/{cid}', json=body, headers=h), message)
        for stream in (False, True):
            body = {'model': CHAT, 'messages': HELLO, 'keep_alive': keep_alive, 'stream': stream}
            refused(await client.post('/api/v1/chat', json=body, headers=h), message)
            openai_refused(await client.post('/v1/chat/completions', json=body, headers=h), message)
        caller = await services.calls.caller(alice.id)
        with raises(PermissionDenied, message):
            await services.calls.chat_stream(caller, Purpose.API, model=CHAT, messages=HELLO, keep_alive=keep_alive)
        with raises(PermissionDenied, message):
            await services.calls.generate(caller, Purpose.API, model=CHAT, prompt='Hello', keep_alive=keep_alive)
    assert [c.id for c in await services.chat.list_conversations(alice.id)] == [cid]
    assert (await services.chat.get_conversation(alice.id, cid)).settings.keep_alive is None
    assert sent.since(start) == []


async def test_settings_an_instructor_saved_do_not_pass_once_they_are_an_attendee(
    client, services: Services, admin: Account, instructor: Account, sent: Sent
) -> None:
    """Stored options are checked again on every call, for the caller as they are now."""
    pinned = (await services.chat.create_conversation(instructor.id, CHAT, settings={'options': {'num_gpu': 1}})).id
    kept = (await services.chat.create_conversation(instructor.id, CHAT, settings={'keep_alive': '1h'})).id
    pid = await make_prompt(client, instructor, options={'num_thread': 2})
    await services.auth.set_role(admin.id, instructor.id, Role.ATTENDEE)
    h = instructor.headers
    start = sent.mark()
    for cid, name in ((pinned, 'num_gpu'), (kept, 'keep_alive')):
        with raises(PermissionDenied, refusal(name)):
            await drain(services.chat.send(instructor.id, cid, 'Hello'))
        url = f'/api/v1/conversations/{cid}/messages'
        refused(await client.post(url, json={'content': 'Hello'}, headers=h), refusal(name))
        assert (await services.chat.get_conversation(instructor.id, cid)).messages == []
    with raises(PermissionDenied, refusal('num_gpu')):
        await drain(services.chat.send_with_tools(instructor.id, pinned, CALC[0]['content'], CALCULATOR))
    refused(await client.post(f'/api/v1/prompts/{pid}/runs', json={'values': SUN}, headers=h), refusal('num_thread'))
    with raises(PermissionDenied, refusal('num_thread')):
        await services.prompt_runs.run_batch(instructor.id, pid, [SUN, SUN])
    assert sent.since(start) == []

    # settings saved without them (what the playground sends on its next Send) let the attendee chat again
    for cid in (pinned, kept):
        await services.chat.update_conversation(instructor.id, cid, settings={'options': {'temperature': 0.3}})
        assert (await drain(services.chat.send(instructor.id, cid, 'Hello')))[-1].error is None
    bodies = sent.since(start)
    assert [b.get('options') for b in bodies] == [{'temperature': 0.3}] * 2
    assert not any('keep_alive' in b for b in bodies)


# ----- instructors and admins ---------------------------------------------------------------------------------------
@pytest.mark.parametrize('role', ['instructor', 'admin'])
async def test_staff_set_host_level_options_and_keep_alive_and_ollama_receives_them(
    client, services: Services, admin: Account, instructor: Account, sent: Sent, role: str
) -> None:
    who = instructor if role == 'instructor' else admin
    h = who.headers
    options = {'temperature': 0.5, **HOST_LEVEL}

    def received(mark: int, count: int, keep_alive: Any = None) -> None:
        bodies = sent.since(mark)
        assert len(bodies) == count, bodies
        for body in bodies:
            assert body['options'] == options, body
            assert body.get('keep_alive') == keep_alive, body

    # the playground: a conversation's settings, a reply, and a reply with tools (two rounds)
    mark = sent.mark()
    settings = {'options': options, 'keep_alive': '10m'}
    cid = (await services.chat.create_conversation(who.id, CHAT, settings=settings)).id
    assert (await drain(services.chat.send(who.id, cid, 'Hello')))[-1].error is None
    received(mark, 1, '10m')
    mark = sent.mark()
    events = await drain(services.chat.send_with_tools(who.id, cid, CALC[0]['content'], CALCULATOR))
    assert events[-1].kind == 'done'
    received(mark, 2)  # the tool loop carries the options (not keep_alive)
    # a conversation through the REST API
    mark = sent.mark()
    rest = await make_conversation(client, who, settings={'options': options, 'keep_alive': 0})
    reply = await client.post(f'/api/v1/conversations/{rest}/messages', json={'content': 'Hi'}, headers=h)
    assert reply.status_code == 200, reply.text
    received(mark, 1, 0)
    # /api/v1/chat
    mark = sent.mark()
    body = {'model': CHAT, 'messages': HELLO, 'options': options, 'keep_alive': '-1'}
    for stream in (False, True):
        assert (await client.post('/api/v1/chat', json=body | {'stream': stream}, headers=h)).status_code == 200
    received(mark, 2, -1)
    # the OpenAI gateway: an OpenAI parameter, an options object and an option at the top level (extra_body)
    mark = sent.mark()
    body = {'model': CHAT, 'messages': HELLO, 'temperature': 0.5, 'options': {'num_gpu': 1, 'use_mmap': False}}
    body |= {'num_thread': 2, 'keep_alive': '10m'}
    for stream in (False, True):
        assert (await client.post('/v1/chat/completions', json=body | {'stream': stream}, headers=h)).status_code == 200
    received(mark, 2, '10m')
    # a prompt saved with them, run, and run in a batch of two
    pid = await make_prompt(client, who, options=options)
    mark = sent.mark()
    run = await client.post(f'/api/v1/prompts/{pid}/runs', json={'values': SUN}, headers=h)
    assert run.status_code == 201 and run.json()['options'] == options, run.text
    batch = await services.prompt_runs.run_batch(who.id, pid, [SUN, SUN])
    assert [r.error for r in batch.runs] == [None, None]
    received(mark, 3)
    # the tool chat page
    mark = sent.mark()
    events = await drain(services.tool_loop.run(who.id, CHAT, CALC, CALCULATOR, options=options))
    assert events[-1].kind == 'done'
    received(mark, 2)


# ----- the admin's ranges -------------------------------------------------------------------------------------------
async def test_the_admin_sets_the_num_ctx_range_and_a_value_above_it_is_refused_on_every_path(
    client, services: Services, admin: Account, instructor: Account, alice: Account, sent: Sent
) -> None:
    h = alice.headers
    # until the admin changes it, the range comes from the settings (API_MAX_NUM_CTX)
    assert (await services.option_caps.current()).num_ctx == 32768
    chat = {'model': CHAT, 'messages': HELLO}
    too_big = chat | {'options': {'num_ctx': 65536}}
    refused(await client.post('/api/v1/chat', json=too_big, headers=h), out_of_range('num_ctx', 256, '32,768'), 422)

    caps = await services.option_caps.set(admin.id, {'num_ctx': 4096})
    assert caps == OptionCaps(num_ctx=4096, num_predict=8192, top_k=1000, temperature=2.0)  # the others unchanged
    above = out_of_range('num_ctx', 256, '4,096')
    big = {'num_ctx': 8192}
    cid = await make_conversation(client, alice)
    pid = await make_prompt(client, alice)
    start = sent.mark()
    # refused with the range, on every path (not clamped)
    for stream in (False, True):
        body = chat | {'options': big, 'stream': stream}
        refused(await client.post('/api/v1/chat', json=body, headers=h), above, 422)
        openai_refused(await client.post('/v1/chat/completions', json=body, headers=h), above, 422)
    with raises(InvalidInput, above):
        await services.chat.create_conversation(alice.id, CHAT, settings={'options': big})
    settings = {'settings': {'options': big}}
    refused(await client.patch(f'/api/v1/conversations/{cid}', json=settings, headers=h), above, 422)
    run = {'values': SUN, 'options': big}
    refused(await client.post(f'/api/v1/prompts/{pid}/runs', json=run, headers=h), above, 422)
    with raises(InvalidInput, above):
        await drain(services.tool_loop.run(alice.id, CHAT, CALC, CALCULATOR, options=big))
    # the range is the platform's: instructors are held to it too, as they were to API_MAX_NUM_CTX
    refused(await client.post('/api/v1/chat', json=chat | {'options': big}, headers=instructor.headers), above, 422)
    assert sent.since(start) == []

    # a value within the range passes, and Ollama receives it as asked
    ok = await client.post('/api/v1/chat', json=chat | {'options': {'num_ctx': 2048}}, headers=h)
    assert ok.status_code == 200, ok.text
    cid = (await services.chat.create_conversation(alice.id, CHAT, settings={'options': {'num_ctx': 4096}})).id
    assert (await drain(services.chat.send(alice.id, cid, 'Hello')))[-1].error is None
    assert [b['options'] for b in sent.since(start)] == [{'num_ctx': 2048}, {'num_ctx': 4096}]

    # raised again: the next call may ask for more
    await services.option_caps.set(admin.id, {'num_ctx': 16384})
    ok = await client.post('/api/v1/chat', json=chat | {'options': big}, headers=h)
    assert ok.status_code == 200, ok.text


async def test_the_admin_ranges_of_temperature_top_k_and_num_predict(
    client, services: Services, admin: Account, alice: Account, sent: Sent
) -> None:
    await services.option_caps.set(admin.id, {'temperature': 1, 'top_k': 50, 'num_predict': 256})
    h = alice.headers
    chat = {'model': CHAT, 'messages': HELLO}
    start = sent.mark()
    cases = [
        ({'temperature': 1.5}, out_of_range('temperature', 0, 1)),
        ({'top_k': 100}, out_of_range('top_k', 1, 50)),
        ({'num_predict': 1000}, out_of_range('num_predict', -1, 256)),
    ]
    for options, message in cases:
        refused(await client.post('/api/v1/chat', json=chat | {'options': options}, headers=h), message, 422)
        with raises(InvalidInput, message):
            await services.chat.create_conversation(alice.id, CHAT, settings={'options': options})
    # the OpenAI parameters are held to the same ranges (max_tokens is num_predict)
    for extra, message in (({'temperature': 1.5}, cases[0][1]), ({'max_tokens': 1000}, cases[2][1])):
        openai_refused(await client.post('/v1/chat/completions', json=chat | extra, headers=h), message, 422)
    assert sent.since(start) == []
    within = {'temperature': 1.0, 'top_k': 50, 'num_predict': 256}
    assert (await client.post('/api/v1/chat', json=chat | {'options': within}, headers=h)).status_code == 200
    assert [b['options'] for b in sent.since(start)] == [within]


async def test_only_an_admin_changes_the_ranges_within_the_options_table(
    services: Services, admin: Account, instructor: Account, alice: Account
) -> None:
    defaults = await services.option_caps.current()
    for who in (alice, instructor):
        with pytest.raises(PermissionDenied, match='needs the admin role'):
            await services.option_caps.set(who.id, {'num_ctx': 131072, 'temperature': 2})
    assert await services.option_caps.current() == defaults
    assert not await AuditEntry.filter(action='option_caps_change').exists()

    # out of the options table, or not a range: refused, saying why
    bad = [
        ({'num_ctx': 1_000_000}, 'The highest "num_ctx" must be between 256 and 131,072 on this platform.'),
        ({'num_ctx': 100}, 'The highest "num_ctx" must be between 256 and 131,072 on this platform.'),
        ({'temperature': 3}, 'The highest "temperature" must be between 0 and 2 on this platform.'),
        ({'num_predict': 0}, 'The highest "num_predict" must be between 1 and 32,768 on this platform.'),
        ({'top_k': 'many'}, 'The highest "top_k" must be a whole number.'),
        ({'num_gpu': 2}, 'Unknown range "num_gpu". Ranges can be set for: num_ctx, num_predict, top_k, temperature.'),
        ({'num_ctx': None}, 'Give the highest "num_ctx" a model call may ask for.'),
    ]
    for values, message in bad:
        with raises(InvalidInput, message):
            await services.option_caps.set(admin.id, values)
    assert await services.option_caps.current() == defaults

    # stored in the app settings (a restarted app reads it) and written to the audit log
    await services.option_caps.set(admin.id, {'num_ctx': 8192})
    restarted = OptionCapsService(services.auth, services.option_caps.defaults)
    assert (await restarted.current()).num_ctx == 8192
    entry = await AuditEntry.get(action='option_caps_change')
    assert entry.user_id == admin.id and entry.details['changed'] == {'num_ctx': [32768, 8192]}


# ----- the table and the gateway's mapping ---------------------------------------------------------------------------
def test_the_host_level_options_are_staff_only() -> None:
    expected = {'num_gpu', 'main_gpu', 'num_thread', 'num_batch', 'num_keep', 'use_mmap', 'use_mlock', 'numa'}
    assert expected | {'low_vram'} == STAFF_ONLY


def test_the_gateway_takes_options_from_extra_body_and_the_openai_parameters_win() -> None:
    body = ChatCompletionRequest.model_validate(
        {
            'model': CHAT,
            'messages': HELLO,
            'temperature': 0.2,
            'max_tokens': 50,
            'options': {'temperature': 1.0, 'top_k': 5, 'num_gpu': 1},
            'min_p': 0.1,
            'user': 'ignored',  # an OpenAI field the gateway does not use
        }
    )
    expected = {'temperature': 0.2, 'top_k': 5, 'num_gpu': 1, 'min_p': 0.1, 'num_predict': 50}
    assert openai_format.options_from(body) == expected
