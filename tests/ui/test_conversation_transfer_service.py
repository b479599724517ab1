"""Conversations exported and imported through the service: the versioned JSON format, Markdown, clear refusals,
all or nothing, never trusting ids, settings the importer may not have reset."""

from __future__ import annotations

import base64
import json
import re

import pytest

from services.chat.images import ImageUpload
from services.core import actions
from services.core.errors import InvalidInput, NotFound
from services.wiring import Services
from tests.images import png


async def chat(services: Services, user: int, model: str = 'llava:7b', **settings) -> int:
    conv = await services.chat.create_conversation(user, model, 'Be brief.', settings or None)
    images = [ImageUpload(name='a.png', data=png())] if model == 'llava:7b' else []
    async for _ in services.chat.send(user, conv.id, 'Hello', images=images):
        pass
    return conv.id


def exported(conversations: list[dict]) -> bytes:
    return json.dumps({'format': 'owp-conversations', 'version': 1, 'conversations': conversations}).encode()


async def test_json_export_is_versioned_and_complete(services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    conv = await chat(services, ada, options={'temperature': 0.2})
    file = await services.chat_transfer.export(ada, conv, 'json')
    assert file.filename.startswith(f'conversation-{conv}-hello') and file.media_type == 'application/json'
    data = json.loads(file.content)
    assert data['format'] == 'owp-conversations' and data['version'] == 1 and data['exported_at']
    one = data['conversations'][0]
    assert one['model'] == 'llava:7b' and one['system_prompt'] == 'Be brief.' and one['created_at']
    assert one['settings']['options']['temperature'] == 0.2
    user, reply = one['messages']
    assert base64.b64decode(user['images'][0]['data']) == png() and user['images'][0]['type'] == 'image/png'
    assert reply['role'] == 'assistant' and reply['metrics']['output_tokens']
    assert (await services.activity.query(action=actions.CONVERSATION_EXPORT))[0].details['format'] == 'json'


async def test_markdown_of_all_and_nothing_of_anyone_else(services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    assert '_No conversations yet._' in (await services.chat_transfer.export(bob, None, 'markdown')).content.decode()
    first = await chat(services, ada)
    await chat(services, ada, 'llama3.2:latest')
    text = (await services.chat_transfer.export(ada, None, 'markdown')).content.decode()
    assert text.count('\n---\n') == 1 and '- Model: `llama3.2:latest`' in text and '> Be brief.' in text
    assert 'Image: a.png' in text
    with pytest.raises(NotFound):
        await services.chat_transfer.export(bob, first, 'json')
    with pytest.raises(InvalidInput, match='Export as'):
        await services.chat_transfer.export(ada, first, 'pdf')


async def test_import_refuses_clearly_and_creates_nothing(services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    good = {'title': 'Fine', 'model': 'llava:7b', 'messages': [{'role': 'user', 'content': 'hi'}]}
    cases = [
        (b'not json', 'not valid JSON'),
        (json.dumps({'conversations': []}).encode(), 'not a conversations export of this platform'),
        (json.dumps({'format': 'owp-conversations', 'version': 9, 'conversations': [good]}).encode(), 'version 9'),
        (exported([]), 'no conversations to import'),
        (exported([good, {'title': 'Two', 'messages': []}]), 'Conversation 2 ("Two"): "model" must be a model name'),
        (exported([good, {**good, 'messages': [{'role': 'system', 'content': 'x'}]}]), 'message 1: "role" must be'),
        (
            exported(
                [{**good, 'messages': [{'role': 'user', 'content': 'x', 'images': [{'data': 'bm90IGFuIGltYWdl'}]}]}]
            ),
            'message 1, image 1: "image-1" is not a PNG, JPEG, WebP or GIF image',
        ),
        (b'[' * 100_000 + b']' * 100_000, 'nested too deeply'),
    ]
    for data, message in cases:
        with pytest.raises(InvalidInput, match=re.escape(message)):
            await services.chat_transfer.import_file(ada, data)
    assert await services.chat.list_conversations(ada) == []
    services.chat_transfer.max_import_mb = 1
    with pytest.raises(InvalidInput, match=r'too large \(2\.0 MB; at most 1 MB\)'):
        await services.chat_transfer.import_file(ada, b' ' * (2 * 1024 * 1024))


async def test_import_never_trusts_ids_and_resets_what_the_importer_may_not_have(
    services: Services, make_account
) -> None:
    admin = await make_account('admin@example.org', 'Admin')
    bob = await make_account('bob@example.org', 'Bob')  # an attendee
    conv = await chat(services, admin, keep_alive='1h')  # only staff may keep a model loaded
    data = json.loads((await services.chat_transfer.export(admin, conv, 'json')).content)
    data['conversations'][0].update(id=conv, owner_id=admin)
    data['conversations'].append({'title': 'Elsewhere', 'model': 'no-such-model:1b', 'messages': []})
    result = await services.chat_transfer.import_file(bob, json.dumps(data).encode())
    assert [c.title for c in result.conversations] == ['Hello', 'Elsewhere']
    assert any('its settings were reset' in w and 'keep_alive' in w for w in result.warnings)
    assert any('no-such-model:1b is on no host here' in w for w in result.warnings)
    copy = await services.chat.get_conversation(bob, result.conversations[0].id)
    assert copy.id != conv and copy.settings.keep_alive is None
    file = copy.messages[0]['images'][0]['file']
    assert (await services.chat.images.read(bob, copy.id, file)).data == png()
    assert (await services.chat.get_conversation(admin, conv)).settings.keep_alive == '1h'  # untouched
    assert (await services.activity.query(action=actions.CONVERSATION_IMPORT))[0].details['conversations'] == 2
