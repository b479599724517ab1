"""The chat service: streaming deltas and metrics, stop, saved conversations, faults, side by side, privacy."""

from __future__ import annotations

import asyncio

import pytest

from services.chat.conversations import ChatDelta, ChatResult
from services.core import actions
from services.core.errors import InvalidInput, NotFound, Throttled
from services.wiring import Services
from tests.ollama_server import OllamaTestServer


async def collect(stream) -> tuple[list[ChatDelta], ChatResult]:
    deltas, result = [], None
    async for event in stream:
        if isinstance(event, ChatDelta):
            deltas.append(event)
        else:
            result = event
    return deltas, result


async def test_reply_streams_with_metrics_and_is_saved(services: Services, make_account) -> None:
    user = await make_account('ada@example.org', 'Ada')
    chat = services.chat
    conv = await chat.create_conversation(user, 'llama3.2:latest', 'Be brief.', {'options': {'temperature': 0.2}})
    deltas, result = await collect(chat.send(user, conv.id, 'Hello there model'))
    assert len(deltas) == 12 and result.content.startswith('You said: Hello there model.')
    assert result.error is None and not result.stopped
    m = result.metrics
    assert m.ttft_ms is not None and m.output_tokens == 12 and m.prompt_tokens and m.tokens_per_s and m.total_ms
    saved = await chat.get_conversation(user, conv.id)
    assert [x['role'] for x in saved.messages] == ['user', 'assistant']
    assert saved.messages[1]['metrics']['output_tokens'] == 12 and saved.title == 'Hello there model'
    logged = (await services.activity.query(action=actions.CHAT))[0]
    assert logged.model == 'llama3.2:latest' and logged.tokens and logged.latency_ms and logged.host

    _, again = await collect(chat.regenerate(user, conv.id))
    assert again.content == result.content
    assert len((await chat.get_conversation(user, conv.id)).messages) == 2
    await chat.rename(user, conv.id, 'Greetings')
    assert [c.title for c in await chat.list_conversations(user)] == ['Greetings']
    await chat.delete_conversation(user, conv.id)
    assert await chat.list_conversations(user) == []


async def test_thinking_json_and_schema(services: Services, make_account) -> None:
    user = await make_account('ada@example.org', 'Ada')
    await services.catalogue.refresh()
    chat = services.chat
    conv = await chat.create_conversation(user, 'qwen3:0.6b')
    _, result = await collect(chat.send(user, conv.id, 'why is the sky blue'))
    assert result.thinking == 'Let me think about this. ' and result.content
    conv = await chat.create_conversation(user, 'llama3.2:latest', settings={'format': 'json'})
    _, result = await collect(chat.send(user, conv.id, 'hi'))
    assert result.content.startswith('{"reply":')
    schema = '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}'
    conv = await chat.create_conversation(user, 'llama3.2:latest', settings={'format': schema})
    _, result = await collect(chat.send(user, conv.id, 'hi'))
    assert '"city"' in result.content


async def test_embedding_model_cannot_chat_and_options_are_bounded(services: Services, make_account) -> None:
    user = await make_account('ada@example.org', 'Ada')
    await services.catalogue.refresh()
    with pytest.raises(InvalidInput, match='embedding model'):
        await services.chat.create_conversation(user, 'nomic-embed-text:latest')
    with pytest.raises(InvalidInput, match='num_ctx'):
        await services.chat.create_conversation(user, 'llama3.2:latest', settings={'options': {'num_ctx': 1_000_000}})


async def test_stop_closes_the_ollama_stream_and_keeps_the_partial_answer(
    services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    user = await make_account('ada@example.org', 'Ada')
    ollama_server.token_delay = 0.05
    ollama_server.response_tokens = 200
    conv = await services.chat.create_conversation(user, 'llama3.2:latest')
    got = []
    three = asyncio.Event()

    async def consume() -> None:
        async for event in services.chat.send(user, conv.id, 'tell me a long story'):
            got.append(event)
            if len(got) >= 3:
                three.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(three.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(ollama_server.wait_for_disconnect)
    saved = (await services.chat.get_conversation(user, conv.id)).messages
    assert saved[-1]['stopped'] is True and saved[-1]['content'].startswith('You said')
    logged = (await services.activity.query(action=actions.CHAT))[0]
    assert logged.error == 'stopped by the user'


async def test_faults_down_before_and_during_busy_missing(
    services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    user = await make_account('ada@example.org', 'Ada')
    chat = services.chat
    conv = await chat.create_conversation(user, 'llama3.2:latest')
    ollama_server.fail_after_tokens = 4
    deltas, result = await collect(chat.send(user, conv.id, 'hello'))
    assert len(deltas) == 4 and result.error_kind == 'stream_error' and result.partial
    saved = (await chat.get_conversation(user, conv.id)).messages[-1]
    assert saved['content'] == result.content and saved['error']

    ollama_server.fail_after_tokens = None
    ollama_server.busy = True
    _, result = await collect(chat.regenerate(user, conv.id))
    assert result.error_kind == 'busy' and 'busy' in result.error
    ollama_server.busy = False
    _, result = await collect(chat.regenerate(user, conv.id))  # the retry
    assert result.error is None

    ollama_server.go_down()
    _, result = await collect(chat.send(user, conv.id, 'still there?'))
    assert result.error_kind == 'unreachable' and 'not reachable' in result.error
    ollama_server.come_up()

    missing = await chat.create_conversation(user, 'ghost:latest')
    _, result = await collect(chat.send(user, missing.id, 'hi'))
    assert result.error_kind == 'model_not_found' and 'Pull it first' in result.error
    errors = await services.activity.query(action=actions.CHAT, errors_only=True)
    assert len(errors) == 4


async def test_another_users_conversation_is_not_found(services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    conv = await services.chat.create_conversation(ada, 'llama3.2:latest')
    for attempt in (
        services.chat.get_conversation(bob, conv.id),
        services.chat.rename(bob, conv.id, 'mine'),
        services.chat.delete_conversation(bob, conv.id),
        services.chat.update_conversation(bob, conv.id, system_prompt='x'),
        collect(services.chat.send(bob, conv.id, 'hi')),
        collect(services.chat.regenerate(bob, conv.id)),
    ):
        with pytest.raises(NotFound):
            await attempt
    assert await services.chat.list_conversations(bob) == []
    assert (await services.chat.get_conversation(ada, conv.id)).title == 'New conversation'


async def test_huge_prompt_is_refused_and_a_deactivated_user_is_signed_out(services: Services, make_account) -> None:
    from services.core.errors import NotAuthenticated

    admin = await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    conv = await services.chat.create_conversation(bob, 'llama3.2:latest')
    with pytest.raises(InvalidInput, match='too long'):
        await collect(services.chat.send(bob, conv.id, 'x' * (services.calls.limits.max_prompt_chars + 1)))
    await services.auth.set_active(admin, bob, False)
    with pytest.raises(NotAuthenticated):
        await collect(services.chat.send(bob, conv.id, 'hi'))


async def test_per_user_stream_limit(services: Services, make_account, ollama_server: OllamaTestServer) -> None:
    user = await make_account('ada@example.org', 'Ada')
    ollama_server.token_delay = 0.05
    ollama_server.response_tokens = 40  # each reply streams for about 2 s
    conv = await services.chat.create_conversation(user, 'llama3.2:latest')
    limit = services.calls.room.max_per_user
    services.calls.room.default_slots = limit * 2  # the host has room: only the person's limit holds
    services.calls.room.max_wait = 0.3  # then the call over the limit is refused
    tasks = [asyncio.create_task(collect(services.chat.send(user, conv.id, 'hi'))) for _ in range(limit)]
    await asyncio.sleep(0.1)
    with pytest.raises(Throttled):
        await collect(services.chat.send(user, conv.id, 'one more'))
    await asyncio.gather(*tasks)


async def test_side_by_side_streams_and_counts_the_better_answer(services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    chat = services.chat
    with pytest.raises(InvalidInput, match='2 to 4'):
        await chat.start_comparison(ada, 'hi', ['llama3.2:latest'])
    cid = await chat.start_comparison(ada, 'Compare me', ['llama3.2:latest', 'qwen3:0.6b', 'llava:7b'])
    results = await asyncio.gather(*(collect(chat.compare_stream(ada, cid, i)) for i in range(3)))
    assert all(r.content.startswith('You said: Compare me.') for _, r in results)
    await chat.mark_better(ada, cid, 'qwen3:0.6b')
    assert await chat.win_counts(ada) == {'qwen3:0.6b': 1}
    with pytest.raises(NotFound):
        await chat.mark_better(bob, cid, 'llava:7b')
    with pytest.raises(NotFound):
        await collect(chat.compare_stream(bob, cid, 0))


async def test_a_disabled_host_is_never_used(services: Services, make_account, ollama_server) -> None:
    admin = await make_account('ada@example.org', 'Ada')
    conv = await services.chat.create_conversation(admin, 'llama3.2:latest')
    host = (await services.hosts.list_hosts(admin))[0]
    await services.hosts.update_host(admin, host.id, enabled=False)
    before = len(ollama_server.requests)
    with pytest.raises(InvalidInput, match='No Ollama host is configured'):
        await collect(services.chat.send(admin, conv.id, 'hi'))
    assert not [r for r in ollama_server.requests[before:] if r['path'] == '/api/chat']
