"""Images in conversations through the chat service: vision models only, type and size limits, stored with the
conversation and sent to Ollama as base64, deleted with it, and never readable by another user."""

from __future__ import annotations

import base64

import pytest

from services.chat.conversations import ChatDelta, ChatResult
from services.chat.images import ImageUpload
from services.core.errors import InvalidInput, NotFound
from services.wiring import Services
from tests.images import GIF, png
from tests.ollama_server import OllamaTestServer

VISION = 'llava:7b'


async def collect(stream) -> ChatResult:
    result = None
    async for event in stream:
        if not isinstance(event, ChatDelta):
            result = event
    return result


def last_chat(server: OllamaTestServer) -> dict:
    return next(r['body'] for r in reversed(server.requests) if r['path'] == '/api/chat')


def folder(services: Services, conversation_id: int):
    return services.settings.uploads_dir / 'chat' / str(conversation_id)


async def test_images_are_stored_sent_as_base64_and_deleted_with_the_conversation(
    services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    conv = await services.chat.create_conversation(ada, VISION)
    picture = png()
    result = await collect(
        services.chat.send(ada, conv.id, 'What is this?', images=[ImageUpload(name='red.png', data=picture)])
    )
    assert result.content.startswith('I see 1 image. You said: What is this.')
    sent = last_chat(ollama_server)['messages'][-1]
    assert sent['images'] == [base64.b64encode(picture).decode()]
    saved = (await services.chat.get_conversation(ada, conv.id)).messages[0]
    ref = saved['images'][0]
    assert ref['name'] == 'red.png' and ref['type'] == 'image/png' and ref['size'] == len(picture)
    assert 'data' not in ref  # the message keeps a reference, the bytes are a file
    assert (folder(services, conv.id) / ref['file']).read_bytes() == picture
    image = await services.chat.images.read(ada, conv.id, ref['file'])
    assert image.data == picture and image.type == 'image/png'

    # the next turn sends the earlier image again (the model keeps seeing it), a GIF is fine too
    await collect(services.chat.send(ada, conv.id, 'And this?', images=[ImageUpload(name='dot.gif', data=GIF)]))
    messages = last_chat(ollama_server)['messages']
    assert [len(m.get('images') or []) for m in messages] == [1, 0, 1]

    await services.chat.delete_conversation(ada, conv.id)
    assert not folder(services, conv.id).exists()


async def test_a_model_without_vision_is_refused_before_anything_is_stored(
    services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    conv = await services.chat.create_conversation(ada, 'llama3.2:latest')
    before = len(ollama_server.requests)
    with pytest.raises(InvalidInput, match=r'llama3.2 cannot see images: pick a model with vision, e\.g\. llava:7b'):
        await collect(services.chat.send(ada, conv.id, 'look', images=[ImageUpload(name='a.png', data=png())]))
    assert not [r for r in ollama_server.requests[before:] if r['path'] == '/api/chat']
    assert (await services.chat.get_conversation(ada, conv.id)).messages == []
    assert not any(folder(services, conv.id).glob('*'))
    # a conversation with images switched to a model without vision is refused too
    seeing = await services.chat.create_conversation(ada, VISION)
    await collect(services.chat.send(ada, seeing.id, 'look', images=[ImageUpload(name='a.png', data=png())]))
    await services.chat.update_conversation(ada, seeing.id, model='llama3.2:latest')
    with pytest.raises(InvalidInput, match='cannot see images'):
        await collect(services.chat.send(ada, seeing.id, 'and now?'))


async def test_type_size_and_count_limits(services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    conv = await services.chat.create_conversation(ada, VISION)

    async def attach(*images: ImageUpload) -> None:
        await collect(services.chat.send(ada, conv.id, 'look', images=list(images)))

    with pytest.raises(
        InvalidInput, match=r'"notes.png" is not a PNG, JPEG, WebP or GIF image \(judged by its content'
    ):
        await attach(ImageUpload(name='notes.png', data=b'just some text renamed to .png'))
    with pytest.raises(InvalidInput, match=r'"page.jpg" is not a PNG'):
        await attach(ImageUpload(name='page.jpg', data=b'%PDF-1.7\n' + b'0' * 100))
    with pytest.raises(InvalidInput, match=r'"empty.png" is empty'):
        await attach(ImageUpload(name='empty.png', data=b''))
    big = png() + b'\0' * (services.chat.images.max_bytes + 1)
    with pytest.raises(InvalidInput, match=r'"huge.png" is too large \(5\.0 MB; at most 5 MB an image\)'):
        await attach(ImageUpload(name='huge.png', data=big))
    with pytest.raises(InvalidInput, match='at most 4 images'):
        await attach(*[ImageUpload(name=f'{i}.png', data=png()) for i in range(5)])
    # together larger than one model call may carry
    services.calls.limits.max_prompt_chars = 1000
    with pytest.raises(InvalidInput, match='too large to send to a model together'):
        noisy = png() + bytes(range(256)) * 2  # 300+ bytes each, 400+ characters as base64
        await attach(
            ImageUpload(name='a.png', data=noisy),
            ImageUpload(name='b.png', data=noisy),
            ImageUpload(name='c.png', data=noisy),
        )
    assert (await services.chat.get_conversation(ada, conv.id)).messages == []


async def test_another_user_cannot_read_an_image(services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    conv = await services.chat.create_conversation(ada, VISION)
    await collect(services.chat.send(ada, conv.id, 'look', images=[ImageUpload(name='a.png', data=png())]))
    file = (await services.chat.get_conversation(ada, conv.id)).messages[0]['images'][0]['file']
    with pytest.raises(NotFound):
        await services.chat.images.read(bob, conv.id, file)
    with pytest.raises(NotFound):
        await services.chat.images.read(ada, conv.id, '../../platform.db')
    other = await services.chat.create_conversation(ada, VISION)
    with pytest.raises(NotFound):  # only through the conversation that has it
        await services.chat.images.read(ada, other.id, file)
