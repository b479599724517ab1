"""HTTP auth middleware: every page needs a signed-in session except an explicit allow-list of public paths.

This only guards HTTP page loads. Websocket events never pass through it, so every service re-checks the acting
user's role against the database.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from nicegui import app
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse

from services.core.sessions import DEVICE_COOKIE

PUBLIC_PATHS = frozenset(
    {
        '/login',
        '/signup',
        '/join',
        '/health',
        '/health/ready',
        '/metrics',  # authenticates itself: the METRICS_TOKEN bearer token
        '/docs',
        '/openapi.json',
        '/docs/oauth2-redirect',
        '/redoc',
        '/favicon.ico',
    }
)
# the REST API and the OpenAI-compatible gateway authenticate every request themselves (bearer tokens)
PUBLIC_PREFIXES = ('/_nicegui/', '/api/', '/v1/', '/auth/')


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class AuthMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        if not is_public(request.url.path) and not app.storage.user.get('user_id'):
            target = request.url.path + (f'?{request.url.query}' if request.url.query else '')
            if request.cookies.get(DEVICE_COOKIE):  # a remembered attendee device signs in again first
                return RedirectResponse(f'/auth/device?next={quote(target, safe="")}')
            return RedirectResponse(f'/login?next={quote(target, safe="")}')
        return await call_next(request)


class Startup:
    """Start-up state shared by app.py and the gate: NiceGUI runs async start-up handlers as background tasks."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.error: str | None = None
        self.users = 0


class StartupGate:
    """Pure ASGI middleware: HTTP requests wait until the database is open and migrated, and every request after a
    failed start gets a 503 with its reason (liveness and readiness still answer)."""

    def __init__(self, app, startup: Startup, timeout: float = 120.0) -> None:
        self.app = app
        self.startup = startup
        self.timeout = timeout

    async def __call__(self, scope, receive, send) -> None:
        starting = not self.startup.ready.is_set()
        path = scope.get('path')
        if scope['type'] == 'http' and (starting or self.startup.error) and path != '/health':
            if starting:
                try:
                    await asyncio.wait_for(self.startup.ready.wait(), self.timeout)
                except TimeoutError:
                    pass
            if self.startup.error and path == '/health/ready':
                pass  # readiness says "down" (and, to an admin, why): a load balancer keeps this process out
            elif self.startup.error or not self.startup.ready.is_set():
                message = self.startup.error or 'The platform is still starting. Try again in a moment.'
                response = PlainTextResponse(f'Service unavailable: {message}', status_code=503)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
