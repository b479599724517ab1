"""Who is on the other end of a request, decided in one place (threat T20, issue 14 item 10).

A request's client is the TCP peer, unless that peer is one of the configured trusted proxies (`TRUSTED_PROXIES`:
addresses or networks, comma-separated; empty by default). Only then do `X-Forwarded-For` and `X-Forwarded-Proto`
count: the client is the right-most forwarded address that is not itself a trusted proxy (the left part of the
header is whatever the client chose to send), and the scheme is the proxy's. Anyone else's forwarded headers are
ignored, loopback included — uvicorn's own proxy-header handling (which trusts 127.0.0.1) is switched off in
app.py, so this is the only place that reads them.

`TrustedProxies` (pure ASGI, outermost) rewrites the scope's `client` and `scheme` once per request or websocket;
everything after it — sign-in and join throttles, the audit log, cookie hardening — reads `client_address()` and
`is_https()` and sees the same answer.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted(spec: str) -> tuple[Network, ...]:
    """`'10.0.0.0/8, 127.0.0.1'` → networks. Raises ValueError naming the entry that is not an address or network."""
    networks = []
    for entry in (part.strip() for part in (spec or '').split(',')):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ValueError(f'{entry!r} is not an IP address or network (like 10.0.0.0/8)') from exc
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith('[') and ']' in text:  # [v6]:port
        text = text[1 : text.index(']')]
    elif text.count(':') == 1:  # v4:port
        text = text.split(':', 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def _header(scope: Scope, name: bytes) -> str:
    values = [value.decode('latin-1') for key, value in scope.get('headers') or () if key.lower() == name]
    return ','.join(values)


def forwarded_client(scope: Scope, networks: tuple[Network, ...]) -> tuple[str, str] | None:
    """(client address, scheme) a trusted proxy forwarded, or None when the peer is not trusted."""
    peer = scope.get('client')
    if not networks or not peer or not _trusted(_address(str(peer[0])), networks):
        return None
    client = str(peer[0])
    for hop in reversed([part for part in _header(scope, b'x-forwarded-for').split(',') if part.strip()]):
        address = _address(hop)
        if address is None:
            break  # garbage in the chain: keep the last address we could trust
        client = str(address)
        if not _trusted(address, networks):
            break
    scheme = scope.get('scheme', 'http')
    proto = _header(scope, b'x-forwarded-proto').split(',')[-1].strip().lower()
    if proto in ('http', 'https'):
        secure = proto == 'https'
        scheme = ('wss' if secure else 'ws') if scope['type'] == 'websocket' else proto
    return client, scheme


class TrustedProxies:
    """Pure ASGI: the scope's client and scheme as a trusted proxy forwarded them; anyone else's headers ignored."""

    def __init__(self, app: ASGIApp, *, trusted: str = '') -> None:
        self.app = app
        self.networks = parse_trusted(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] in ('http', 'websocket') and self.networks:
            forwarded = forwarded_client(scope, self.networks)
            if forwarded is not None:
                scope = dict(scope)
                scope['client'] = (forwarded[0], 0)
                scope['scheme'] = forwarded[1]
        await self.app(scope, receive, send)


def client_address(connection: Any) -> str:
    """The client's address of a Request, WebSocket or ASGI scope ('' when unknown)."""
    scope = connection if isinstance(connection, dict) else getattr(connection, 'scope', {})
    client = scope.get('client')
    return str(client[0]) if client else ''


def is_https(connection: Any) -> bool:
    """Whether the request reached the platform over HTTPS (directly, or at a trusted proxy)."""
    scope = connection if isinstance(connection, dict) else getattr(connection, 'scope', {})
    return scope.get('scheme') in ('https', 'wss')


def install(app: Any, *, trusted: str) -> None:
    """Put the rewrite outside everything else of `app` (call after `browser_guard.install`, which then sees the
    forwarded scheme)."""
    build = app.build_middleware_stack

    def build_outermost() -> ASGIApp:
        return TrustedProxies(build(), trusted=trusted)

    app.build_middleware_stack = build_outermost


__all__ = ['TrustedProxies', 'client_address', 'forwarded_client', 'install', 'is_https', 'parse_trusted']
