"""The Ollama gateway: the one place that talks to Ollama.

One `ollama.AsyncClient` per host, created lazily inside the running event loop and closed on shutdown; explicit
timeouts; streams that are closed (so Ollama stops generating) when the consumer stops or is cancelled; and every
failure turned into a typed `OllamaError` whose message can be shown to the user as it is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import ollama
from pydantic import ValidationError

log = logging.getLogger(__name__)


# ----- errors ------------------------------------------------------------------------------------------------------
class OllamaError(Exception):
    """A failure talking to Ollama; `str(error)` is a user-facing sentence."""

    kind = 'error'

    def __init__(self, message: str, *, host: str = '', status: int | None = None, detail: str = '') -> None:
        super().__init__(message)
        self.message = message
        self.host = host
        self.status = status
        self.detail = detail


class OllamaUnreachable(OllamaError):
    kind = 'unreachable'


class ModelNotFound(OllamaError):
    kind = 'model_not_found'

    def __init__(self, message: str, *, model: str = '', **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.model = model


class OllamaBadRequest(OllamaError):
    kind = 'bad_request'


class OllamaBusy(OllamaError):
    kind = 'busy'


class OllamaTimeout(OllamaError):
    kind = 'timeout'


class OllamaStreamError(OllamaError):
    kind = 'stream_error'


def map_error(exc: BaseException, host: str, model: str = '') -> OllamaError:
    """Translate whatever the ollama client or httpx raised into a typed, user-facing error."""
    if isinstance(exc, OllamaError):
        return exc
    if isinstance(exc, ollama.ResponseError):
        text = exc.error or str(exc)
        if exc.status_code == 404:
            name = model or 'that model'
            return ModelNotFound(
                f'The model "{name}" is not available on {host}. Pull it first, or pick another.',
                host=host,
                status=404,
                detail=text,
                model=model,
            )
        if exc.status_code == 503:
            return OllamaBusy(
                f'Ollama at {host} is busy with other requests. Wait a moment and try again.',
                host=host,
                status=503,
                detail=text,
            )
        if exc.status_code == 400:
            return OllamaBadRequest(f'Ollama refused the request: {text}', host=host, status=400, detail=text)
        if exc.status_code == -1:
            return OllamaStreamError(f'Ollama reported an error during the reply: {text}', host=host, detail=text)
        return OllamaError(
            f'Ollama at {host} answered with an error ({exc.status_code}): {text}',
            host=host,
            status=exc.status_code,
            detail=text,
        )
    if isinstance(exc, httpx.TimeoutException):
        return OllamaTimeout(
            f'Ollama at {host} did not answer in time. The model may still be loading; try again, '
            'or use a smaller model.',
            host=host,
            detail=type(exc).__name__,
        )
    if isinstance(exc, ConnectionError | httpx.ConnectError | OSError):
        return OllamaUnreachable(unreachable_message(host), host=host, detail=str(exc))
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return OllamaStreamError(
            f'The connection to Ollama at {host} broke off during the reply. '
            'Check that Ollama is still running, then try again.',
            host=host,
            detail=str(exc),
        )
    if isinstance(exc, ValidationError):
        return OllamaError(
            f'Ollama at {host} sent a reply this platform does not understand.', host=host, detail=str(exc)[:500]
        )
    if isinstance(exc, httpx.HTTPError):
        return OllamaError(f'Talking to Ollama at {host} failed: {exc}', host=host, detail=str(exc))
    raise exc


def unreachable_message(host: str) -> str:
    return (
        f'Ollama at {host} is not reachable. Start it (`ollama serve`) or ask an admin to check the Ollama '
        'host setting.'
    )


_MAPPED = (ollama.ResponseError, httpx.HTTPError, ConnectionError, OSError, ValidationError)


# ----- health ------------------------------------------------------------------------------------------------------
@dataclass(kw_only=True, slots=True, frozen=True)
class HostStatus:
    url: str
    ok: bool
    version: str = ''
    latency_ms: float | None = None
    error: str = ''
    checked_at: datetime | None = None


# ----- gateway -----------------------------------------------------------------------------------------------------
class OllamaGateway:
    def __init__(self, *, timeout: float = 300.0, connect_timeout: float = 5.0) -> None:
        self.timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self.connect_timeout = connect_timeout
        self._clients: dict[str, tuple[asyncio.AbstractEventLoop, ollama.AsyncClient]] = {}

    def client(self, host: str) -> ollama.AsyncClient:
        """The client for `host`, created inside the running loop (a client must not cross event loops)."""
        loop = asyncio.get_running_loop()
        entry = self._clients.get(host)
        if entry is None or entry[0] is not loop:
            entry = (loop, ollama.AsyncClient(host=host, timeout=self.timeout))
            self._clients[host] = entry
        return entry[1]

    async def close(self) -> None:
        clients, self._clients = self._clients, {}
        for loop, client in clients.values():
            if loop is asyncio.get_running_loop():
                try:
                    await client.close()
                except Exception:
                    log.debug('closing ollama client failed', exc_info=True)

    async def forget(self, host: str) -> None:
        entry = self._clients.pop(host, None)
        if entry and entry[0] is asyncio.get_running_loop():
            await entry[1].close()

    # ----- health --------------------------------------------------------------------------------------------------
    async def check(self, host: str) -> HostStatus:
        """Reachability, version and latency via GET /api/version (the client library never calls it)."""
        started = time.perf_counter()
        try:
            async with httpx.AsyncClient(timeout=httpx.Timeout(self.connect_timeout)) as http:
                response = await http.get(f'{host}/api/version')
                response.raise_for_status()
                version = response.json().get('version', '')
        except (httpx.HTTPError, ValueError, OSError) as exc:
            error = unreachable_message(host) if isinstance(exc, httpx.TransportError | OSError) else str(exc)
            return HostStatus(url=host, ok=False, error=error, checked_at=datetime.now(UTC))
        latency = (time.perf_counter() - started) * 1000
        return HostStatus(
            url=host, ok=True, version=version, latency_ms=round(latency, 1), checked_at=datetime.now(UTC)
        )

    # ----- simple calls --------------------------------------------------------------------------------------------
    async def _call(self, host: str, method: str, *args: Any, about: str = '', **kwargs: Any) -> Any:
        """Call a client method; `about` names the model for error messages."""
        try:
            return await getattr(self.client(host), method)(*args, **kwargs)
        except _MAPPED as exc:
            raise map_error(exc, host, about) from exc

    async def list_models(self, host: str) -> list[ollama.ListResponse.Model]:
        return list((await self._call(host, 'list')).models)

    async def show(self, host: str, model: str) -> ollama.ShowResponse:
        return await self._call(host, 'show', model, about=model)

    async def running(self, host: str) -> list[ollama.ProcessResponse.Model]:
        return list((await self._call(host, 'ps')).models)

    async def chat(self, host: str, **kwargs: Any) -> ollama.ChatResponse:
        return await self._call(host, 'chat', stream=False, about=kwargs.get('model', ''), **kwargs)

    async def embed(self, host: str, model: str, inputs: list[str], **kwargs: Any) -> ollama.EmbedResponse:
        return await self._call(host, 'embed', model=model, input=inputs, about=model, **kwargs)

    async def copy(self, host: str, source: str, destination: str) -> None:
        await self._call(host, 'copy', source, destination, about=source)

    async def delete(self, host: str, model: str) -> None:
        await self._call(host, 'delete', model, about=model)

    async def unload(self, host: str, model: str) -> None:
        """Ask Ollama to unload a model now (an empty chat with keep_alive 0)."""
        await self._call(host, 'chat', model=model, messages=[], keep_alive=0, stream=False, about=model)

    # ----- streams -------------------------------------------------------------------------------------------------
    async def stream(self, host: str, method: str, *, model: str, **kwargs: Any) -> AsyncIterator[Any]:
        """Stream parts of `chat`, `generate`, `pull` or `create`.

        Closing the iterator (or cancelling the task that consumes it) closes the HTTP stream, so Ollama sees the
        disconnect and stops working. Errors, including ones that arrive inside the stream, are raised typed.
        """
        parts = None
        try:
            parts = await getattr(self.client(host), method)(model=model, stream=True, **kwargs)
            async for part in parts:
                yield part
        except _MAPPED as exc:
            raise map_error(exc, host, model) from exc
        finally:
            if parts is not None:
                await parts.aclose()

    def chat_stream(self, host: str, **kwargs: Any) -> AsyncIterator[ollama.ChatResponse]:
        return self.stream(host, 'chat', **kwargs)

    def pull_stream(self, host: str, model: str) -> AsyncIterator[ollama.ProgressResponse]:
        return self.stream(host, 'pull', model=model)

    def create_stream(self, host: str, model: str, **kwargs: Any) -> AsyncIterator[ollama.ProgressResponse]:
        return self.stream(host, 'create', model=model, **kwargs)
