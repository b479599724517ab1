"""Request bodies have limits on every route (issue 14 item 7; threat-model T10, T14), attacked over real HTTP.

The app runs as a server with small limits (MAX_BODY_MB=1, MAX_UPLOAD_REQUEST_MB=2, MAX_UPLOAD_MB=1,
MAX_UPLOAD_FILES=3). A body over its limit is refused with 413 at once from its `Content-Length` — the server does
not wait for (or spool) the 300 MB it announces — and while it streams when it has no length (chunked), long before
the sender is done; the JSON API, the OpenAI gateway and uploads alike; too many files are refused; the error names
the limit in the unit it was set in ("1 MB", never "1.0 MB"). Bodies under the limits still work.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.security.live import Account, running_app

LIMITS = {'MAX_BODY_MB': '1', 'MAX_UPLOAD_REQUEST_MB': '2', 'MAX_UPLOAD_MB': '1', 'MAX_UPLOAD_FILES': '3'}
MB = 1024 * 1024


@pytest.fixture
def app(tmp_path: Path, ollama_server) -> Iterator[tuple[str, Account, int]]:
    with running_app(tmp_path, ollama_server, **LIMITS) as (live, accounts):
        alice = accounts['alice']
        kb = httpx.post(
            f'{live.url}/api/v1/knowledge', json={'name': 'Notes', 'embedding_model': 'nomic-embed-text'},
            headers=alice.headers,
        )  # fmt: skip
        assert kb.status_code == 201, kb.text
        yield live.url, alice, kb.json()['id']


def _announce(
    url: str, path: str, length: int, token: str, content_type: str = 'application/json'
) -> tuple[float, str]:
    """Send only the headers of a request announcing `length` bytes; (seconds until the answer, the answer)."""
    host, port = url.removeprefix('http://').split(':')
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(
            f'POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n'
            f'Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n'.encode()
        )
        answer = b''
        while b'\r\n\r\n' not in answer or len(answer) < answer.find(b'\r\n\r\n') + 40:
            part = sock.recv(65536)
            if not part:
                break
            answer += part
        return time.monotonic() - started, answer.decode('latin-1')


@pytest.mark.parametrize(
    ('path', 'limit'),
    [('/api/v1/chat', '1 MB'), ('/v1/chat/completions', '1 MB'), ('/api/v1/prompts', '1 MB'),
     ('/api/v1/knowledge/{kb}/documents', '2 MB')],
)  # fmt: skip
def test_an_announced_huge_body_is_refused_at_once(app, path: str, limit: str) -> None:
    url, alice, kb = app
    seconds, answer = _announce(url, path.format(kb=kb), 300 * MB, alice.token)
    assert answer.startswith('HTTP/1.1 413'), answer[:300]
    assert seconds < 5  # answered from the headers: nothing of the 300 MB was awaited
    assert f'the limit is {limit}' in answer and f'{limit[:-3]}.0 MB' not in answer


def test_a_chunked_body_is_refused_while_it_streams(app) -> None:
    """No Content-Length: the refusal comes once the bytes received pass the limit, while the sender still sends."""
    url, alice, _ = app
    host, port = url.removeprefix('http://').split(':')
    chunk = b'x' * (64 * 1024)
    sent, answer = 0, b''
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f'POST /api/v1/chat HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {alice.token}\r\n'
            'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'.encode()
        )
        sock.setblocking(False)
        while sent < 50 * MB and b'\r\n\r\n' not in answer:
            try:
                sock.sendall(b'%x\r\n%s\r\n' % (len(chunk), chunk))
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                time.sleep(0.01)
            else:
                sent += len(chunk)
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
        sock.setblocking(True)
        sock.settimeout(5)
        while b'limit' not in answer:
            part = sock.recv(65536)
            if not part:
                break
            answer += part
    text = answer.decode('latin-1')
    assert text.startswith('HTTP/1.1 413'), text[:300]
    assert 'the limit is 1 MB' in text
    assert sent < 10 * MB, f'the refusal came only after {sent / MB:.0f} MB'


def test_the_gateway_answers_in_openai_shape(app) -> None:
    url, alice, _ = app
    body = {'model': 'llama3.2', 'messages': [{'role': 'user', 'content': 'x' * (2 * MB)}]}
    response = httpx.post(f'{url}/v1/chat/completions', json=body, headers=alice.headers, timeout=30)
    assert response.status_code == 413
    error = response.json()['error']
    assert 'the limit is 1 MB' in error['message'] and error['type']


def test_uploads_too_many_files_or_too_large_together(app) -> None:
    url, alice, kb = app
    path = f'{url}/api/v1/knowledge/{kb}/documents'
    four = [('files', (f'n{i}.md', f'# Note {i}\nText {i}'.encode())) for i in range(4)]
    response = httpx.post(path, files=four, headers=alice.headers, timeout=30)
    assert response.status_code in (413, 422), response.text
    assert '3 files' in response.text
    together = [('files', (f'big{i}.md', b'# Big\n' + b'y' * int(0.9 * MB))) for i in range(3)]  # 2.7 MB
    response = httpx.post(path, files=together, headers=alice.headers, timeout=30)
    assert response.status_code == 413 and 'the limit is 2 MB for all its files together' in response.text
    listed = httpx.get(path, headers=alice.headers).json()
    assert listed['total'] == 0  # nothing of the refused requests was stored


def test_bodies_under_the_limits_still_work(app) -> None:
    url, alice, kb = app
    path = f'{url}/api/v1/knowledge/{kb}/documents'
    files = [('files', ('a.md', b'# A\n' + b'llamas ' * 100_000)), ('files', ('b.md', b'# B\nalpacas'))]  # 0.7 MB
    response = httpx.post(path, files=files, headers=alice.headers, timeout=60)
    assert response.status_code == 201, response.text
    assert [r['ok'] for r in response.json()] == [True, True]
    body = {'model': 'llama3.2', 'messages': [{'role': 'user', 'content': 'Hello'}]}
    chat = httpx.post(f'{url}/api/v1/chat', json=body, headers=alice.headers, timeout=30)
    assert chat.status_code == 200, chat.text
