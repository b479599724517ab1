"""/api/v1/conversations with images (vision models only), their images (owner only), export and import."""

from __future__ import annotations

import base64
import json

from tests.api.conftest import assert_problem
from tests.images import png
from tests.ollama_server import OllamaTestServer


async def new_conversation(client, account, model: str = 'llava:7b') -> int:
    response = await client.post('/api/v1/conversations', json={'model': model}, headers=account.headers)
    assert response.status_code == 201, response.text
    return response.json()['id']


async def test_images_are_sent_stored_and_served_to_their_owner_only(
    client, alice, bob, services, ollama_server: OllamaTestServer
) -> None:
    await services.catalogue.refresh()
    conv = await new_conversation(client, alice)
    picture = png()
    body = {'content': 'What is this?', 'images': [base64.b64encode(picture).decode()], 'image_names': ['red.png']}
    response = await client.post(f'/api/v1/conversations/{conv}/messages', json=body, headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.json()['content'].startswith('I see 1 image.')
    sent = next(r['body'] for r in reversed(ollama_server.requests) if r['path'] == '/api/chat')
    assert sent['messages'][-1]['images'] == [base64.b64encode(picture).decode()]
    saved = (await client.get(f'/api/v1/conversations/{conv}', headers=alice.headers)).json()
    ref = saved['messages'][0]['images'][0]
    assert ref['name'] == 'red.png' and ref['type'] == 'image/png'
    image = await client.get(f'/api/v1/conversations/{conv}/images/{ref["file"]}', headers=alice.headers)
    assert image.status_code == 200 and image.content == picture
    assert image.headers['content-type'] == 'image/png' and image.headers['x-content-type-options'] == 'nosniff'
    other = await client.get(f'/api/v1/conversations/{conv}/images/{ref["file"]}', headers=bob.headers)
    assert_problem(other, 404, 'does not exist (or is not yours)')
    # the page route (for a browser session) sends a request without one to sign in
    anonymous = await client.get(f'/playground/{conv}/images/{ref["file"]}')
    assert anonymous.status_code == 307 and anonymous.headers['location'].startswith('/login')


async def test_a_model_without_vision_and_bad_images_are_refused(client, alice, services, ollama_server) -> None:
    await services.catalogue.refresh()
    conv = await new_conversation(client, alice, 'llama3.2')
    image = base64.b64encode(png()).decode()
    response = await client.post(
        f'/api/v1/conversations/{conv}/messages', json={'content': 'look', 'images': [image]}, headers=alice.headers
    )
    assert_problem(response, 422, 'llama3.2 cannot see images: pick a model with vision, e.g. llava:7b')
    seeing = await new_conversation(client, alice)
    renamed = base64.b64encode(b'plain text, not a picture').decode()
    response = await client.post(
        f'/api/v1/conversations/{seeing}/messages',
        json={'content': 'look', 'images': [renamed], 'image_names': ['cat.jpg']},
        headers=alice.headers,
    )
    assert_problem(response, 422, '"cat.jpg" is not a PNG, JPEG, WebP or GIF image')
    response = await client.post(
        f'/api/v1/conversations/{seeing}/messages', json={'content': 'x', 'images': ['%%%']}, headers=alice.headers
    )
    assert_problem(response, 422, 'Image 1 is not valid base64')
    assert not [r for r in ollama_server.requests if r['path'] == '/api/chat']


async def test_export_and_import(client, alice, bob, services) -> None:
    await services.catalogue.refresh()
    conv = await new_conversation(client, alice)
    body = {'content': 'Hello', 'images': [base64.b64encode(png()).decode()]}
    await client.post(f'/api/v1/conversations/{conv}/messages', json=body, headers=alice.headers)
    markdown = await client.get(f'/api/v1/conversations/{conv}/export?format=markdown', headers=alice.headers)
    assert markdown.status_code == 200 and markdown.headers['content-type'].startswith('text/markdown')
    assert 'attachment' in markdown.headers['content-disposition'] and '### You' in markdown.text
    assert_problem(await client.get(f'/api/v1/conversations/{conv}/export', headers=bob.headers), 404)
    exported = await client.get('/api/v1/conversations/export', headers=alice.headers)
    data = exported.json()
    assert data['format'] == 'owp-conversations' and len(data['conversations']) == 1
    data['conversations'][0]['id'] = conv  # ids in a file are never used
    data['conversations'][0]['owner_id'] = alice.id
    files = {'file': ('mine.json', json.dumps(data).encode(), 'application/json')}
    response = await client.post('/api/v1/conversations/import', files=files, headers=bob.headers)
    assert response.status_code == 201, response.text
    created = response.json()['conversations'][0]['id']
    assert created != conv
    bobs = (await client.get(f'/api/v1/conversations/{created}', headers=bob.headers)).json()
    assert bobs['messages'][0]['content'] == 'Hello' and bobs['messages'][0]['images'][0]['file']
    assert (await client.get(f'/api/v1/conversations/{conv}', headers=alice.headers)).json()['title'] == 'Hello'
    bad = {'file': ('x.json', b'[1, 2', 'application/json')}
    assert_problem(
        await client.post('/api/v1/conversations/import', files=bad, headers=bob.headers), 422, 'not valid JSON'
    )


async def test_stateless_chat_with_images(client, alice, services, ollama_server: OllamaTestServer) -> None:
    await services.catalogue.refresh()
    image = base64.b64encode(png()).decode()
    message = {'role': 'user', 'content': 'What is this?', 'images': [image]}
    seeing = await client.post('/api/v1/chat', json={'model': 'llava:7b', 'messages': [message]}, headers=alice.headers)
    assert seeing.status_code == 200, seeing.text
    assert seeing.json()['message']['content'].startswith('I see 1 image.')
    blind = await client.post('/api/v1/chat', json={'model': 'llama3.2', 'messages': [message]}, headers=alice.headers)
    assert_problem(blind, 422, 'llama3.2 cannot see images: pick a model with vision')
