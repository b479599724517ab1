"""Secrets stay put (issue 14, item 13; threat-model T6, and the secrets rule).

- An HTTP tool's hidden headers (`Authorization`, API keys) go only to the tool's own origin: a redirect to another
  origin, even one an admin allow-listed, is followed without them. Two real HTTP servers on loopback, on different
  ports (different origins), stand in for the tool's API and the place it redirects to.
- `/health/ready` says only ready / not ready without authentication; an admin (token or session) sees the details.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from tests.ollama_server import OllamaTestServer

SECRET = 'Bearer sk-tool-secret-123'
_names = itertools.count(1)


@dataclass
class Web:
    """A real HTTP server on 127.0.0.1 that records the headers of every request and redirects on demand."""

    server: ThreadingHTTPServer
    seen: list[dict[str, str]] = field(default_factory=list)
    redirect_to: str = ''

    @property
    def origin(self) -> str:
        return f'http://127.0.0.1:{self.server.server_address[1]}'

    @property
    def port(self) -> int:
        return self.server.server_address[1]


def _serve() -> Web:
    web: Web

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _answer(self) -> None:
            path = urlsplit(self.path).path
            web.seen.append({'path': path, **{k.lower(): v for k, v in self.headers.items()}})
            if path.startswith('/go'):
                self.send_response(int(path.rsplit('/', 1)[1]) if path.count('/') > 1 else 302)
                self.send_header('Location', web.redirect_to)
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
            body = json.dumps({'path': path, 'authorization': self.headers.get('Authorization')}).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

    web = Web(server=ThreadingHTTPServer(('127.0.0.1', 0), Handler))
    threading.Thread(target=web.server.serve_forever, daemon=True).start()
    return web


@pytest.fixture
def two_origins() -> Iterator[tuple[Web, Web]]:
    first, second = _serve(), _serve()
    yield first, second
    for web in (first, second):
        web.server.shutdown()
        web.server.server_close()


async def _allow(services, admin, web: Web, host: str = '127.0.0.1') -> None:
    """Allow-list one loopback host:port, as an admin does on the allow-list page (the explicit private exception)."""
    await services.tools.allow_host(admin.id, host, web.port, allow_private=True, note='test')


async def _tool(client, owner, url: str, method: str = 'GET') -> int:
    response = await client.post(
        '/api/v1/tools',
        headers=owner.headers,
        json={
            'name': f'api_{next(_names)}',
            'description': 'an API with a key',
            'kind': 'http',
            'config': {'method': method, 'url': url, 'headers': {'Authorization': SECRET, 'X-Api-Key': 'k-42'}},
        },
    )
    assert response.status_code in (200, 201), response.text
    return response.json()['id']


async def _call(client, owner, tool_id: int) -> dict:
    response = await client.post(f'/api/v1/tools/{tool_id}/call', headers=owner.headers, json={'arguments': {}})
    assert response.status_code == 200, response.text
    return response.json()


async def test_tool_secret_headers_are_not_sent_across_origins_on_redirect(
    client, services, admin, alice, two_origins
) -> None:
    first, second = two_origins
    await _allow(services, admin, first)
    await _allow(services, admin, second)  # the other origin is allow-listed too: the redirect is followed

    # the attack: the tool's API (or whoever controls its responses) redirects to another origin
    for status in (301, 302, 303, 307, 308):
        first.redirect_to = f'{second.origin}/landing/{status}'
        tool_id = await _tool(client, alice, f'{first.origin}/go/{status}')
        outcome = await _call(client, alice, tool_id)
        assert outcome['ok'], outcome
        assert outcome['result']['body'] == {'path': f'/landing/{status}', 'authorization': None}
    assert all(seen['authorization'] == SECRET and seen['x-api-key'] == 'k-42' for seen in first.seen)
    assert len(second.seen) == 5
    assert not any('authorization' in seen or 'x-api-key' in seen for seen in second.seen), second.seen

    # also when the other origin is the same address under another name, or a relative hop then a cross one
    first.seen.clear()
    second.seen.clear()
    second.redirect_to = f'{first.origin}/back'
    first.redirect_to = f'{second.origin}/go'
    tool_id = await _tool(client, alice, f'{first.origin}/go', method='POST')
    outcome = await _call(client, alice, tool_id)
    assert outcome['ok'], outcome
    assert [s['path'] for s in first.seen] == ['/go', '/back'] and [s['path'] for s in second.seen] == ['/go']
    assert 'authorization' not in second.seen[0] and 'x-api-key' not in second.seen[0]
    # nor back home at a place the other origin chose: once crossed, the secrets stay off for the rest of the chain
    assert 'authorization' not in first.seen[1] and 'x-api-key' not in first.seen[1]

    # legitimate use: a redirect within the tool's own origin keeps its headers
    first.seen.clear()
    first.redirect_to = '/same-origin'
    tool_id = await _tool(client, alice, f'{first.origin}/go/307')
    outcome = await _call(client, alice, tool_id)
    assert outcome['ok'], outcome
    assert outcome['result']['body'] == {'path': '/same-origin', 'authorization': SECRET}

    # a hop to an origin that is not allow-listed is still refused (each hop goes through the SSRF guard)
    first.redirect_to = 'http://127.0.0.1:1/nowhere'
    tool_id = await _tool(client, alice, f'{first.origin}/go/302')
    outcome = await _call(client, alice, tool_id)
    assert not outcome['ok'] and 'not on the allow-list' in outcome['error']


async def test_tool_secret_headers_are_not_sent_to_another_host_name_on_the_same_port(
    client, services, admin, alice, two_origins
) -> None:
    first, _second = two_origins
    await _allow(services, admin, first)
    await _allow(services, admin, first, 'localhost')
    first.redirect_to = f'http://localhost:{first.port}/landing'
    tool_id = await _tool(client, alice, f'{first.origin}/go/302')
    outcome = await _call(client, alice, tool_id)
    assert outcome['ok'], outcome
    assert outcome['result']['body'] == {'path': '/landing', 'authorization': None}
    assert first.seen[0]['authorization'] == SECRET and 'authorization' not in first.seen[1]


async def test_the_http_tool_client_uses_the_shared_tls_context(monkeypatch) -> None:
    """Every HTTP tool client verifies with the one shared context (no CA bundle load per request)."""
    import httpx

    from services.core.net_guard import UnsafeURL
    from services.core.tls import ssl_context
    from services.tools import http as http_tool

    made: list[object] = []
    real = httpx.AsyncClient.__init__

    def spy(self, *args, **kwargs) -> None:
        made.append(kwargs.get('verify'))
        real(self, *args, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, '__init__', spy)
    config = {'method': 'GET', 'url': 'http://127.0.0.1:1/x', 'headers': {}}
    with pytest.raises(UnsafeURL, match='not on the allow-list'):  # refused, but the client was built first
        await http_tool.call(config, {}, [], seconds=1, max_bytes=100)
    assert made == [ssl_context()]


async def test_readiness_details_only_for_admins(
    client, services, admin, instructor, alice, ollama_server: OllamaTestServer
) -> None:
    for headers in ({}, alice.headers, instructor.headers, {'Authorization': 'Bearer owp_not-a-token'}):
        response = await client.get('/health/ready', headers=headers)
        assert response.status_code == 200
        assert response.json() == {'status': 'ok'}
        assert ollama_server.url not in response.text
    response = await client.get('/health/ready', headers=admin.headers)
    report = response.json()
    assert response.status_code == 200, report
    assert report['ollama'][0]['url'] == ollama_server.url and report['database']['status'] == 'ok'

    ollama_server.go_down()  # the process still serves: degraded (issue 17), and still no details for anyone else
    response = await client.get('/health/ready')
    assert response.status_code == 200 and response.json() == {'status': 'degraded'}
    assert ollama_server.url not in response.text
    response = await client.get('/health/ready', headers=admin.headers)
    assert response.status_code == 200 and response.json()['ollama'][0]['status'] == 'down'
