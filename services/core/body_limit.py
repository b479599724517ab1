"""Request-body limits for every HTTP route, as pure ASGI middleware (kept by every middleware stack of the app).

A body larger than its limit is refused with 413 before the app sees it: at once from `Content-Length`, and while
it streams in (chunked bodies have no length) as soon as the bytes received pass the limit, so nothing over the
limit is ever spooled to disk or held in memory. Upload routes (multipart documents) get the upload-request limit
(all files of one request together); every other route (the JSON API, the OpenAI gateway,
forms) gets the smaller request limit. The refusal names the limit in the unit it was set in (MB) and is shaped
like the errors of the path it answers (problem JSON under /api, OpenAI errors under /v1).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from starlette.exceptions import HTTPException

MB = 1024 * 1024  # a "MB" of the settings (MAX_BODY_MB, MAX_UPLOAD_REQUEST_MB) is 1024 × 1024 bytes

# routes whose bodies are uploads: the API's document and template uploads and NiceGUI's upload element
UPLOAD_PATHS = (
    re.compile(r'^/api/v1/knowledge/[^/]+/documents/?$'),
    re.compile(r'^/api/v1/workshops/import/?$'),  # a workshop template (a .zip with documents)
    re.compile(r'^/api/v1/conversations/import/?$'),  # conversations with their images (CHAT_IMPORT_MAX_MB)
    re.compile(r'^/_nicegui/client/[^/]+/upload/[^/]+/?$'),
)


def megabytes(size: int) -> str:
    """A size in the unit of the settings, rounded up to one decimal (so a file over a 20 MB limit never reads as
    "20.0 MB")."""
    tenths = -(-size * 10 // MB)
    return f'{tenths / 10:.1f} MB'


@dataclass(frozen=True, slots=True)
class BodyLimits:
    request_mb: int  # every route but uploads (MAX_BODY_MB)
    upload_mb: int  # one whole upload request, all its files together (MAX_UPLOAD_REQUEST_MB)

    def for_path(self, path: str) -> tuple[int, str]:
        """(limit in bytes, the sentence that explains it) for a request to `path`."""
        if any(p.match(path) for p in UPLOAD_PATHS):
            return self.upload_mb * MB, (
                f'This upload is too large: the limit is {self.upload_mb} MB for all its files together. '
                'Upload fewer or smaller files at a time.'
            )
        return self.request_mb * MB, f'The request body is too large: the limit is {self.request_mb} MB.'


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit; FastAPI and the API's handlers turn it into a
    413 with this message, and the middleware answers it itself when it reaches it before a response started."""

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=413, detail=detail)


def _content_length(scope) -> int | None:
    for key, value in scope.get('headers') or ():
        if key == b'content-length':
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _response_body(path: str, detail: str) -> tuple[bytes, bytes]:
    """(content type, body) shaped like the errors of `path`."""
    if path == '/v1' or path.startswith('/v1/'):
        body = {'error': {'message': detail, 'type': 'invalid_request_error', 'param': None, 'code': 'too_large'}}
        return b'application/json', json.dumps(body).encode()
    if path.startswith('/api/'):
        body = {
            'type': 'https://ollama-workshop.invalid/problems/content-too-large',
            'title': 'Content Too Large',
            'status': 413,
            'detail': detail,
        }
        return b'application/problem+json', json.dumps(body).encode()
    return b'text/plain; charset=utf-8', detail.encode()


async def _refuse(scope, send, detail: str) -> None:
    kind, body = _response_body(scope.get('path', ''), detail)
    await send(
        {
            'type': 'http.response.start',
            'status': 413,
            'headers': [
                (b'content-type', kind),
                (b'content-length', str(len(body)).encode()),
                (b'connection', b'close'),
            ],
        }
    )
    await send({'type': 'http.response.body', 'body': body})


class BodyLimit:
    """Pure ASGI middleware: refuse request bodies over their limit (see the module docstring)."""

    def __init__(self, app, *, max_body_mb: int, max_upload_mb: int) -> None:
        self.app = app
        self.limits = BodyLimits(request_mb=max_body_mb, upload_mb=max_upload_mb)

    async def __call__(self, scope, receive, send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        limit, detail = self.limits.for_path(scope.get('path', ''))
        length = _content_length(scope)
        if length is not None and length > limit:
            await _refuse(scope, send, detail)
            return
        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message['type'] == 'http.request':
                received += len(message.get('body', b''))
                if received > limit:
                    raise BodyTooLarge(detail)
            return message

        async def tracked_send(message) -> None:
            nonlocal started
            if message['type'] == 'http.response.start':
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(scope, send, detail)
