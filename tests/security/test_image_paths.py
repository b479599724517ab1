"""A chat message's images are base64 from the client, never a file of this server (threat-model: server-side file
read). The `ollama` client reads an image given as text that names an existing file and sends that file to the
model; `/etc//passwd` is valid base64 as well as a path. Through the chat API and the OpenAI gateway, such images are
refused (or sent as the bytes they encode) and the file's content never reaches Ollama; text that is not base64 is
a clear 422, not a server error (found by the API fuzz test)."""

from __future__ import annotations

import base64
import json
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import assert_problem

SECRET = 'do-not-send-this-secret-1234'


@pytest.fixture
def secret_file() -> Iterator[str]:
    """A file on the server whose absolute path, with doubled slashes, is valid base64 (letters, digits and slashes,
    its length a multiple of 4)."""
    folder = Path('/tmp') / f'owpsecret{secrets.token_hex(6)}'
    folder.mkdir()
    path = folder / 'secretfile'
    path.write_text(SECRET)
    text = str(path)
    while len(text) % 4:
        text = text.replace('/', '//', 1)
    assert Path(text).read_text() == SECRET
    base64.b64decode(text, validate=True)  # it is valid base64 too
    yield text
    shutil.rmtree(folder)


def sent_to_ollama(ollama_server) -> str:
    return json.dumps([r['body'] for r in ollama_server.requests if r['path'] == '/api/chat'])


async def test_an_image_that_names_a_server_file_is_never_read(client, alice, ollama_server, secret_file) -> None:
    body = {'model': 'llava:7b', 'messages': [{'role': 'user', 'content': 'What is this?', 'images': [secret_file]}]}
    response = await client.post('/api/v1/chat', json={**body, 'stream': False}, headers=alice.headers)
    assert response.status_code in (200, 422), response.text
    sent = sent_to_ollama(ollama_server)
    assert SECRET not in sent
    assert base64.b64encode(SECRET.encode()).decode() not in sent  # not the file's bytes, base64-encoded either


async def test_the_gateway_never_reads_a_server_file_either(client, alice, ollama_server, secret_file) -> None:
    content = [{'type': 'text', 'text': 'What is this?'},
               {'type': 'image_url', 'image_url': {'url': f'data:image/png;base64,{secret_file}'}}]  # fmt: skip
    body = {'model': 'llava:7b', 'messages': [{'role': 'user', 'content': content}]}
    response = await client.post('/v1/chat/completions', json=body, headers=alice.headers)
    assert response.status_code in (200, 422), response.text
    assert base64.b64encode(SECRET.encode()).decode() not in sent_to_ollama(ollama_server)


@pytest.mark.parametrize(
    'image', ['not base64 at all!', '\U0005936c𪾾\x9b@Zóg', 'abc'], ids=['words', 'unicode', 'short']
)
async def test_an_image_that_is_not_base64_is_a_clear_refusal(client, alice, ollama_server, image: str) -> None:
    before = len(ollama_server.requests)
    body = {'model': 'llava:7b', 'messages': [{'role': 'user', 'content': 'Hi', 'images': [image]}], 'stream': False}
    response = await client.post('/api/v1/chat', json=body, headers=alice.headers)
    assert_problem(response, 422, 'An image is not valid: send each image as base64')
    assert not [r for r in ollama_server.requests[before:] if r['path'] == '/api/chat']
