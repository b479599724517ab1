"""Streaming helpers: read the first part before answering, so early errors become proper HTTP errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

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
            yield (json.dumps(shape(part), default=str) + '\n').encode()
    except (OllamaError, ServiceError) as exc:
        yield (json.dumps({'error': exc.message}) + '\n').encode()
