"""The HTTP tool kind: a declarative request (method, URL template, headers) sent through the SSRF guard.

Arguments fill `{param}` placeholders in the URL (percent-encoded, so a value cannot change the host or path
structure); for methods other than GET/DELETE the remaining arguments are sent as a JSON body. Redirects are
followed by hand, each hop re-checked by the SSRF guard; the response is capped in time and size.

The tool's own headers (often an `Authorization` or API-key header, hidden from everyone but the owner) go only to the
origin (scheme, host, port) of the tool's URL: a redirect to another origin, even an allow-listed one, is followed
without them (`strip_secrets`), and so is every later hop, even one that comes back to the tool's origin (the other
origin chose where it goes). The client verifies TLS with the one shared context (`services.core.tls`).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urljoin

import httpx

from services.core.errors import InvalidInput, ServiceError
from services.core.i18n import N_
from services.core.net_guard import AllowEntry, UnsafeURL, check_url, parse
from services.core.tls import ssl_context

METHODS = ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')
PLACEHOLDER = re.compile(r'\{([A-Za-z_][A-Za-z0-9_]{0,63})\}')
HEADER_NAME = re.compile(r'^[A-Za-z0-9-]{1,64}$')
FORBIDDEN_HEADERS = {'host', 'content-length', 'transfer-encoding', 'connection', 'cookie'}
MAX_REDIRECTS = 3
# headers of the tool that carry no secret and may follow a redirect to another origin
PLAIN_HEADERS = {'accept', 'accept-language', 'content-type'}


class ToolFailed(ServiceError):
    """A tool ran but failed; the message goes back to the model (and the user) as text."""


def validate_config(config: Any, parameters: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise InvalidInput(N_('The HTTP configuration must be an object with method, url and headers.'))
    method = str(config.get('method') or 'GET').upper()
    if method not in METHODS:
        raise InvalidInput(N_('The method must be one of {METHODS}.', METHODS=', '.join(METHODS)))
    url = str(config.get('url') or '').strip()
    names = PLACEHOLDER.findall(url)
    known = set((parameters.get('properties') or {}).keys())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInput(
            N_('The URL uses {{{unknown}}} but the tool has no parameter "{unknown}".', unknown=unknown[0])
        )
    try:
        parse(PLACEHOLDER.sub('x', url))
    except UnsafeURL as exc:
        raise InvalidInput(N_('The URL template is not usable: {message}', message=exc.message)) from None
    headers = config.get('headers') or {}
    if not isinstance(headers, dict) or len(headers) > 20:
        raise InvalidInput(N_('Headers must be an object of up to 20 "Name": "value" pairs.'))
    clean_headers: dict[str, str] = {}
    for name, value in headers.items():
        if not HEADER_NAME.match(str(name)) or str(name).lower() in FORBIDDEN_HEADERS:
            raise InvalidInput(N_('"{name}" cannot be used as a header name here.', name=str(name)[:40]))
        if not isinstance(value, str) or len(value) > 2000 or any(c in value for c in '\r\n\x00'):
            raise InvalidInput(N_('The value of header "{name}" must be one line of text.', name=name))
        clean_headers[str(name)] = value
    return {'method': method, 'url': url, 'headers': clean_headers}


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, canonical host, port) of a URL: where a secret header may go."""
    scheme, host, port, _path = parse(url)
    return scheme, host, port


def strip_secrets(headers: dict[str, str]) -> dict[str, str]:
    """The headers that may be sent to another origin than the tool's own (no credentials, keys or cookies)."""
    return {name: value for name, value in headers.items() if name.lower() in PLAIN_HEADERS}


def build_url(template: str, args: dict[str, Any]) -> tuple[str, set[str]]:
    used: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in args or args[name] is None:
            raise ToolFailed(N_('The argument "{name}" is needed for the URL but was not given.', name=name))
        used.add(name)
        value = args[name]
        text = json.dumps(value) if isinstance(value, dict | list | bool) else str(value)
        return quote(text, safe='')

    return PLACEHOLDER.sub(fill, template), used


async def call(
    config: dict[str, Any],
    args: dict[str, Any],
    entries: list[AllowEntry],
    *,
    seconds: float,
    max_bytes: int,
) -> dict[str, Any]:
    """Send the request; return {'status', 'content_type', 'body'} or raise ToolFailed / UnsafeURL."""
    url, used = build_url(config['url'], args)
    method = config['method']
    body = {k: v for k, v in args.items() if k not in used} if method in ('POST', 'PUT', 'PATCH') else None
    own_headers: dict[str, str] = dict(config.get('headers') or {})
    home = origin(url)
    async with httpx.AsyncClient(
        follow_redirects=False, timeout=httpx.Timeout(seconds), trust_env=False, verify=ssl_context()
    ) as client:
        crossed = False  # once a redirect left the tool's origin, no later hop gets its secrets (not even back home)
        for _hop in range(MAX_REDIRECTS + 1):
            target = await check_url(url, entries)
            crossed = crossed or (target.scheme, target.host, target.port) != home
            sent = strip_secrets(own_headers) if crossed else own_headers
            headers = {**sent, 'Host': target.host_header, 'User-Agent': 'workshop-http-tool/1'}
            try:
                async with client.stream(
                    method,
                    target.pinned_url,
                    headers=headers,
                    json=body,
                    extensions={'sni_hostname': target.host},
                ) as response:
                    location = response.headers.get('location')
                    if response.status_code in (301, 302, 303, 307, 308) and location:
                        url = urljoin(url, location)
                        if response.status_code == 303 or (response.status_code in (301, 302) and method != 'GET'):
                            method, body = 'GET', None
                        continue
                    data = await _read_capped(response, max_bytes)
                    content_type = response.headers.get('content-type', '')
                    status = response.status_code
            except httpx.TimeoutException:
                raise ToolFailed(
                    N_('{host} did not answer within {seconds:g} seconds.', host=target.host, seconds=seconds)
                ) from None
            except httpx.HTTPError as exc:
                raise ToolFailed(
                    N_('Calling {host} failed: {name}.', host=target.host, name=type(exc).__name__)
                ) from None
            text = data.decode('utf-8', errors='replace')
            if status >= 400:
                raise ToolFailed(
                    N_('{host} answered HTTP {status}: {text}', host=target.host, status=status, text=text[:300])
                )
            parsed: Any = text
            if 'json' in content_type:
                try:
                    parsed = json.loads(text)
                except ValueError:
                    parsed = text
            return {'status': status, 'content_type': content_type.split(';')[0], 'body': parsed}
    raise ToolFailed(N_('Too many redirects (more than {MAX_REDIRECTS}).', MAX_REDIRECTS=MAX_REDIRECTS))


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get('content-length')
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ToolFailed(N_('The response is larger than the limit of {max_bytes} KB.', max_bytes=max_bytes // 1024))
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise ToolFailed(
                N_('The response is larger than the limit of {max_bytes} KB.', max_bytes=max_bytes // 1024)
            )
        chunks.append(chunk)
    return b''.join(chunks)
