"""SSRF defences for server-side HTTP requests (HTTP tools).

A URL may be fetched only when
- its scheme is http or https and it has no user-info (`http://allowed.com@127.0.0.1` is refused),
- its host is written canonically (odd IPv4 forms such as `0x7f.1`, `2130706433`, `017700000001` are refused),
- an admin allow-listed the host (optionally a port), and
- every address the host resolves to is public (not loopback, link-local such as 169.254.169.254, RFC1918 private,
  carrier-grade NAT, unique-local or otherwise reserved IPv6, multicast, unspecified).
The one exception is an allow-list entry with `allow_private` and a port: an admin's explicit, documented-as-unsafe
permission for one host:port (e.g. a service on the same machine). Redirects are checked hop by hop by the caller,
and the request is sent to the checked address (so DNS cannot change its answer in between).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.core.errors import InvalidInput
from services.core.i18n import N_

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NUMERIC_LABEL = re.compile(r'^(0x[0-9a-f]*|[0-9]+)$', re.I)
_HOST_LABEL = re.compile(r'^(?!-)[a-z0-9-]{1,63}(?<!-)$', re.I)


class UnsafeURL(InvalidInput):
    """The URL is refused for safety; the message says why and what to do."""


@dataclass(kw_only=True, slots=True, frozen=True)
class AllowEntry:
    host: str
    port: int | None = None
    allow_private: bool = False


@dataclass(kw_only=True, slots=True, frozen=True)
class Target:
    """A checked URL: where to connect (a vetted address) and how to address the server."""

    url: str
    scheme: str
    host: str
    port: int
    address: str
    path: str  # path and query

    @property
    def pinned_url(self) -> str:
        """The URL with the vetted address as host (the Host header and TLS SNI carry the name)."""
        host = f'[{self.address}]' if ':' in self.address else self.address
        return f'{self.scheme}://{host}:{self.port}{self.path}'

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == 'https' else 80
        host = f'[{self.host}]' if ':' in self.host else self.host
        return host if self.port == default else f'{host}:{self.port}'


def normalise_host(host: str) -> str:
    """A canonical host name or IP literal, or UnsafeURL for odd or malformed forms."""
    host = (host or '').strip().lower().rstrip('.')
    if not host:
        raise UnsafeURL(N_('The URL has no host name.'))
    if host.startswith('[') and host.endswith(']'):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host.split('%')[0] if ':' in host else host))
    except ValueError:
        pass
    if ':' in host:
        raise UnsafeURL(N_('"{host}" is not a valid IPv6 address.', host=host))
    labels = host.split('.')
    if _NUMERIC_LABEL.match(labels[-1]):
        # WHATWG parsers read a host whose last label is numeric as an IPv4 address in some notation (octal, hex,
        # fewer dots): only the canonical dotted-decimal form (handled above) is accepted
        raise UnsafeURL(
            N_('"{host}" is an IP address written in an unusual form. Write it as a.b.c.d or use a name.', host=host)
        )
    try:
        ascii_host = host.encode('idna').decode('ascii')
    except UnicodeError:
        raise UnsafeURL(N_('"{host}" is not a valid host name.', host=host[:80])) from None
    if len(ascii_host) > 253 or not all(_HOST_LABEL.match(label) for label in ascii_host.split('.')):
        raise UnsafeURL(N_('"{host}" is not a valid host name.', host=host[:80]))
    return ascii_host


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_public(mapped)
        if address.teredo:
            return False
    return address.is_global and not address.is_multicast and not address.is_reserved


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, canonical host, port, path+query) of an http(s) URL, or UnsafeURL."""
    if not isinstance(url, str) or len(url) > 4000:
        raise UnsafeURL(N_('The URL is missing or too long.'))
    if any(ch in url for ch in '\r\n\t\x00 '):
        raise UnsafeURL(N_('The URL contains spaces or control characters.'))
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ('http', 'https'):
        raise UnsafeURL(N_('Only http:// and https:// URLs can be called.'))
    if '@' in parts.netloc or parts.username is not None:
        raise UnsafeURL(N_('URLs with a user name or password before the host (user@host) are not allowed.'))
    if '\\' in parts.netloc:
        raise UnsafeURL(N_('The URL host contains a backslash.'))
    try:
        port = parts.port or (443 if scheme == 'https' else 80)
    except ValueError:
        raise UnsafeURL(N_('The URL has an invalid port.')) from None
    host = normalise_host(parts.hostname or '')
    path = parts.path or '/'
    if parts.query:
        path = f'{path}?{parts.query}'
    return scheme, host, port, path


def allowed_entry(host: str, port: int, entries: list[AllowEntry]) -> AllowEntry | None:
    for entry in entries:
        if entry.host == host and (entry.port is None or entry.port == port):
            return entry
    return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=5)
    except (OSError, TimeoutError):
        raise UnsafeURL(N_('The host name "{host}" could not be resolved.', host=host)) from None
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split('%')[0]) for info in infos))


async def check_url(url: str, entries: list[AllowEntry]) -> Target:
    """A Target for `url` if it may be fetched, else UnsafeURL with a clear reason."""
    scheme, host, port, path = parse(url)
    entry = allowed_entry(host, port, entries)
    if entry is None:
        raise UnsafeURL(
            N_(
                'The host {host}:{port} is not on the allow-list for HTTP tools. Ask an admin to allow it.',
                host=host,
                port=port,
            )
        )
    addresses = await resolve(host, port)
    if not addresses:
        raise UnsafeURL(N_('The host name "{host}" did not resolve to any address.', host=host))
    private_ok = entry.allow_private and entry.port is not None
    if not private_ok:
        bad = [str(a) for a in addresses if not is_public(a)]
        if bad:
            raise UnsafeURL(
                N_(
                    '{host} resolves to a loopback, private or link-local address ({bad}); requests to '
                    'internal networks are refused.',
                    host=host,
                    bad=', '.join(bad[:3]),
                )
            )
    return Target(url=url, scheme=scheme, host=host, port=port, address=str(addresses[0]), path=path)
