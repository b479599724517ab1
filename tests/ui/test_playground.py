"""The playground and side by side as a user experiences them: streaming, stop, metrics, saved chats, faults."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nicegui.testing import User

from services.core import actions
from services.wiring import Services
from tests.ollama_server import OllamaTestServer
from tests.ui.conftest import sign_in


async def start(user: User, make_account, email: str = 'ada@example.org', role: str | None = None) -> int:
    if email != 'ada@example.org':
        await make_account('ada@example.org', 'Ada')
    user_id = await make_account(email, email.split('@')[0].title(), role=role)
    await sign_in(user, email)
    return user_id


async def send(user: User, text: str) -> None:
    user.find(marker='chat-input').type(text)
    user.find(marker='chat-send').click()


async def test_chat_streams_markdown_shows_metrics_and_is_saved(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    ada = await start(user, make_account)
    await user.open('/playground')
    await user.should_see(marker='chat-model')
    await send(user, 'Hello <img src=x onerror=alert(1)> model')
    await user.should_see('You said: Hello', retries=50)
    await user.should_see('tokens/s', retries=50)
    await user.should_see('first token')
    await user.should_see('output 12 tokens')
    answer = user.find(marker='chat-answer').elements.pop()
    assert answer.props['sanitize'] is True  # model output is sanitised in the browser (DOMPurify)
    user.find(marker='chat-copy').click()
    await user.should_see('Copied.')
    conversations = await services.chat.list_conversations(ada)
    assert len(conversations) == 1
    await user.should_see(marker=f'conv-{conversations[0].id}')
    # continue it later
    await user.open(f'/playground/{conversations[0].id}')
    await user.should_see('You said: Hello', retries=30)
    await send(user, 'second question')
    await user.should_see('You said: second question.', retries=50)
    saved = await services.chat.get_conversation(ada, conversations[0].id)
    assert [m['role'] for m in saved.messages] == ['user', 'assistant', 'user', 'assistant']
    assert (await services.activity.query(action=actions.CHAT))[0].tokens


async def test_ctrl_enter_sends_and_thinking_is_collapsed(user: User, services: Services, make_account) -> None:
    await start(user, make_account)
    await services.catalogue.refresh()
    await user.open('/playground?model=qwen3:0.6b')
    user.find(marker='chat-input').type('why')
    user.find(marker='chat-input').trigger('keydown.ctrl.enter')
    await user.should_see('You said: why.', retries=50)
    await user.should_see('Let me think about this.', retries=30)
    thinking = user.find('Thinking').elements.pop()
    assert thinking.value is False  # collapsed


async def test_stop_cancels_the_stream_and_the_server_sees_the_disconnect(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    ada = await start(user, make_account)
    ollama_server.token_delay = 0.1
    ollama_server.response_tokens = 500
    await user.open('/playground')
    await send(user, 'a very long story please')
    await user.should_see('You said: a very', retries=50)
    # the page stays responsive while the model is slow: open the options and type
    user.find('System prompt and options').click()
    user.find(marker='chat-system').type('Be brief.')
    user.find(marker='chat-stop').click()
    await user.should_see('Stopped: the answer above is incomplete.', retries=30)
    assert await asyncio.to_thread(ollama_server.wait_for_disconnect)
    conversation = (await services.chat.list_conversations(ada))[0]
    saved = (await services.chat.get_conversation(ada, conversation.id)).messages
    assert saved[-1]['stopped'] is True
    await user.should_see(marker='chat-send')


async def test_options_are_bounded_and_json_schema_output(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await start(user, make_account)
    await user.open('/playground')
    user.find('System prompt and options').click()
    user.find(marker='opt-num_ctx').type('1000000')
    await send(user, 'hi')
    await user.should_see('"num_ctx" must be between 256 and 32,768 on this platform.', retries=30)
    user.find(marker='opt-num_ctx').clear()
    user.find(marker='opt-format').elements.pop().set_value('schema')
    user.find(marker='opt-schema').type('{"type": "object", "properties": {"city": {"type": "string"}}}')
    user.find(marker='chat-send').click()
    await user.should_see(marker='chat-metrics', retries=50)
    await user.should_see('{"city":', retries=50)
    body = next(r['body'] for r in reversed(ollama_server.requests) if r['path'] == '/api/chat')
    assert body['format']['properties'] == {'city': {'type': 'string'}}


async def test_keep_alive_is_offered_to_instructors_and_admins_only(
    user: User, make_account, ollama_server: OllamaTestServer
) -> None:
    await start(user, make_account, 'bob@example.org')  # an attendee
    await user.open('/playground')
    user.find('System prompt and options').click()
    await user.should_see(marker='opt-num_ctx')
    await user.should_not_see(marker='opt-keep_alive')
    await send(user, 'hi')
    await user.should_see(marker='chat-metrics', retries=50)
    body = next(r['body'] for r in reversed(ollama_server.requests) if r['path'] == '/api/chat')
    assert 'keep_alive' not in body


async def test_rename_delete_and_regenerate(user: User, services: Services, make_account) -> None:
    ada = await start(user, make_account)
    await user.open('/playground')
    await send(user, 'first')
    await user.should_see('tokens/s', retries=50)
    conversation = (await services.chat.list_conversations(ada))[0]
    user.find(marker='chat-regenerate').click()
    for _ in range(100):
        if len(await services.activity.query(action=actions.CHAT)) == 2:
            break
        await asyncio.sleep(0.05)
    await user.should_see('tokens/s', retries=50)
    await asyncio.sleep(0.2)  # the conversation list is rebuilt after the reply
    assert len((await services.chat.get_conversation(ada, conversation.id)).messages) == 2
    user.find(marker=f'rename-{conversation.id}').click()
    await user.should_see(marker='rename-title', retries=20)
    user.find(marker='rename-title').clear().type('My talk')
    user.find(marker='rename-save').click()
    await user.should_see('Renamed.', retries=30)
    assert (await services.chat.list_conversations(ada))[0].title == 'My talk'
    user.find(marker=f'delete-conv-{conversation.id}').click()
    await user.should_see('Delete this conversation?')
    user.find(marker='confirm').click()
    await user.should_see('Conversation deleted.', retries=30)
    assert await services.chat.list_conversations(ada) == []


async def test_another_users_conversation_is_not_found(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    await make_account('bob@example.org', 'Bob')
    conversation = await services.chat.create_conversation(ada, 'llama3.2:latest', 'Secret system prompt')
    await sign_in(user, 'bob@example.org')
    await user.open(f'/playground/{conversation.id}')
    await user.should_see('That conversation does not exist (or is not yours).')
    await user.should_not_see('Secret system prompt')


async def test_embedding_models_are_not_offered(user: User, services: Services, make_account) -> None:
    await start(user, make_account)
    await services.catalogue.refresh()
    await user.open('/playground')
    options = user.find(marker='chat-model').elements.pop().options
    names = [o['label'] if isinstance(o, dict) else o for o in options]
    assert 'llama3.2:latest' in str(names) and 'nomic-embed-text' not in str(names)


async def test_ollama_down_before_and_during_a_reply(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await start(user, make_account)
    await user.open('/playground')
    ollama_server.fail_after_tokens = 5
    await send(user, 'hello there')
    await user.should_see('The answer above is incomplete.', retries=50)
    await user.should_see('Ollama reported an error during the reply', retries=30)
    await user.should_see('You said: hello there.')  # the partial answer is kept
    ollama_server.fail_after_tokens = None
    ollama_server.go_down()
    await send(user, 'anyone?')
    await user.should_see('is not reachable', retries=50)
    ollama_server.come_up()
    assert user.find(marker='chat-retry').elements  # a retry is offered


async def test_ollama_cut_mid_reply_keeps_the_partial_answer(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    ada = await start(user, make_account)
    ollama_server.token_delay = 0.05
    ollama_server.response_tokens = 200
    await user.open('/playground')
    await send(user, 'keep going')
    await user.should_see('You said: keep going.', retries=50)
    ollama_server.go_down()
    await user.should_see('broke off during the reply', retries=50)
    ollama_server.come_up()
    conversation = (await services.chat.list_conversations(ada))[0]
    last = (await services.chat.get_conversation(ada, conversation.id)).messages[-1]
    assert last['content'].startswith('You said: keep going.') and last['error']


async def test_busy_then_retry(user: User, make_account, ollama_server: OllamaTestServer) -> None:
    await start(user, make_account)
    await user.open('/playground')
    ollama_server.busy = True
    await send(user, 'hello')
    await user.should_see('is busy with other requests', retries=50)
    ollama_server.busy = False
    user.find(marker='chat-retry').click()
    await user.should_see('You said: hello.', retries=50)


async def test_missing_model_offers_a_pull_to_instructors_only(
    user: User, create_user: Callable[[], User], services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await make_account('ada@example.org', 'Ada')
    ian = await make_account('ian@example.org', 'Ian', role='instructor')
    bob = await make_account('bob@example.org', 'Bob')
    await sign_in(user, 'ian@example.org')
    conversation = await services.chat.create_conversation(ian, 'tinyllama:latest')
    await user.open(f'/playground/{conversation.id}')
    await send(user, 'hi')
    await user.should_see('is not available', retries=50)
    user.find(marker='chat-pull').click()
    await user.should_see(marker='pull-name', retries=30)
    assert user.find(marker='pull-name').elements.pop().value == 'tinyllama:latest'

    other = create_user()
    await sign_in(other, 'bob@example.org')
    conversation = await services.chat.create_conversation(bob, 'tinyllama:latest')
    await other.open(f'/playground/{conversation.id}')
    await send(other, 'hi')
    await other.should_see('Ask your instructor to pull it.', retries=50)
    await other.should_not_see(marker='chat-pull')


async def test_side_by_side_streams_in_columns_and_counts_the_better_answer(
    user: User, services: Services, make_account
) -> None:
    await start(user, make_account)
    await services.catalogue.refresh()
    await user.open('/compare')
    user.find(marker='compare-run').click()
    await user.should_see('Type a prompt to send to the models.', retries=30)
    user.find(marker='compare-prompt').type('Which is best')
    user.find(marker='compare-run').click()
    await user.should_see(marker='better-llama3.2:latest', retries=50)
    await user.should_see(marker='better-llava:7b', retries=50)
    assert len(user.find(marker='chat-metrics').elements) == 2
    await user.should_see('tokens/s')
    assert len(user.find(marker='chat-answer').elements) == 2
    user.find(marker='better-llava:7b').click()
    await user.should_see('Marked llava:7b as the better answer.', retries=30)
    await user.should_see('llava:7b: 1', retries=30)


async def test_side_by_side_stop(user: User, services: Services, make_account, ollama_server: OllamaTestServer) -> None:
    await start(user, make_account)
    await services.catalogue.refresh()
    ollama_server.token_delay = 0.1
    ollama_server.response_tokens = 300
    await user.open('/compare')
    user.find(marker='compare-prompt').type('slow please')
    user.find(marker='compare-run').click()
    await user.should_see('You said: slow please.', retries=50)
    user.find(marker='compare-stop').click()
    await user.should_see('Stopped: the answer above is incomplete.', retries=30)
    assert await asyncio.to_thread(ollama_server.wait_for_disconnect, 2)
    await user.should_see(marker='compare-run')


async def test_leaving_the_page_stops_the_reply_and_keeps_it(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    ada = await start(user, make_account)
    ollama_server.token_delay = 0.05
    ollama_server.response_tokens = 300
    await user.open('/playground')
    await send(user, 'going away')
    await user.should_see('You said: going away.', retries=50)
    page = user.client
    await user.open('/models')
    page.delete()  # what the server does once a closed tab's reconnect timeout has passed
    assert await asyncio.to_thread(ollama_server.wait_for_disconnect, 1, 10)
    for _ in range(50):
        conversations = await services.chat.list_conversations(ada)
        if conversations and conversations[0].message_count == 2:
            break
        await asyncio.sleep(0.05)
    saved = (await services.chat.get_conversation(ada, conversations[0].id)).messages
    assert saved[-1]['stopped'] is True and saved[-1]['content']


async def test_a_refused_message_is_given_back(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    ada = await start(user, make_account)
    await user.open('/playground')
    await send(user, 'first')
    await user.should_see('tokens/s', retries=50)
    services.calls.room.max_per_user = 0  # as if other replies of this user were still running
    services.calls.room.max_wait = 0.3
    await send(user, 'second message')
    await user.should_see('model calls running', retries=30)
    assert user.find(marker='chat-input').elements.pop().value == 'second message'
    conversation = (await services.chat.list_conversations(ada))[0]
    assert len((await services.chat.get_conversation(ada, conversation.id)).messages) == 2
