"""Error tracking and log aggregation (issue 17 item 5), with the app as a real server subprocess.

- With `SENTRY_DSN` pointing at a collector on loopback that speaks Sentry's envelope protocol (what sentry-sdk
  posts to `/api/<project>/envelope/`), an unexpected error reaches it tagged with the request id, user id and
  workshop id, and without the request body (a prompt), the `Authorization` header, cookies or the email address.
- A browser's forged log lines at error level never reach it.
- With `LOG_FORMAT=json` every line is one JSON object; lines of an API request carry its request id and user id.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.security.live import running_app
from tests.security.test_client_log_messages import _page, _socket

ROOT = Path(__file__).resolve().parents[2]
PROMPT = 'my secret prompt about the merger'


@dataclass
class Collector:
    """A loopback HTTP server that accepts Sentry envelopes and keeps the items."""

    server: ThreadingHTTPServer
    items: list[dict] = field(default_factory=list)

    @property
    def dsn(self) -> str:
        return f'http://publickey@127.0.0.1:{self.server.server_address[1]}/42'

    def events(self) -> list[dict]:
        return [i for i in self.items if i.get('type') == 'event' or 'exception' in i]


@pytest.fixture
def collector() -> Iterator[Collector]:
    holder: dict[str, Collector] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get('content-length', 0)))
            encoding = self.headers.get('content-encoding', '')
            if encoding == 'gzip':
                body = gzip.decompress(body)
            elif encoding == 'deflate':
                body = zlib.decompress(body)
            elif encoding == 'br':
                import brotli  # sentry-sdk only uses br when brotli is installed

                body = brotli.decompress(body)
            lines = body.split(b'\n')
            for header_line, payload in zip(lines[1::2], lines[2::2], strict=False):
                header = json.loads(header_line)
                try:
                    item = json.loads(payload)
                except ValueError:
                    continue
                holder['c'].items.append({'type': header.get('type'), **item})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{}')

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    holder['c'] = Collector(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield holder['c']
    server.shutdown()


@pytest.fixture
def server(tmp_path: Path, collector: Collector, ollama_server) -> Iterator[tuple[str, str, Path]]:
    env = {'SENTRY_DSN': collector.dsn, 'LOG_FORMAT': 'json', 'BENCH_ENDPOINT': 'true'}
    with running_app(tmp_path, ollama_server, names=('ada',), **env) as (live, accounts):
        yield live.url, accounts['ada'].token, live.data_dir.parent / f'app-{live.port}.log'


def _wait_for(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_an_unexpected_error_is_reported_without_personal_data(server, collector: Collector) -> None:
    url, token, _ = server
    response = httpx.post(
        f'{url}/api/bench/fault', json={'prompt': PROMPT}, headers={'Authorization': f'Bearer {token}'}, timeout=10
    )
    assert response.status_code == 500
    request_id = response.headers['x-request-id']
    assert request_id in response.json()['detail']  # what the user can quote to an admin
    assert _wait_for(lambda: collector.events()), 'no event reached the error tracker'
    event = collector.events()[0]
    values = event['exception']['values']
    assert values[-1]['type'] == 'RuntimeError' and 'injected fault' in values[-1]['value']
    assert event['tags']['request_id'] == request_id
    assert event['tags']['user_id'] == '1' and event['user'] == {'id': '1'}
    sent = json.dumps(collector.items)
    for private in (PROMPT, token, 'ada@example.org', 'correct-horse'):
        assert private not in sent, f'{private!r} reached the error tracker'
    assert 'authorization' not in json.dumps(event.get('request', {})).lower()


def test_forged_client_log_lines_never_reach_the_error_tracker(server, collector: Collector) -> None:

    url, _, _ = server

    async def forge() -> None:
        async with httpx.AsyncClient() as http:
            client_id = await _page(url, http)
        sio = await _socket(url, client_id)
        try:
            for level in ('error', 'critical'):
                message = {'client_id': client_id, 'level': level, 'message': 'FORGED-ERROR-LINE'}
                await sio.call('log', message, timeout=10)
        finally:
            await sio.disconnect()

    asyncio.run(forge())
    time.sleep(2)
    assert 'FORGED-ERROR-LINE' not in json.dumps(collector.items)


def test_json_log_lines_carry_request_and_user(server) -> None:
    url, token, log_path = server
    body = {'email': 'grace@example.org', 'display_name': 'Grace', 'password': 'hopper-rules-1906', 'role': 'attendee'}
    response = httpx.post(f'{url}/api/v1/users', json=body, headers={'Authorization': f'Bearer {token}'}, timeout=10)
    assert response.status_code == 201, response.text  # logged: "created account …"
    request_id = response.headers['x-request-id']
    _wait_for(lambda: request_id in log_path.read_text())
    lines = [line for line in log_path.read_text().splitlines() if line.startswith('{')]
    assert lines, 'no JSON log lines'
    entries = [json.loads(line) for line in lines]
    assert all({'ts', 'level', 'logger', 'request_id', 'user_id', 'workshop_id', 'message'} <= set(e) for e in entries)
    mine = [e for e in entries if e['request_id'] == request_id]
    assert mine and all(e['user_id'] == 1 for e in mine), mine
