"""Structured logging: plain or JSON lines, with a request id on every HTTP request and UI event."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar('request_id', default='-')

_configured = False


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            'ts': time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(record.created)) + f'.{int(record.msecs):03d}Z',
            'level': record.levelname,
            'logger': record.name,
            'request_id': getattr(record, 'request_id', '-'),
            'message': record.getMessage(),
        }
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

        async def send_with_id(message) -> None:
            if message['type'] == 'http.response.start':
                message.setdefault('headers', [])
                message['headers'] = [*message['headers'], (b'x-request-id', rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


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
        try:
            return original(handler, arguments, **kwargs)
        finally:
            request_id_var.reset(token)

    handle_event._with_request_id = True  # type: ignore[attr-defined]
    events.handle_event = handle_event
