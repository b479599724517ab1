"""Images in the playground as a user experiences them: attach, preview, remove, send, see them in the history;
refused for a model without vision (the message and images are given back); export and import of conversations."""

from __future__ import annotations

import json

from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User

from services.chat.images import ImageUpload
from services.wiring import Services
from tests.images import png
from tests.ollama_server import OllamaTestServer
from tests.ui.conftest import sign_in


async def attach(user: User, *files: tuple[str, bytes], marker: str = 'chat-image-upload') -> None:
    element = next(iter(user.find(marker=marker).elements))
    for name, data in files:
        await element.handle_uploads([SmallFileUpload(name=name, content_type='image/png', _data=data)])


async def open_playground(user: User, services: Services, make_account, model: str = 'llava:7b') -> int:
    await make_account('admin@example.org', 'Admin')
    ada = await make_account('ada@example.org', 'Ada')
    await services.catalogue.refresh()
    await sign_in(user, 'ada@example.org')
    await user.open(f'/playground?model={model}')
    await user.should_see(marker='chat-attach')
    return ada


async def test_attach_preview_send_and_see_the_image_in_the_history(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    ada = await open_playground(user, services, make_account)
    await attach(user, ('red.png', png()), ('blue.png', png(rgb=(0, 0, 200))))
    await user.should_see(marker='chat-image-preview')
    await user.should_see('red.png')
    await user.should_see('blue.png')
    # a renamed text file is refused by its content, not its name
    await attach(user, ('notes.png', b'these are my notes, not an image'))
    await user.should_see('"notes.png" is not a PNG, JPEG, WebP or GIF image')
    # remove one before sending
    user.find(marker='chat-image-remove-1').click()
    await user.should_not_see('blue.png')
    await user.should_see('red.png')
    user.find(marker='chat-input').type('What colour is it?')
    user.find(marker='chat-send').click()
    await user.should_see('I see 1 image. You said: What colour is it.', retries=50)
    conversation = (await services.chat.list_conversations(ada))[0]
    saved = (await services.chat.get_conversation(ada, conversation.id)).messages[0]
    assert [i['name'] for i in saved['images']] == ['red.png']
    # the history shows the image from the owner-only route
    await user.open(f'/playground/{conversation.id}')
    await user.should_see('I see 1 image.', retries=30)
    sources = [e.props.get('src') or e.source for e in user.find(marker='chat-image').elements]
    assert sources == [f'/playground/{conversation.id}/images/{saved["images"][0]["file"]}']


async def test_a_model_without_vision_refuses_and_gives_the_message_back(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await open_playground(user, services, make_account, model='llama3.2:latest')
    await attach(user, ('red.png', png()))
    user.find(marker='chat-input').type('What is this?')
    user.find(marker='chat-send').click()
    await user.should_see('llama3.2 cannot see images: pick a model with vision, e.g. llava:7b', retries=50)
    assert user.find(marker='chat-input').elements.pop().value == 'What is this?'
    await user.should_see('red.png')  # still attached, ready for another model
    assert not [r for r in ollama_server.requests if r['path'] == '/api/chat']
    user.find(marker='chat-model').elements.pop().set_value('llava:7b')
    user.find(marker='chat-send').click()
    await user.should_see('I see 1 image. You said: What is this.', retries=50)


async def test_export_and_import_round_trip(user: User, services: Services, make_account) -> None:
    ada = await open_playground(user, services, make_account)
    conv = await services.chat.create_conversation(ada, 'llava:7b', 'Be brief.', {'options': {'temperature': 0.3}})
    picture = png(3, 3)
    async for _ in services.chat.send(ada, conv.id, 'Look at this', images=[ImageUpload(name='red.png', data=picture)]):
        pass
    await user.open(f'/playground/{conv.id}')
    await user.should_see('I see 1 image.', retries=30)
    user.find(marker='export-conversation-markdown').click()
    markdown = (await user.download.next(timeout=5)).content.decode()
    assert markdown.startswith('# Look at this') and '### You' in markdown and 'Look at this' in markdown
    assert '*Image: red.png (image/png' in markdown and 'export as JSON to keep the images' in markdown
    user.find(marker='export-all-json').click()
    exported = (await user.download.next(timeout=5)).content
    data = json.loads(exported)
    assert data['format'] == 'owp-conversations' and data['version'] == 1 and len(data['conversations']) == 1

    # a broken file is refused with a clear message, nothing is created
    user.find(marker='import-conversations').click()
    await attach(user, ('bad.json', b'{"format": "something-else"}'), marker='import-upload')
    await user.should_see('This is not a conversations export of this platform')
    await attach(user, ('copy.json', exported), marker='import-upload')
    await user.should_see('Imported 1 conversation.')
    mine = await services.chat.list_conversations(ada)
    assert len(mine) == 2
    copy = await services.chat.get_conversation(ada, next(c.id for c in mine if c.id != conv.id))
    assert copy.title == 'Look at this' and copy.system_prompt == 'Be brief.' and copy.model == 'llava:7b'
    assert copy.settings.options['temperature'] == 0.3
    assert [m['role'] for m in copy.messages] == ['user', 'assistant']
    image = await services.chat.images.read(ada, copy.id, copy.messages[0]['images'][0]['file'])
    assert image.data == picture
    await user.should_see(marker=f'conv-{copy.id}')
