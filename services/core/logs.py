"""Structured logging: plain or JSON lines, with a request id on every HTTP request and UI event.

Text that a browser sends over NiceGUI's websocket (its `log` messages, and the errors its `event`,
`javascript_response`, `ack` and `handshake` messages provoke) is the client's, not ours: anyone who can open `/login`
can send it. `install_client_message_guard` (installed once by `configure`) wraps those socket.io handlers so that
- a message naming a page (client id) is handled only from the socket that page's handshake admitted,
- nothing the client sent reaches the log unfiltered: it is logged at most at WARNING, on one line (control characters
  replaced), cut to `CLIENT_TEXT_MAX` characters, tagged `client-supplied` (and `client_supplied: true` in JSON), and
- at most `CLIENT_LINES_PER_MINUTE` such lines per socket and `CLIENT_LINES_PER_MINUTE_TOTAL` in all are written; the
  rest are counted and reported in one line when writing resumes.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import logging
import sys
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable
from typing import Any

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar('request_id', default='-')
# who the current request or UI event acts for, and in which workshop. One mutable record per request or UI event, so
# that what an endpoint binds deep inside (behind middleware that runs it in a task of its own) is still on the
# lines logged outside it — the 500 of an unexpected error, for one.
_actor: contextvars.ContextVar[dict[str, int | None] | None] = contextvars.ContextVar('log_actor', default=None)


def bind(*, user_id: int | None = None, workshop_id: int | None = None) -> None:
    """Put the acting user (and their workshop) on every log line of the current request or UI event from here on."""
    actor = _actor.get()
    if actor is None:
        return
    if user_id is not None:
        actor['user_id'] = user_id
    if workshop_id is not None:
        actor['workshop_id'] = workshop_id


def actor_ids() -> tuple[int | None, int | None]:
    """(user id, workshop id) bound to the current request or UI event."""
    actor = _actor.get() or {}
    return actor.get('user_id'), actor.get('workshop_id')


_configured = False


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.user_id, record.workshop_id = actor_ids()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            'ts': time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(record.created)) + f'.{int(record.msecs):03d}Z',
            'level': record.levelname,
            'logger': record.name,
            'request_id': getattr(record, 'request_id', '-'),
            'user_id': getattr(record, 'user_id', None),
            'workshop_id': getattr(record, 'workshop_id', None),
            'message': record.getMessage(),
        }
        if getattr(record, 'client_supplied', False):
            entry['client_supplied'] = True
        if record.exc_info:
            entry['exc'] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(log_format: str = 'plain', level: str = 'INFO') -> None:
    """Install one handler on the root logger (idempotent)."""
    global _configured
    root = logging.getLogger()
    if _configured:
        root.setLevel(level.upper())
        return
    _configured = True
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if log_format == 'json':
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s'))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in (
        'httpx',
        'httpcore',
        'aiosqlite',
        'tortoise',
        'pymilvus',
        'multipart',
        'faiss',
        'faiss.loader',
        'milvus_lite',
        'aerich',
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    install_client_message_guard()


def new_request_id(prefix: str = '') -> str:
    return prefix + uuid.uuid4().hex[:12]


class RequestIdMiddleware:
    """Pure ASGI middleware: sets a request id for the request and returns it in `X-Request-ID`."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get('headers') or []).get(b'x-request-id', b'').decode('latin-1')
        rid = incoming[:64] if incoming and incoming.replace('-', '').isalnum() else new_request_id()
        token = request_id_var.set(rid)
        actor_token = _actor.set({'user_id': None, 'workshop_id': None})

        async def send_with_id(message) -> None:
            if message['type'] == 'http.response.start':
                message.setdefault('headers', [])
                message['headers'] = [*message['headers'], (b'x-request-id', rid.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)
        # reset only after an answer: an exception goes on to Starlette's error handler (the 500) outside this
        # middleware, which still logs it — and reports it to the error tracker — with this request's ids
        request_id_var.reset(token)
        _actor.reset(actor_token)


def _session_user() -> int | None:
    """The signed-in user of the page whose event is being handled, if any."""
    from nicegui import app

    try:
        value = app.storage.user.get('user_id')
    except (RuntimeError, AssertionError, KeyError):
        return None
    return value if isinstance(value, int) else None


def install_ui_event_ids() -> None:
    """Give every UI event (button click, input change, ...) its own request id.

    Websocket events never pass through HTTP middleware, so the id is set where NiceGUI dispatches every element
    event (`nicegui.events.handle_event`); async handlers run as tasks that inherit the context, so their log lines
    carry the id too.
    """
    from nicegui import events

    if getattr(events.handle_event, '_with_request_id', False):
        return
    original = events.handle_event

    def handle_event(handler, arguments, **kwargs):
        token = request_id_var.set(new_request_id('ev-'))
        actor_token = _actor.set({'user_id': _session_user(), 'workshop_id': None})
        try:
            return original(handler, arguments, **kwargs)
        finally:
            request_id_var.reset(token)
            _actor.reset(actor_token)

    handle_event._with_request_id = True  # type: ignore[attr-defined]
    events.handle_event = handle_event


# ----- text from websocket clients -------------------------------------------------------------------------------
CLIENT_TEXT_MAX = 300  # characters of client text in one log line
CLIENT_LINES_PER_MINUTE = 10  # per socket
CLIENT_LINES_PER_MINUTE_TOTAL = 120  # all sockets together
CLIENT_TAG = 'client-supplied'
client_log = logging.getLogger('client')
_client_sid: contextvars.ContextVar[str] = contextvars.ContextVar('client_sid', default='-')
_LEVELS = {'debug': logging.DEBUG, 'info': logging.INFO, 'warning': logging.WARNING, 'error': logging.WARNING}
_PAGE_EVENTS = ('event', 'javascript_response', 'ack', 'log')  # messages that name a page (client id)


def one_line(text: Any, limit: int = CLIENT_TEXT_MAX) -> str:
    """Client text made safe for one log line: a string, control and format characters (newlines, escapes,
    bidi overrides) replaced by `?`, cut to `limit` characters (the original length said when cut)."""
    if not isinstance(text, str):
        try:
            text = json.dumps(text, ensure_ascii=False, default=repr)
        except (TypeError, ValueError, RecursionError):
            text = f'<{type(text).__name__}>'
    size = len(text)
    text = text[: limit * 2]
    text = ''.join('?' if unicodedata.category(ch)[0] in 'CZ' and ch != ' ' else ch for ch in text)[:limit]
    return text if size <= limit else f'{text}... ({size} characters)'


class ClientRateLimit:
    """At most `per_client` lines per socket and `total` lines in all, per `window` seconds; counts what it drops."""

    def __init__(self, per_client: int, total: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.per_client, self.total, self.window, self.clock = per_client, total, window, clock
        self._lock = threading.Lock()
        self._start = clock()
        self._counts: dict[str, int] = {}
        self._all = 0
        self.dropped = 0

    def allow(self, key: str) -> tuple[bool, int]:
        """(may log now, lines dropped since the last allowed line of this window roll-over)."""
        with self._lock:
            now = self.clock()
            if now - self._start >= self.window:
                self._start, self._counts, self._all = now, {}, 0
            count = self._counts.get(key, 0)
            if count >= self.per_client or self._all >= self.total:
                self.dropped += 1
                return False, 0
            if len(self._counts) > 10_000:  # many sockets: the total limit still holds
                self._counts.clear()
            self._counts[key] = count + 1
            self._all += 1
            dropped, self.dropped = self.dropped, 0
            return True, dropped


client_limit = ClientRateLimit(CLIENT_LINES_PER_MINUTE, CLIENT_LINES_PER_MINUTE_TOTAL)


def log_client_text(level: int, what: str, text: Any, *, sid: str | None = None) -> None:
    """Write one line of client-supplied text: capped, single-line, tagged and rate-limited per socket."""
    sid = sid or _client_sid.get()
    allowed, dropped = client_limit.allow(sid)
    if not allowed:
        return
    if dropped:
        client_log.warning(
            '%s: %d client lines were not logged (more than %d a minute per socket or %d in all)',
            CLIENT_TAG,
            dropped,
            CLIENT_LINES_PER_MINUTE,
            CLIENT_LINES_PER_MINUTE_TOTAL,
            extra={'client_supplied': True},
        )
    client_log.log(
        min(level, logging.WARNING),
        '%s [socket %s] %s: %s',
        CLIENT_TAG,
        one_line(sid, 40),
        what,
        one_line(text),
        extra={'client_supplied': True},
    )


def _guard(name: str, handler: Callable, sio: Any) -> Callable:
    """A socket.io handler that runs only for the socket's own page and logs no client text unfiltered."""

    @functools.wraps(handler)
    async def guarded(sid: str, *args: Any) -> Any:
        token = _client_sid.set(str(sid))
        try:
            if name in _PAGE_EVENTS:
                msg = args[0] if args else None
                client_id = msg.get('client_id') if isinstance(msg, dict) else None
                if not isinstance(client_id, str) or client_id not in (sio.rooms(sid) or []):
                    log_client_text(logging.INFO, f"{name} message refused (not for this socket's page)", client_id)
                    return None
            result = handler(sid, *args)
            if inspect.isawaitable(result):
                result = await result
            return result
        except Exception as exc:
            if type(exc).__name__ == 'ConnectionRefusedError':
                raise
            where = exc.__traceback__
            while where is not None and where.tb_next is not None:
                where = where.tb_next
            place = f'{where.tb_frame.f_code.co_filename.rsplit("/", 1)[-1]}:{where.tb_lineno}' if where else '?'
            log_client_text(logging.WARNING, f'{name} message failed ({type(exc).__name__} at {place})', str(exc))
            return False if name in ('connect', 'handshake') else None
        finally:
            _client_sid.reset(token)

    guarded._client_guard = True  # type: ignore[attr-defined]
    return guarded


def _handle_log_message(self: Any, msg: dict) -> None:
    """NiceGUI's `Client.handle_log_message`, with the client's text treated as such."""
    level = msg.get('level') if isinstance(msg, dict) else None
    text = msg.get('message') if isinstance(msg, dict) else msg
    known = _LEVELS.get(level) if isinstance(level, str) else None
    what = 'browser log' if known is not None else f'browser log (unknown level {one_line(level, 20)})'
    log_client_text(known or logging.WARNING, what, text)


def install_client_message_guard() -> None:
    """Wrap NiceGUI's socket.io handlers and its client log handler (once; idempotent)."""
    from nicegui import core
    from nicegui import nicegui as nicegui_app  # noqa: F401 (registers the socket.io handlers on core.sio)
    from nicegui.client import Client

    Client.handle_log_message = _handle_log_message  # type: ignore[method-assign]
    handlers = core.sio.handlers.setdefault('/', {})
    for name, handler in list(handlers.items()):
        if name in ('connect', 'handshake', *_PAGE_EVENTS) and not getattr(handler, '_client_guard', False):
            handlers[name] = _guard(name, handler, core.sio)
