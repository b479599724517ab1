"""The one model-call path against the Ollama-compatible test server, through the real `ollama` client: typed errors,
streams that stop Ollama when their consumer stops, routing, the per-user limit, and one ledger row per call."""

from __future__ import annotations

import asyncio

import pytest

from models import ModelCall
from services.core.audit import AuditService
from services.core.auth import AuthService
from services.core.errors import InvalidInput, PermissionDenied, Throttled
from services.core.membership import Membership
from services.core.quotas import QuotaService
from services.models.callers import SYSTEM, Caller, Purpose
from services.models.calls import ModelCalls
from services.models.errors import (
    ModelNotFound,
    OllamaBadRequest,
    OllamaBusy,
    OllamaStreamError,
    OllamaTimeout,
    OllamaUnreachable,
)
from services.models.hosts import HostDirectory
from services.models.room import Room
from tests.ollama_server import OllamaTestServer

HELLO = [{'role': 'user', 'content': 'hello there'}]


def make_calls(auth: AuthService, url: str, **kwargs) -> ModelCalls:
    membership = Membership()
    quotas = QuotaService(auth, AuditService(auth), membership)
    return ModelCalls(hosts=HostDirectory([url], auth), auth=auth, membership=membership, quotas=quotas, **kwargs)


@pytest.fixture
async def calls(auth: AuthService, ollama_server: OllamaTestServer):
    calls = make_calls(auth, ollama_server.url, timeout=5, connect_timeout=2)
    yield calls
    await calls.close()


@pytest.fixture
async def admin(auth: AuthService, calls: ModelCalls) -> Caller:
    user = await auth.signup('ada@example.org', 'Ada', 'correct-horse-42')  # the first account is the admin
    return await calls.caller(user.id)


@pytest.fixture
async def attendee(auth: AuthService, calls: ModelCalls, admin: Caller) -> Caller:
    user = await auth.signup('bob@example.org', 'Bob', 'correct-horse-42')
    return await calls.caller(user.id)


async def drain(stream) -> list:
    return [part async for part in stream]


async def test_lists_shows_and_reports_loaded_models(
    calls: ModelCalls, admin: Caller, ollama_server: OllamaTestServer
) -> None:
    names = [m.model for m in await calls.list_models(ollama_server.url)]
    assert 'llama3.2:latest' in names and 'nomic-embed-text:latest' in names
    shown = await calls.show(ollama_server.url, 'nomic-embed-text')
    assert 'embedding' in shown.capabilities
    reply = await calls.chat(admin, Purpose.API, model='llama3.2', messages=HELLO)
    assert reply.host == ollama_server.url and reply.message.content.startswith('You said')
    assert [m.model for m in await calls.loaded(ollama_server.url)] == ['llama3.2:latest']
    await calls.unload(admin, ollama_server.url, 'llama3.2')
    assert await calls.loaded(ollama_server.url) == []


async def test_streams_a_chat_with_final_metrics_and_records_it_once(
    calls: ModelCalls, attendee: Caller, ollama_server: OllamaTestServer
) -> None:
    stream = await calls.chat_stream(attendee, Purpose.PLAYGROUND, model='llama3.2', messages=HELLO)
    assert stream.host == ollama_server.url
    parts = await drain(stream)
    assert ''.join(p.message.content or '' for p in parts).startswith('You said: hello there')
    assert parts[-1].done and parts[-1].eval_count == ollama_server.response_tokens
    row = await ModelCall.get(user_id=attendee.user_id)
    assert (row.purpose, row.kind, row.model, row.host) == ('playground', 'chat', 'llama3.2', ollama_server.url)
    assert row.counted and row.completion_tokens == ollama_server.response_tokens and row.error is None
    assert row.ttft_ms is not None and row.tokens == row.prompt_tokens + row.completion_tokens
    await calls.embed(attendee, Purpose.INGESTION, model='nomic-embed-text', inputs=['a', 'b'])
    embedded = await ModelCall.get(user_id=attendee.user_id, kind='embed')
    assert embedded.purpose == 'ingestion' and not embedded.counted  # background work is not a request
    assert await ModelCall.all().count() == 2
    assert calls.counts[Purpose.PLAYGROUND] == 1 and calls.counts[Purpose.INGESTION] == 1


async def test_health_check_reports_version_and_latency(calls: ModelCalls, ollama_server: OllamaTestServer) -> None:
    status = await calls.check_host(ollama_server.url)
    assert status.ok and status.version and status.latency_ms is not None
    ollama_server.go_down()
    status = await calls.check_host(ollama_server.url)
    assert not status.ok and f'Ollama at {ollama_server.url} is not reachable' in status.error


async def test_unreachable_is_typed_for_calls_and_streams(
    calls: ModelCalls, admin: Caller, ollama_server: OllamaTestServer
) -> None:
    ollama_server.go_down()
    with pytest.raises(OllamaUnreachable, match='is not reachable'):
        await calls.list_models(ollama_server.url)
    stream = await calls.chat_stream(admin, Purpose.API, model='llama3.2', messages=HELLO, host=ollama_server.url)
    with pytest.raises(OllamaUnreachable, match='ollama serve'):
        await drain(stream)
    row = await ModelCall.get(user_id=admin.user_id)
    assert 'is not reachable' in row.error  # a failed call is recorded too


async def test_missing_model_bad_request_and_busy_are_typed(
    calls: ModelCalls, admin: Caller, ollama_server: OllamaTestServer
) -> None:
    with pytest.raises(ModelNotFound, match='"nope" is not available') as missing:
        await drain(await calls.chat_stream(admin, Purpose.API, model='nope', messages=HELLO))
    assert missing.value.model == 'nope' and missing.value.status == 404
    tool = {'type': 'function', 'function': {'name': 'f', 'description': 'd', 'parameters': {'type': 'object'}}}
    with pytest.raises(OllamaBadRequest, match='does not support tools'):
        await calls.chat(admin, Purpose.API, model='llava:7b', messages=HELLO, tools=[tool])
    ollama_server.busy = True
    with pytest.raises(OllamaBusy, match='busy'):
        await drain(await calls.chat_stream(admin, Purpose.API, model='llama3.2', messages=HELLO))


async def test_error_inside_a_stream_keeps_the_partial_answer(
    calls: ModelCalls, admin: Caller, ollama_server: OllamaTestServer
) -> None:
    ollama_server.fail_after_tokens = 3
    received = []
    with pytest.raises(OllamaStreamError, match='error during the reply'):
        async for part in await calls.chat_stream(admin, Purpose.API, model='llama3.2', messages=HELLO):
            received.append(part.message.content)
    assert len(received) == 3


async def test_timeout_is_typed(auth: AuthService, admin: Caller, ollama_server: OllamaTestServer) -> None:
    calls = make_calls(auth, ollama_server.url, timeout=0.3, connect_timeout=1)
    ollama_server.first_token_delay = 2
    try:
        with pytest.raises(OllamaTimeout, match='did not answer in time'):
            await drain(await calls.chat_stream(admin, Purpose.API, model='llama3.2', messages=HELLO))
    finally:
        await calls.close()


async def test_cancelling_the_consumer_closes_the_stream_and_frees_the_slot(
    calls: ModelCalls, attendee: Caller, ollama_server: OllamaTestServer
) -> None:
    ollama_server.token_delay = 0.05
    ollama_server.response_tokens = 200
    first_token = asyncio.Event()

    async def consume() -> None:
        async for _ in await calls.chat_stream(attendee, Purpose.PLAYGROUND, model='llama3.2', messages=HELLO):
            first_token.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_token.wait(), 5)
    assert calls.running(attendee.user_id) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(ollama_server.wait_for_disconnect, 1, 5)
    assert calls.running(attendee.user_id) == 0
    row = await ModelCall.get(user_id=attendee.user_id)
    assert row.error == 'the client stopped reading'


async def test_per_user_limit_holds_on_every_kind_of_call(
    auth: AuthService, attendee: Caller, admin: Caller, ollama_server: OllamaTestServer
) -> None:
    room = Room(max_per_user=2, max_wait=0.3)  # more calls of the same person wait briefly, then are refused
    calls = make_calls(auth, ollama_server.url, room=room)
    ollama_server.token_delay = 0.05
    try:
        held = [await calls.chat_stream(attendee, Purpose.API, model='llama3.2', messages=HELLO) for _ in range(2)]
        for stream in held:
            await anext(stream)  # running: each holds a slot
        with pytest.raises(Throttled, match=r'already have 2 model calls running \(the limit is 2\); this one waited'):
            await calls.chat_stream(attendee, Purpose.RAG_ASK, model='llama3.2', messages=HELLO)
        with pytest.raises(Throttled):
            await calls.chat(attendee, Purpose.BATCH_ROW, model='llama3.2', messages=HELLO)
        with pytest.raises(Throttled):
            await calls.embed(attendee, Purpose.OPENAI, model='nomic-embed-text', inputs=['x'])
        await calls.embed(attendee, Purpose.INGESTION, model='nomic-embed-text', inputs=['x'])  # background work
        await calls.chat(admin, Purpose.API, model='llama3.2', messages=HELLO)  # other people go on
        await held[0].aclose()
        await calls.chat(attendee, Purpose.BATCH_ROW, model='llama3.2', messages=HELLO)  # a slot was freed
        await held[1].aclose()
        assert calls.running(attendee.user_id) == 0
    finally:
        await calls.close()


async def test_only_managers_change_models(calls: ModelCalls, attendee: Caller, ollama_server) -> None:
    for attempt in (
        calls.delete(attendee, ollama_server.url, 'llama3.2'),
        calls.copy(attendee, ollama_server.url, 'llama3.2', 'mine'),
        calls.unload(attendee, ollama_server.url, 'llama3.2'),
        calls.copy(SYSTEM, ollama_server.url, 'llama3.2', 'mine'),
    ):
        with pytest.raises(PermissionDenied):
            await attempt
    assert 'llama3.2:latest' in {m.model for m in await calls.list_models(ollama_server.url)}


async def test_routes_to_the_host_that_has_the_model(
    auth: AuthService, admin: Caller, ollama_server: OllamaTestServer
) -> None:
    other = OllamaTestServer()
    other.start()
    try:
        calls = make_calls(auth, other.url)
        await calls.hosts.add_host(admin.user_id, 'Second', ollama_server.url)
        await calls.delete(admin, other.url, 'qwen3:0.6b')  # only the second host has it now
        assert await calls.route('qwen3:0.6b') == ollama_server.url
        assert await calls.route('llama3.2') == other.url  # the first host that has it
        assert await calls.route('nothing-anywhere') == other.url  # the default host says "not found"
        await calls.close()
    finally:
        other.stop()


async def test_a_host_that_fails_before_the_first_token_is_skipped_and_the_call_moves(
    auth: AuthService, admin: Caller, ollama_server: OllamaTestServer
) -> None:
    other = OllamaTestServer()
    other.start()
    calls = make_calls(auth, other.url, down_seconds=0.5)  # `other` is the first host
    try:
        await calls.hosts.add_host(admin.user_id, 'Second', ollama_server.url)
        assert await calls.candidates('llama3.2') == [other.url, ollama_server.url]  # both have it
        other.go_down()  # the first host dies after the platform saw its models
        reply = await calls.chat(admin, Purpose.API, model='llama3.2', messages=HELLO)
        assert reply.host == ollama_server.url and calls.is_down(other.url)
        failed, served = await ModelCall.filter(user_id=admin.user_id).order_by('id')
        assert (failed.host, failed.counted, served.host, served.counted) == (other.url, False, ollama_server.url, True)
        assert 'not reachable' in failed.error and served.error is None
        # streams move too, before their first token; and a down host is tried last
        assert (await calls.candidates('llama3.2'))[-1] == other.url
        stream = await calls.chat_stream(admin, Purpose.API, model='llama3.2', messages=HELLO, host=None)
        assert stream.host == ollama_server.url and (await drain(stream))[-1].done
        # the host comes back by itself once its down time is over and it answers again
        other.come_up()
        await asyncio.sleep(0.6)
        assert not calls.is_down(other.url)
        assert (await calls.chat(admin, Purpose.API, model='llama3.2', messages=HELLO)).host in (
            other.url,
            ollama_server.url,
        )
    finally:
        await calls.close()
        other.stop()


async def test_a_stream_that_fails_mid_answer_keeps_its_host_and_reports_the_error(
    auth: AuthService, admin: Caller, ollama_server: OllamaTestServer
) -> None:
    other = OllamaTestServer()
    other.start()
    calls = make_calls(auth, ollama_server.url)
    try:
        await calls.hosts.add_host(admin.user_id, 'Second', other.url)
        ollama_server.fail_after_tokens = 2
        received = []
        with pytest.raises(OllamaStreamError):
            async for part in await calls.chat_stream(admin, Purpose.API, model='llama3.2', messages=HELLO):
                received.append(part.message.content)
        assert len(received) == 2 and not calls.is_down(ollama_server.url)  # no failover after the first token
        assert all(r['path'] != '/api/chat' for r in other.requests)  # nothing was sent elsewhere
    finally:
        await calls.close()
        other.stop()


async def test_each_host_has_its_own_number_of_slots(
    calls: ModelCalls, admin: Caller, attendee: Caller, ollama_server: OllamaTestServer
) -> None:
    [host] = await calls.hosts.list_hosts(admin.user_id)
    assert host.slots is None  # the default
    await calls.candidates('llama3.2')
    assert calls.room.hosts[ollama_server.url].slots == calls.room.default_slots
    with pytest.raises(InvalidInput, match='1 to 256'):
        await calls.hosts.update_host(admin.user_id, host.id, slots=0)
    with pytest.raises(PermissionDenied):
        await calls.hosts.update_host(attendee.user_id, host.id, slots=64)
    await calls.hosts.update_host(admin.user_id, host.id, slots=1)
    ollama_server.token_delay = 0.05
    busy = await calls.chat_stream(admin, Purpose.API, model='llama3.2', messages=HELLO)
    assert calls.room.hosts[ollama_server.url].slots == 1
    calls.room.max_wait = 0.2
    with pytest.raises(Throttled, match='The room is busy'):  # the one slot is taken
        await calls.chat_stream(attendee, Purpose.API, model='llama3.2', messages=HELLO)
    await busy.aclose()  # closing the stream frees the slot at once
    stream = await calls.chat_stream(attendee, Purpose.API, model='llama3.2', messages=HELLO)
    await stream.aclose()
    await calls.hosts.update_host(admin.user_id, host.id, slots=None)
    await calls.candidates('llama3.2')
    assert calls.room.hosts[ollama_server.url].slots == calls.room.default_slots


async def test_a_conversation_keeps_its_host_while_it_has_room_and_embeddings_can_be_pinned(
    auth: AuthService, admin: Caller, attendee: Caller, ollama_server: OllamaTestServer
) -> None:
    other = OllamaTestServer()
    other.start()
    calls = make_calls(auth, other.url, embed_hosts=[ollama_server.url])
    try:
        await calls.hosts.add_host(admin.user_id, 'Second', ollama_server.url)
        first = await calls.chat_stream(attendee, Purpose.PLAYGROUND, model='llama3.2', messages=HELLO, sticky='c:1')
        host = first.host
        await drain(first)
        other_host = ollama_server.url if host == other.url else other.url
        ollama_server.token_delay = other.token_delay = 0.05
        busy = await calls.chat_stream(admin, Purpose.API, model='llama3.2', messages=HELLO, host=host)
        await anext(busy)  # the conversation's host is now the busier one, but still has free slots
        again = await calls.chat_stream(attendee, Purpose.PLAYGROUND, model='llama3.2', messages=HELLO, sticky='c:1')
        assert again.host == host  # back where its prompt is cached
        fresh = await calls.chat_stream(attendee, Purpose.PLAYGROUND, model='llama3.2', messages=HELLO, sticky='c:2')
        assert fresh.host == other_host  # a new conversation goes to the least busy host
        for stream in (busy, again, fresh):
            await stream.aclose()
        # embeddings go to the pinned host, although the other one is the default
        for _ in range(3):
            assert (
                await calls.embed(attendee, Purpose.API, model='nomic-embed-text', inputs=['x'])
            ).host == ollama_server.url
    finally:
        await calls.close()
        other.stop()
