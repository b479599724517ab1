"""The one model-call path seen from the playground page: an attendee of a live workshop is offered only the
workshop's models, is told which ones when a conversation uses another, and is told when too many of their calls are
running; a refused message sends nothing to Ollama and stays in the input."""

from __future__ import annotations

import asyncio
import contextlib

from nicegui.testing import User

from models import ModelCall
from services.wiring import Services
from tests.ollama_server import OllamaTestServer
from tests.ui.conftest import sign_in


def only(user: User, marker: str):
    [element] = user.find(marker=marker).elements
    return element


def chat_requests(server: OllamaTestServer) -> int:
    return sum(1 for r in server.requests if r.get('path') == '/api/chat')


async def join_workshop(services: Services, make_account, bob: int, allowed: list[str] = ()) -> int:
    """Ian's live workshop (allowing `allowed`; empty: any model), joined by Bob; its id."""
    ian = await make_account('ian@example.org', 'Ian', role='instructor')
    workshop = await services.workshops.create(ian, 'Models 101', allowed_models=list(allowed))
    await services.workshops.start(ian, workshop.id)
    joined = await services.workshops.join((await services.workshops.get(ian, workshop.id)).join_code, user_id=bob)
    assert joined.workshop_id == workshop.id
    return workshop.id


async def test_playground_offers_only_the_workshop_models_also_after_a_catalogue_refresh(
    user: User, services: Services, make_account
) -> None:
    await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    await join_workshop(services, make_account, bob, ['llama3.2'])
    await services.catalogue.refresh()
    await sign_in(user, 'bob@example.org')
    await user.open('/playground')
    assert list(only(user, 'chat-model').options) == ['llama3.2:latest']
    await services.catalogue.refresh()  # the background refresh, while the page is open
    assert list(only(user, 'chat-model').options) == ['llama3.2:latest']


async def test_playground_refuses_a_model_the_workshop_does_not_allow_and_keeps_the_message(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    old = await services.chat.create_conversation(bob, 'qwen3:0.6b')  # from before the workshop
    wid = await join_workshop(services, make_account, bob, ['llama3.2'])
    await services.catalogue.refresh()
    await sign_in(user, 'bob@example.org')
    await user.open(f'/playground/{old.id}')
    sent = chat_requests(ollama_server)
    only(user, 'chat-input').value = 'Hello there'
    user.find(marker='chat-send').click()
    await user.should_see('Your workshop allows only these models: llama3.2. "qwen3:0.6b" is not one of them')
    assert chat_requests(ollama_server) == sent  # nothing went to Ollama
    assert only(user, 'chat-input').value == 'Hello there'  # the message is kept
    assert not await ModelCall.filter(user_id=bob).exists()

    only(user, 'chat-model').value = 'llama3.2:latest'  # an allowed model answers
    user.find(marker='chat-send').click()
    await user.should_see('You said: Hello there', retries=50)
    for _ in range(50):
        rows = await ModelCall.filter(user_id=bob, kind='chat')
        if rows:
            break
        await asyncio.sleep(0.05)
    assert [(r.purpose, r.model, r.workshop_id, r.counted) for r in rows] == [
        ('playground', 'llama3.2:latest', wid, True)
    ]
    assert chat_requests(ollama_server) == sent + 1


async def test_playground_tells_an_attendee_at_the_call_limit_and_keeps_the_message(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    await join_workshop(services, make_account, bob)
    limit = services.calls.room.max_per_user = 2  # CHAT_MAX_STREAMS_PER_USER
    services.calls.room.max_wait = 0.5  # a call over the limit waits this long in its lane, then is refused

    ollama_server.token_delay = 0.05
    ollama_server.response_tokens = 400
    held: list[asyncio.Task] = []
    for _ in range(limit):  # replies streaming in other tabs
        conversation = await services.chat.create_conversation(bob, 'llama3.2:latest')
        started = asyncio.Event()

        async def consume(stream=services.chat.send(bob, conversation.id, 'A long story'), started=started) -> None:
            async for _ in stream:
                started.set()

        held.append(asyncio.create_task(consume()))
        await asyncio.wait_for(started.wait(), 5)
    try:
        await sign_in(user, 'bob@example.org')
        await user.open('/playground?model=llama3.2:latest')
        sent = chat_requests(ollama_server)
        only(user, 'chat-input').value = 'One more question'
        user.find(marker='chat-send').click()
        await user.should_see(f'You already have {limit} model calls running (the limit is {limit})', retries=50)
        assert chat_requests(ollama_server) == sent
        assert only(user, 'chat-input').value == 'One more question'
    finally:
        for task in held:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert services.calls.running(bob) == 0
