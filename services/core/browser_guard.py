"""Browser protections for every response (pages, files, websockets' HTTP hops, the API): pure ASGI middleware.

Every HTTP response gets the security headers below; every cookie the app sets (NiceGUI's signed session cookie
included — it is set by a middleware inside this one) gets `SameSite=Lax` when it names no SameSite, and `Secure`
when the request was served over HTTPS. Whether a request came over HTTPS is decided in one place,
`served_over_https`: the request's scheme (`client_address.is_https`: a trusted proxy's X-Forwarded-Proto), or a
`PUBLIC_URL` that starts with https://, or the COOKIE_SECURE setting forcing it.

The Content-Security-Policy is the narrowest NiceGUI pages work under: NiceGUI renders with inline scripts and Vue
templates compiled in the browser (`'unsafe-inline'`, `'unsafe-eval'`), Quasar sets inline styles; everything else is
same-origin only, nothing may frame the app, no plugins, no foreign form targets or base URLs.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.core.client_address import is_https

CSP = '; '.join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "media-src 'self' data: blob:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

HEADERS = (
    (b'content-security-policy', CSP.encode()),
    (b'x-frame-options', b'DENY'),
    (b'x-content-type-options', b'nosniff'),
    (b'referrer-policy', b'same-origin'),
)


def served_over_https(scope: Scope, *, public_url: str = '', force: str = 'auto') -> bool:
    """Whether cookies of this request must be `Secure`. `force` is the COOKIE_SECURE setting: 'always', 'never' or
    'auto' (the request's scheme — a trusted proxy's X-Forwarded-Proto, see `client_address` — or an https
    PUBLIC_URL)."""
    if force == 'always':
        return True
    if force == 'never':
        return False
    return is_https(scope) or public_url.lower().startswith('https://')


def harden_cookie(value: bytes, secure: bool) -> bytes:
    """A Set-Cookie value with SameSite (Lax unless it names one) and, over HTTPS, Secure."""
    attrs = [a.strip().lower() for a in value.split(b';')[1:]]
    if not any(a.startswith(b'samesite') for a in attrs):
        value += b'; SameSite=Lax'
    if secure and b'secure' not in attrs:
        value += b'; Secure'
    return value


class BrowserGuard:
    """Pure ASGI: adds the security headers to every HTTP response and hardens every cookie it sets."""

    def __init__(self, app: ASGIApp, *, public_url: str = '', cookie_secure: str = 'auto') -> None:
        self.app = app
        self.public_url = public_url
        self.cookie_secure = cookie_secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        secure = served_over_https(scope, public_url=self.public_url, force=self.cookie_secure)

        async def send_guarded(message: Message) -> None:
            if message['type'] == 'http.response.start':
                names = {name for name, _ in HEADERS}
                headers = [
                    (k, harden_cookie(v, secure) if k.lower() == b'set-cookie' else v)
                    for k, v in message.get('headers') or ()
                    if k.lower() not in names
                ]
                message = {**message, 'headers': [*headers, *HEADERS]}
            await send(message)

        await self.app(scope, receive, send_guarded)


def install(app, *, public_url: str = '', cookie_secure: str = 'auto') -> None:
    """Put the guard outside every middleware of `app` (NiceGUI's session middleware is added last, by `ui.run`, and
    sets its cookie outside anything added with `add_middleware`); call after `fast_lane.install`."""
    build = app.build_middleware_stack

    def build_guarded() -> ASGIApp:
        return BrowserGuard(build(), public_url=public_url, cookie_secure=cookie_secure)

    app.build_middleware_stack = build_guarded


def same_origin(headers, host: str) -> bool:
    """Whether a state-changing browser request comes from this site: its `Origin` (which browsers send with every
    POST) names this host, or — without Origin — `Sec-Fetch-Site` says same-origin. A request with neither is not
    from a page of ours."""
    origin = headers.get('origin')
    if origin:
        return origin.split('://', 1)[-1].rstrip('/').lower() == host.lower()
    return headers.get('sec-fetch-site') == 'same-origin'
