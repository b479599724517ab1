"""Streaming helpers: read the first part before answering, so early errors become proper HTTP errors; close every
stream however the response ends, so a client that goes away frees its model call's slot at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from services.core.errors import ServiceError
from services.models.errors import OllamaError


async def primed(stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """Pull the first part now (raising Ollama/service errors before the response starts), then the rest."""
    try:
        first = await anext(stream)
    except StopAsyncIteration:
        return _empty()
    except BaseException:
        await stream.aclose()  # type: ignore[attr-defined]
        raise
    return _chain(first, stream)


async def _empty() -> AsyncIterator[Any]:
    return
    yield  # pragma: no cover


async def _chain(first: Any, stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
    try:
        yield first
        async for part in stream:
            yield part
    finally:
        await stream.aclose()  # type: ignore[attr-defined]


async def ndjson(parts: AsyncIterator[Any], shape: Callable[[Any], dict]) -> AsyncIterator[bytes]:
    """NDJSON lines; an error after the reply has started becomes a final `{"error": "..."}` line."""
    try:
        async for part in parts:
            yield orjson.dumps(shape(part), default=str, option=orjson.OPT_APPEND_NEWLINE)
    except (OllamaError, ServiceError) as exc:
        yield orjson.dumps({'error': exc.message}, option=orjson.OPT_APPEND_NEWLINE)
    finally:
        await parts.aclose()  # type: ignore[attr-defined]


class Streaming(StreamingResponse):
    """A streaming response that closes its body when the response ends for any reason. Starlette only cancels the
    sending task when the client disconnects, which can leave the stream suspended (and its model call holding its
    slot in the room) until the garbage collector finds it; closing it frees the slot at once."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            close = getattr(self.body_iterator, 'aclose', None)
            if close is not None:
                await close()
