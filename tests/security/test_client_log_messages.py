"""Forged log lines over the websocket (issue 14, item 5; threat-model T18).

The app runs as a real server (a subprocess writing its log to a file); an unauthenticated visitor opens `/login`
and talks socket.io to it with python-socketio, as a hand-written client would: `log` messages at any level with
newlines and megabytes of text, messages naming other pages, events for elements that do not exist, malformed
messages. Nothing of that may reach the log unfiltered: what is logged is one line, capped, tagged
`client-supplied` and rate-limited per socket; messages naming a page are handled only from that page's own socket.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import socketio

from services.core.logs import CLIENT_LINES_PER_MINUTE, CLIENT_TAG, CLIENT_TEXT_MAX
from tests.api.test_openai_real_server import server

__all__ = ['server']

FORGED = '2026-01-01 00:00:00,000 CRITICAL [-] services.core.auth: admin password reset by FORGED'


async def _page(url: str, http: httpx.AsyncClient) -> str:
    """Open /login like a browser; the client id of that page."""
    response = await http.get(f'{url}/login')
    assert response.status_code == 200
    return re.search(r"""['"]client_id['"]:\s*['"]([^'"]+)['"]""", response.text).group(1)


async def _socket(url: str, client_id: str | None, tab: str = 'tab-1') -> socketio.AsyncClient:
    """A socket.io connection like the page's own (implicit handshake with its client id), or a bare one."""
    sio = socketio.AsyncClient(reconnection=False)
    query = f'?client_id={client_id}&tab_id={tab}&document_id=doc-{tab}&next_message_id=0&implicit_handshake=true'
    await sio.connect(
        url + (query if client_id else ''), socketio_path='/_nicegui_ws/socket.io', transports=['websocket']
    )
    return sio


def _lines(log: Path, start: int) -> list[str]:
    return log.read_bytes()[start:].decode('utf-8', errors='replace').splitlines()


async def test_client_text_never_reaches_the_log_unfiltered(server, app_env: Path) -> None:
    url, _token = server
    log = app_env.parent / 'app.log'
    async with httpx.AsyncClient() as http:
        mine, other = await _page(url, http), await _page(url, http)
        start = log.stat().st_size
        sio = await _socket(url, mine)
        try:
            # legitimate use first: the page's own browser log message is logged, tagged
            await sio.call('log', {'client_id': mine, 'level': 'info', 'message': 'resize observer ok'}, timeout=10)
            # the flood: forged lines at every level, multi-line, huge, with escapes and bidi controls
            for level in ('error', 'warning', 'info', 'debug', 'critical\n' + FORGED, {'x': 1}):
                for _ in range(40):
                    message = f'x\n{FORGED}\r\n\x1b[31m\u202e{"A" * 200_000}'
                    await sio.call('log', {'client_id': mine, 'level': level, 'message': message}, timeout=10)
            # messages provoking errors whose text is the client's
            await sio.call('event', {'client_id': mine, 'id': 99999, 'listener_id': FORGED, 'args': []}, timeout=10)
            await sio.call('event', {'client_id': mine, 'id': 1, 'listener_id': FORGED, 'args': ['{']}, timeout=10)
            await sio.call('javascript_response', {'client_id': mine, 'request_id': FORGED, 'result': 1}, timeout=10)
            await sio.call('javascript_response', ['not', 'a', 'dict', FORGED], timeout=10)
            await sio.call('ack', {'client_id': mine, 'next_message_id': FORGED}, timeout=10)
            await sio.call('handshake', FORGED, timeout=10)
            # a page that is not this socket's: refused, nothing of it is logged
            await sio.call('log', {'client_id': other, 'level': 'error', 'message': 'OTHER PAGE ' + FORGED}, timeout=10)
        finally:
            await sio.disconnect()
        # a socket that never shook hands with any page
        bare = await _socket(url, None)
        try:
            await bare.call('log', {'client_id': mine, 'level': 'error', 'message': 'BARE ' + FORGED}, timeout=10)
        finally:
            await bare.disconnect()
        assert (await http.get(f'{url}/health')).status_code == 200  # still serving

    lines = _lines(log, start)
    assert not any(line.startswith('2026-01-01') for line in lines), 'a forged line stands on its own'
    assert not any('OTHER PAGE' in line or 'BARE' in line for line in lines)
    tainted = [line for line in lines if 'FORGED' in line or 'AAAA' in line or 'resize observer' in line]
    assert tainted, 'the client text is logged (tagged), not silently lost'
    assert all(CLIENT_TAG in line for line in tainted), tainted[:3]
    assert all(len(line) < CLIENT_TEXT_MAX + 400 for line in lines), max(lines, key=len)[:200]
    assert not any('\x1b' in line or '\u202e' in line for line in lines)
    assert not any('CRITICAL' in line.split(CLIENT_TAG)[0] or ' ERROR ' in line for line in tainted)
    assert len(tainted) <= CLIENT_LINES_PER_MINUTE + 1  # one socket: rate-limited (the +1 says how many were dropped)
    assert any('resize observer ok' in line and ' INFO ' in line for line in lines)
    assert sum(len(line) for line in lines) < 50_000  # 240 messages of 200 KB each were sent
