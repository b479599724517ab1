"""The API's fast lane: `/api/v1` and `/v1` requests skip the middleware they do not need.

NiceGUI's app wraps every request in Starlette `BaseHTTPMiddleware` layers (request tracking for user storage, the
prefix redirect, cache-control, our page sign-in guard) and, under `ui.run`, GZip. For a streamed model reply each
such layer is one more task and one more memory-stream hop per token, and GZip buffers event streams. The REST API
and the OpenAI-compatible gateway authenticate every request themselves with bearer tokens and never touch the
browser session, so their requests go through a second stack built from the same app: the same router, exception
handlers and error middleware, and every *pure ASGI* middleware (request ids, the start-up gate, body limits, security
headers), without the `BaseHTTPMiddleware` layers, session cookies and compression. Auth, limits and audit live in
the routes and services, so they stay exactly as strict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import anyio
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

FAST_PREFIXES = ('/api/v1/', '/v1/')
SLOW_ONLY = (BaseHTTPMiddleware, GZipMiddleware, SessionMiddleware)


def lean(middleware: Middleware) -> bool:
    """Whether a middleware belongs in the fast lane: pure ASGI, no session cookie, no compression."""
    cls = middleware.cls
    return not (isinstance(cls, type) and issubclass(cls, SLOW_ONLY))


class DisconnectCancels:
    """Pure ASGI: a client that goes away cancels its request at once, also before the response has started.

    A model call waits for its slot in the room before anything is sent, and nothing reads the request's `receive`
    channel meanwhile, so a closed tab or a cancelled SDK stream would keep its place in the queue (and then its
    slot) until the call ran. `BaseHTTPMiddleware` happened to watch for the disconnect; the fast lane does it here:
    one task pumps `receive` (body parts handed on one at a time, so uploads keep their back-pressure) and cancels
    the request when `http.disconnect` arrives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        parts_in, parts_out = anyio.create_memory_object_stream[dict](
            1
        )  # one part ahead: a body nobody reads cannot hide a disconnect
        gone = False

        async def pump(cancel: anyio.CancelScope) -> None:
            nonlocal gone
            async with parts_in:
                while True:
                    message = await receive()
                    if message['type'] == 'http.disconnect':
                        gone = True
                        cancel.cancel()
                        return
                    await parts_in.send(message)

        async def receive_part() -> dict:
            if gone:
                return {'type': 'http.disconnect'}
            try:
                return await parts_out.receive()
            except anyio.EndOfStream:
                return {'type': 'http.disconnect'}

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(pump, tasks.cancel_scope)
            try:
                await self.app(scope, receive_part, send)
            finally:
                tasks.cancel_scope.cancel()
        parts_out.close()


class Lanes:
    """Pure ASGI dispatcher: fast-lane paths to the lean stack, everything else (pages, websockets, files, sign-in
    callbacks) to the full one."""

    def __init__(self, full: ASGIApp, fast: ASGIApp, prefixes: Iterable[str] = FAST_PREFIXES) -> None:
        self.full = full
        self.fast = fast
        self.prefixes = tuple(prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] == 'http' and scope.get('path', '').startswith(self.prefixes):
            await self.fast(scope, receive, send)
        else:
            await self.full(scope, receive, send)


def install(
    app,
    prefixes: Iterable[str] = FAST_PREFIXES,
    keep: Callable[[Middleware], bool] = lean,
    around: Callable[[ASGIApp], ASGIApp] | None = None,
) -> None:
    """Make `app` build two stacks (when Starlette first builds its middleware stack, after `ui.run` has added
    NiceGUI's middleware) and dispatch between them. `around` wraps the dispatcher itself: outside every middleware
    and Starlette's error handling, in the request's own task (what request ids need to be on the 500's log line)."""
    # the test harness runs app.py once per test on the same app: always wrap the app's own builder, never our own
    build = app.__dict__.setdefault('_build_full_stack', app.build_middleware_stack)

    def build_lanes() -> ASGIApp:
        full = build()
        everything = app.user_middleware
        app.user_middleware = [m for m in everything if keep(m)]
        try:
            fast = build()
        finally:
            app.user_middleware = everything
        lanes = Lanes(full, DisconnectCancels(fast), prefixes)
        return around(lanes) if around else lanes

    app.build_middleware_stack = build_lanes
