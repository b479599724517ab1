"""The one model-call path: every request to an Ollama server goes through `ModelCalls`, and this is the only module
that imports the `ollama` client.

Each call carries who asks (`Caller`: user, role, live workshop) and why (`Purpose`). In this one place a call is
  1. admitted: the model name is checked, an attendee is held to their workshop's allowed models, options and
     message sizes are checked against the one options table and prompt limit, and the caller's quota is checked;
  2. limited: calls a person starts take one of their concurrent-call slots (`CHAT_MAX_STREAMS_PER_USER`), and a
     counted call reserves one request of their quota until it is settled, so concurrent calls cannot overshoot it;
  3. routed: to the host asked for, or the first enabled host that has the model;
  4. made through one `ollama.AsyncClient` per host, with explicit timeouts, closing streams when the consumer stops
     (so Ollama stops generating), and every failure mapped to a typed, user-facing `OllamaError`;
  5. recorded once: one row in the usage ledger (`models.ModelCall`: purpose, model, host, tokens, latency, error),
     which is what quotas count, plus an in-process count per purpose.

Features record what the person did (a chat, a RAG question) in the activity log themselves; they never talk to
Ollama except through here.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import ValidationError

from models import ModelCall, Role
from services.core import logs, metrics
from services.core.auth import AuthService
from services.core.errors import InvalidInput, PermissionDenied
from services.core.i18n import N_
from services.core.membership import Membership, full_name
from services.core.quotas import QuotaService
from services.core.tls import ssl_context
from services.models.callers import COUNTED, LIMITED, SYSTEM, Caller, Purpose
from services.models.errors import (
    ModelNotAllowed,
    ModelNotFound,
    OllamaBadRequest,
    OllamaBusy,
    OllamaError,
    OllamaStreamError,
    OllamaTimeout,
    OllamaUnreachable,
    unreachable_message,
)
from services.models.hosts import HostDirectory, HostStatus
from services.models.option_caps import OptionCapsService
from services.models.options import OptionCaps, validate_format, validate_keep_alive, validate_options
from services.models.room import EMBED, GENERATE, Room, Ticket

log = logging.getLogger(__name__)


def _import_ollama():
    """The `ollama` package builds a default client from OLLAMA_HOST when it is imported, and fails on the list of
    hosts this platform accepts there ("http://a:11434,http://b:11434"): import it with the first one only."""
    listed = os.environ.get('OLLAMA_HOST', '')
    if ',' in listed:
        os.environ['OLLAMA_HOST'] = listed.split(',')[0].strip()
    try:
        import ollama as client

        return client
    finally:
        if ',' in listed:
            os.environ['OLLAMA_HOST'] = listed


ollama = _import_ollama()


ROLES = ('system', 'user', 'assistant', 'tool')
MAX_MESSAGES = 500
MAX_INPUTS = 512
_UNRECORDED = frozenset({Purpose.CATALOGUE, Purpose.HEALTH})  # background reads: counted in memory only


@dataclass(kw_only=True, slots=True)
class CallLimits:
    max_prompt_chars: int = 1_000_000  # everything one call sends (messages, images, system prompt, inputs)


MAX_NESTING = 64


def request_chars(value: Any) -> int:
    """The characters `value` adds to a request, for the prompt limit: every key and every value of a structure
    (tool definitions, schemas, tool calls), without recursion; nesting deeper than MAX_NESTING is refused."""
    size, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if item is None:
            continue
        if depth > MAX_NESTING:
            raise InvalidInput(N_('The request is nested too deeply to send to a model.'))
        if hasattr(item, 'model_dump'):  # the ollama client's own types (Tool, Message, ...)
            item = item.model_dump(exclude_none=True)
        if isinstance(item, dict):
            for key, inner in item.items():
                size += len(str(key))
                stack.append((inner, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((inner, depth + 1) for inner in item)
        else:
            size += len(item) if isinstance(item, str) else len(str(item))
    return size


def _image_bytes(images: Any) -> list[bytes]:
    """A message's images as bytes. A text must be strict base64: the `ollama` client would read a text that names an
    existing file (`/etc//passwd` is valid base64 too) from this server's disk and send it to the model."""
    if not isinstance(images, list | tuple):
        raise InvalidInput(N_('"images" must be a list of base64 images.'))
    decoded = []
    for item in images:
        if isinstance(item, bytes):
            decoded.append(item)
            continue
        try:
            decoded.append(base64.b64decode(item, validate=True) if isinstance(item, str) else b'')
        except (binascii.Error, ValueError):
            decoded.append(b'')
        if not decoded[-1]:
            raise InvalidInput(
                N_("An image is not valid: send each image as base64 (the file's bytes, base64-encoded).")
            )
    return decoded


def _image_chars(images: Any) -> int:
    """Images are sent as base64: count that text (raw bytes grow by a third when encoded)."""
    if not isinstance(images, list | tuple):
        return request_chars(images)
    return sum(-(-len(i) // 3) * 4 if isinstance(i, bytes) else len(str(i)) for i in images)


# ----- errors --------------------------------------------------------------------------------------------------------
def map_error(exc: BaseException, host: str, model: str = '') -> OllamaError:
    """Translate whatever the ollama client or httpx raised into a typed, user-facing error."""
    if isinstance(exc, OllamaError):
        return exc
    if isinstance(exc, ollama.ResponseError):
        text = exc.error or str(exc)
        if exc.status_code == 404:
            name = model or 'that model'
            return ModelNotFound(
                N_(
                    'The model "{name}" is not available on {host}. Pull it first, or pick another.',
                    name=name,
                    host=host,
                ),
                host=host,
                status=404,
                detail=text,
                model=model,
            )
        if exc.status_code == 503:
            return OllamaBusy(
                N_('Ollama at {host} is busy with other requests. Wait a moment and try again.', host=host),
                host=host,
                status=503,
                detail=text,
            )
        if exc.status_code == 400:
            return OllamaBadRequest(
                N_('Ollama refused the request: {text}', text=text), host=host, status=400, detail=text
            )
        if exc.status_code == -1:
            return OllamaStreamError(
                N_('Ollama reported an error during the reply: {text}', text=text), host=host, detail=text
            )
        return OllamaError(
            N_(
                'Ollama at {host} answered with an error ({status_code}): {text}',
                host=host,
                status_code=exc.status_code,
                text=text,
            ),
            host=host,
            status=exc.status_code,
            detail=text,
        )
    if isinstance(exc, httpx.TimeoutException):
        return OllamaTimeout(
            N_(
                'Ollama at {host} did not answer in time. The model may still be loading; try again, '
                'or use a smaller model.',
                host=host,
            ),
            host=host,
            detail=type(exc).__name__,
        )
    if isinstance(exc, ConnectionError | httpx.ConnectError | OSError):
        return OllamaUnreachable(unreachable_message(host), host=host, detail=str(exc))
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return OllamaStreamError(
            N_(
                'The connection to Ollama at {host} broke off during the reply. Check that Ollama is '
                'still running, then try again.',
                host=host,
            ),
            host=host,
            detail=str(exc),
        )
    if isinstance(exc, ValidationError):
        return OllamaError(
            N_('Ollama at {host} sent a reply this platform does not understand.', host=host),
            host=host,
            detail=str(exc)[:500],
        )
    if isinstance(exc, httpx.HTTPError):
        return OllamaError(
            N_('Talking to Ollama at {host} failed: {exc}', host=host, exc=exc), host=host, detail=str(exc)
        )
    raise exc


_MAPPED = (ollama.ResponseError, httpx.HTTPError, ConnectionError, OSError, ValidationError)


# ----- the wire: one client per host ---------------------------------------------------------------------------------
class OllamaGateway:
    """One `ollama.AsyncClient` per host, created inside the running event loop (a client must not cross loops) and
    closed on shutdown. Private to this module: everything else calls `ModelCalls`."""

    def __init__(self, *, timeout: float = 300.0, connect_timeout: float = 5.0, idle_timeout: float = 60.0) -> None:
        self.timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self._clients: dict[str, tuple[asyncio.AbstractEventLoop, ollama.AsyncClient]] = {}

    def client(self, host: str) -> ollama.AsyncClient:
        loop = asyncio.get_running_loop()
        entry = self._clients.get(host)
        if entry is None or entry[0] is not loop:
            entry = (loop, ollama.AsyncClient(host=host, timeout=self.timeout, verify=ssl_context()))
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

    async def check(self, host: str) -> HostStatus:
        """Reachability, version and latency via GET /api/version (the client library never calls it)."""
        started = time.perf_counter()
        try:
            async with httpx.AsyncClient(timeout=httpx.Timeout(self.connect_timeout), verify=ssl_context()) as http:
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

    async def call(self, host: str, method: str, *args: Any, about: str = '', **kwargs: Any) -> Any:
        """Call a client method; `about` names the model for error messages."""
        try:
            return await getattr(self.client(host), method)(*args, **kwargs)
        except _MAPPED as exc:
            raise map_error(exc, host, about) from exc

    async def stream(self, host: str, method: str, *, model: str, **kwargs: Any) -> AsyncIterator[Any]:
        """Parts of a streamed `chat`, `generate`, `pull` or `create`. Closing the iterator (or cancelling its
        consumer) closes the HTTP stream, so Ollama sees the disconnect and stops working.

        A generation that has started and then sends nothing for `idle_timeout` seconds (a hung Ollama that keeps the
        connection open) ends with a clear OllamaTimeout instead of stalling until the read timeout. Only the time
        spent waiting for Ollama counts, not the time a slow reader downstream takes; the first part (loading the
        model) is left to the read timeout."""
        parts = None
        idle = _IdleWatch(self.idle_timeout) if method in ('chat', 'generate') and self.idle_timeout else None
        try:
            parts = await getattr(self.client(host), method)(model=model, stream=True, **kwargs)
            iterator = parts.__aiter__()
            while True:
                if idle is not None and idle.started:
                    idle.waiting()
                try:
                    part = await iterator.__anext__()
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    if idle is not None and idle.fired:
                        raise OllamaTimeout(
                            N_(
                                '{host} stopped sending the reply of {model} for {idle_timeout:.0f} s, so it was '
                                'ended. Try again; if it keeps happening, tell an admin: that Ollama server may be '
                                'stuck.',
                                host=host,
                                model=model,
                                idle_timeout=self.idle_timeout,
                            ),
                            host=host,
                        ) from None
                    raise
                if idle is not None:
                    idle.arrived()
                yield part
        except _MAPPED as exc:
            raise map_error(exc, host, model) from exc
        finally:
            if idle is not None:
                idle.stop()
            if parts is not None:
                await parts.aclose()


class _IdleWatch:
    """Cancels the task waiting for Ollama's next part when it has waited `seconds`. One timer a stream, checked a
    few times per `seconds`: no task or timer per part (the relay's cost per token stays an assignment)."""

    __slots__ = ('_handle', '_since', '_task', 'fired', 'seconds', 'started')

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = False
        self.fired = False
        self._since: float | None = None
        self._task: asyncio.Task | None = None
        self._handle: asyncio.TimerHandle | None = None

    def waiting(self) -> None:
        self._since = time.monotonic()
        self._task = asyncio.current_task()

    def arrived(self) -> None:
        self._since = None
        if not self.started:
            self.started = True
            self._handle = asyncio.get_running_loop().call_later(self.seconds / 4, self._check)

    def _check(self) -> None:
        since, task = self._since, self._task
        if since is not None and task is not None and time.monotonic() - since >= self.seconds:
            self.fired = True
            task.cancel()
            return
        self._handle = asyncio.get_running_loop().call_later(self.seconds / 4, self._check)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self.fired and self._task is not None and self._task is asyncio.current_task():
            self._task.uncancel()  # the cancellation was ours and is answered by the OllamaTimeout


# ----- the path ------------------------------------------------------------------------------------------------------
@dataclass(kw_only=True, slots=True)
class _Call:
    """One call on its way: what the ledger row will say."""

    caller: Caller
    purpose: Purpose
    kind: str
    model: str
    host: str = ''
    started: float = 0.0
    first: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str | None = None
    failed_over: bool = False  # this call already moved to another host once

    @property
    def counted(self) -> bool:
        return self.purpose in COUNTED and not self.caller.is_system


class Reply:
    """Ollama's response to a call that was not streamed (its fields read as they are), and the host that gave it."""

    __slots__ = ('_response', 'host')

    def __init__(self, host: str, response: Any) -> None:
        self.host = host
        self._response = response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._response, name)


class CallStream:
    """The parts of a streamed call, admitted and holding its slot. `host` is known before the first part; iterate
    it, then (or instead) `aclose()` it: the slot and the quota reservation are given back however it ends."""

    def __init__(self, host: str, parts: AsyncIterator[Any], give_back: Callable[[], None]) -> None:
        self.host = host
        self._parts = parts
        self._give_back: Callable[[], None] | None = give_back  # until the stream starts, then its own finally does

    def __aiter__(self) -> CallStream:
        return self

    async def __anext__(self) -> Any:
        self._give_back = None
        return await self._parts.__anext__()

    async def aclose(self) -> None:
        await self._parts.aclose()  # type: ignore[attr-defined]
        self._unused()

    def _unused(self) -> None:
        give_back, self._give_back = self._give_back, None
        if give_back is not None:
            give_back()

    def __del__(self) -> None:  # a stream dropped without being read or closed must not keep its slot
        self._unused()


class ModelCalls:
    def __init__(
        self,
        *,
        hosts: HostDirectory,
        auth: AuthService,
        membership: Membership,
        quotas: QuotaService,
        room: Room | None = None,
        limits: CallLimits | None = None,
        timeout: float = 300.0,
        connect_timeout: float = 5.0,
        idle_timeout: float = 60.0,
        route_cache_seconds: float = 30.0,
        down_seconds: float = 15.0,
        option_caps: OptionCapsService | None = None,
        embed_hosts: list[str] | None = None,
    ) -> None:
        self.hosts = hosts
        self.auth = auth
        self.membership = membership
        self.quotas = quotas
        self.limits = limits or CallLimits()
        # the admin's ranges for options (until an admin sets them: the settings' defaults)
        self.option_caps = option_caps or OptionCapsService(auth, OptionCaps())
        self.route_cache_seconds = route_cache_seconds
        self.gateway = OllamaGateway(timeout=timeout, connect_timeout=connect_timeout, idle_timeout=idle_timeout)
        self.counts: Counter[str] = Counter()  # purpose -> calls made by this process (all kinds)
        self.room = room or Room()  # slots per host, the per-user limit and the fair queue
        self.down_seconds = down_seconds
        self._down: dict[str, float] = {}  # host -> until when it is skipped (failed to connect, or 5xx)
        self._loaded: dict[str, tuple[float, set[str]]] = {}  # host -> (when, models loaded there), from ps
        self._refreshing: dict[tuple[str, str], asyncio.Future] = {}  # background refreshes of those two caches
        self.embed_hosts = [u.rstrip('/') for u in embed_hosts or []]  # embeddings pinned to these hosts (if set)
        self._sticky: OrderedDict[str, str] = OrderedDict()  # e.g. 'conversation:42' -> the host that served it
        self._models: dict[str, tuple[float, set[str]]] = {}  # host -> (when, model names) for routing

    async def close(self) -> None:
        await self.gateway.close()

    # ----- who is asking --------------------------------------------------------------------------------------------
    async def caller(self, user_id: int | None) -> Caller:
        """The caller for a signed-in user (checked active), with their role and live workshop."""
        if user_id is None:
            return SYSTEM
        user = await self.auth.require(user_id)
        workshop_id = await self.membership.workshop_of(user.id)
        logs.bind(user_id=user.id, workshop_id=workshop_id)
        return Caller(user_id=user.id, role=user.role, workshop_id=workshop_id)

    async def room_view(self, actor_id: int) -> dict[str, Any]:
        """The room now, for instructors and admins (and monitoring): slots in use and calls waiting per host, hosts
        marked down, calls waiting, served and refused for being busy."""
        await self.auth.require(actor_id, Role.INSTRUCTOR)
        for url in await self.hosts.urls():
            await self._known(url)
        view = self.room.snapshot()
        return {
            'hosts': self.room_hosts(),
            'waiting': len(view.waiting),
            'longest_wait_s': max((w.waited_s for w in view.waiting), default=0.0),
            'served': view.served,
            'refused_busy': view.refused_busy,
        }

    def room_hosts(self) -> list[dict[str, Any]]:
        """Per host: generation and embedding slots and how many are in use, calls waiting for it, down or not."""
        return [
            {
                'url': h.url,
                'slots': h.slots,
                'active': h.active,
                'embed_slots': h.embed_slots,
                'active_embed': h.active_embed,
                'queued': self.room.busy(h.url) - h.active - h.active_embed,
                'down': self.is_down(h.url),
            }
            for h in self.room.hosts.values()
        ]

    def running(self, user_id: int) -> int:
        """Calls this user has running now (this process)."""
        return self.room.running(user_id)

    # ----- admission ------------------------------------------------------------------------------------------------
    async def allowed_models(self, caller: Caller) -> list[str] | None:
        """The models this caller may use (None: any)."""
        if not caller.restricted or caller.workshop_id is None:
            return None
        return await self.membership.allowed_models(caller.workshop_id) or None

    async def check_model(self, caller: Caller, model: str) -> str:
        """The model name, if this caller may use it; refuses with the allowed ones named otherwise."""
        model = (model or '').strip()
        if not model or len(model) > 200:
            raise InvalidInput(N_('Name a model, e.g. "llama3.2". The models page lists the available ones.'))
        allowed = await self.allowed_models(caller)
        if allowed is not None and full_name(model) not in allowed:
            log.warning(
                'user %s refused model %s: workshop %s allows %s', caller.user_id, model, caller.workshop_id, allowed
            )
            raise ModelNotAllowed(model, [a.removesuffix(':latest') for a in allowed])
        return model

    async def check_options(self, caller: Caller, options: dict[str, Any] | None) -> dict[str, Any] | None:
        """Options within the one options table and the admin's ranges; host-level options only from instructors
        and admins (an attendee is refused, naming the option)."""
        if options is None or options == {}:
            return None
        caps = await self.option_caps.current()
        return validate_options(options, staff=not caller.restricted, caps=caps) or None

    @staticmethod
    def check_keep_alive(caller: Caller, keep_alive: Any) -> str | int | None:
        """How long the model stays loaded: instructors and admins only (it unloads or pins it for everyone)."""
        return validate_keep_alive(keep_alive, staff=not caller.restricted)

    def check_messages(
        self, messages: list[dict[str, Any]], extra_chars: int = 0, *, tools: Any = None, format: Any = None
    ) -> list[dict[str, Any]]:
        """Roles, the number of messages and the size of the whole request against the one prompt limit: every
        field of every message (system prompt, history, tool calls and results, RAG context inside them), images
        as the base64 text that is sent, the tool definitions and the output schema."""
        if not messages:
            raise InvalidInput(N_('Send at least one message.'))
        if len(messages) > MAX_MESSAGES:
            raise InvalidInput(N_('Send at most {MAX_MESSAGES} messages in one request.', MAX_MESSAGES=MAX_MESSAGES))
        size = extra_chars + request_chars(tools) + request_chars(format)
        checked: list[dict[str, Any]] = []
        for message in messages:
            if message.get('role') not in ROLES:
                raise InvalidInput(N_('Message roles must be one of {ROLES}.', ROLES=', '.join(ROLES)))
            fields = message if isinstance(message, dict) else message.model_dump(exclude_none=True)
            if fields.get('images'):
                fields = {**fields, 'images': _image_bytes(fields['images'])}
            try:
                # what the client would refuse only while sending (it wraps images as this does first)
                shaped = {
                    k: [ollama.Image(value=i) for i in v] if k == 'images' and v else v for k, v in fields.items()
                }
                ollama.Message.model_validate(shaped)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = '.'.join(str(x) for x in first.get('loc', ()))
                raise InvalidInput(
                    N_(
                        'A message is not valid ({where}: {problem}). Messages have a role, text content and '
                        'optionally images (base64), tool calls or a tool name.',
                        where=where,
                        problem=first.get('msg', 'invalid'),
                    )
                ) from None
            size += sum(request_chars(v) for k, v in fields.items() if k not in ('role', 'images'))
            size += _image_chars(fields.get('images') or [])
            if size > self.limits.max_prompt_chars:
                break  # already too long: no need to measure the rest
            checked.append(fields)
        self.check_size(size)
        return checked

    def check_size(self, size: int) -> None:
        if size > self.limits.max_prompt_chars:
            raise InvalidInput(
                N_(
                    'That is too long for one model call ({size:,} characters; at most '
                    '{max_prompt_chars:,}, counting messages, system prompt, history, tool definitions and '
                    'attached context together).',
                    size=size,
                    max_prompt_chars=self.limits.max_prompt_chars,
                )
            )

    async def admit(self, caller: Caller, purpose: Purpose, model: str, *, quota: bool = True) -> str:
        """Everything that can refuse a call before anything is sent: the model and the quota. Features call it up
        front to refuse a whole job (a comparison, a batch) before its first call. Every call a person starts is
        refused over quota (even one that does not count, like embedding a RAG question). A person at their limit
        of running calls is not refused here: their call waits in their lane of the room."""
        model = await self.check_model(caller, model)
        if quota and purpose in LIMITED and caller.user_id is not None:
            await self.quotas.check(caller.user_id, caller.workshop_id, pending=self.quotas.pending(caller.user_id))
        return model

    async def _slot(self, call: _Call, hosts: list[str], on_wait: Callable[[int], None] | None = None) -> Ticket:
        """A slot on one of `hosts` (best first): now, or after a fair wait in the room."""
        kind = EMBED if call.kind == 'embed' else GENERATE
        return await self.room.acquire(call.caller, kind, hosts, limited=call.purpose in LIMITED, on_wait=on_wait)

    async def _reserve(self, call: _Call) -> Any:
        """Reserve one request of the caller's quota (checked and taken atomically); None when not counted."""
        if not call.counted:
            return None
        return await self.quotas.reserve(call.caller.user_id, call.caller.workshop_id)

    # ----- routing --------------------------------------------------------------------------------------------------
    async def models_on(self, url: str) -> set[str]:
        """The models a host has (for routing). A stale answer is used while a fresh one is read in the background,
        so no call waits on a list request to a busy host; only the very first lookup (or one after `invalidate`)
        waits."""
        cached = self._models.get(url)
        if cached is None:
            return await self._read_models(url)
        if time.monotonic() - cached[0] >= self.route_cache_seconds:
            self._refresh(('list', url), self._read_models(url))
        return cached[1]

    async def _read_models(self, url: str) -> set[str]:
        self.counts[Purpose.CATALOGUE] += 1
        names = {m.model for m in (await self.gateway.call(url, 'list')).models if m.model}
        self._models[url] = (time.monotonic(), names)
        return names

    def _refresh(self, key: tuple[str, str], work: Any) -> None:
        """Run one background refresh per key at a time; errors leave the stale answer in place."""
        running = self._refreshing.get(key)
        if running is not None and not running.done():
            work.close()
            return

        async def guarded() -> None:
            try:
                await work
            except OllamaError:
                pass

        self._refreshing[key] = asyncio.ensure_future(guarded())

    def invalidate(self, url: str | None = None) -> None:
        """Forget what a host (or every host) has: after a pull, delete, create or a host change."""
        if url is None:
            self._models.clear()
        else:
            self._models.pop(url, None)

    async def route(self, model: str, host: str | None = None) -> str:
        """The best host for `model` now (see `candidates`)."""
        return (await self.candidates(model, host))[0]

    async def candidates(
        self, model: str, host: str | None = None, *, prefer: str | None = None, embedding: bool = False
    ) -> list[str]:
        """The hosts that can serve `model`, best first: `host` alone if asked for (it must be enabled); else the
        enabled hosts that have the model, those not marked down first, then those where it is already loaded, then
        the least busy (running + waiting calls); `prefer` (the host that served this conversation before: its
        prompt cache) goes first while it has a free slot. Embeddings go to `embed_hosts` when those are set and have
        the model. No host has it: the default host, so the call fails there with Ollama's own clear 'model not
        found'."""
        ranked = await self._ranked(model, host)
        if embedding and self.embed_hosts and not host:
            pinned = [u for u in ranked if u in self.embed_hosts]
            ranked = pinned or ranked
        if prefer in ranked[1:] and not self.is_down(prefer) and self.room.host(prefer).free(GENERATE) > 0:
            ranked = [prefer, *(u for u in ranked if u != prefer)]
        return ranked

    async def _ranked(self, model: str, host: str | None) -> list[str]:
        if host:
            return [await self._known(await self.hosts.require_enabled(host))]
        wanted = full_name(model)
        urls = [await self._known(u) for u in await self.hosts.urls()]
        having = []
        for url in urls:
            try:
                if wanted in await self.models_on(url):
                    having.append(url)
            except OllamaError:
                continue
        if not having:
            return [await self._known(await self.hosts.default())]
        if len(having) == 1:
            return having
        now = time.monotonic()
        loaded = {url: wanted in await self._loaded_on(url) for url in having}
        return sorted(
            having,
            key=lambda u: (self._down.get(u, 0) > now, not loaded[u], self.room.busy(u), urls.index(u)),
        )

    async def _known(self, url: str) -> str:
        """The host, with the room told its number of slots (the admin may have changed it)."""
        self.room.host(url, await self.hosts.slots_of(url))
        return url

    async def _loaded_on(self, url: str) -> set[str]:
        """The models loaded on a host (from `ps`, at most 10 s old; refreshed in the background like `models_on`)."""
        cached = self._loaded.get(url)
        if cached is None:
            return await self._read_loaded(url)
        if time.monotonic() - cached[0] >= 10:
            self._refresh(('ps', url), self._read_loaded(url))
        return cached[1]

    async def _read_loaded(self, url: str) -> set[str]:
        try:
            names = {m.model for m in await self.loaded(url, Purpose.CATALOGUE) if m.model}
        except OllamaError:
            names = set()
        self._loaded[url] = (time.monotonic(), names)
        return names

    def mark_down(self, url: str) -> None:
        """Skip this host for a while (it failed to connect or answered 5xx); it comes back by itself."""
        log.warning('ollama host %s marked down for %.0f s', url, self.down_seconds)
        self._down[url] = time.monotonic() + self.down_seconds
        self._loaded.pop(url, None)

    def mark_up(self, url: str) -> None:
        self._down.pop(url, None)

    def is_down(self, url: str) -> bool:
        return self._down.get(url, 0) > time.monotonic()

    def metric_families(self) -> list:
        """Slots, calls running and waiting, and up/down per host, read when Prometheus scrapes."""
        view = self.room.snapshot()
        waiting = self.room.waiting_by_host()
        hosts = [h.url for h in view.hosts]
        return [
            metrics.gauge('owp_host_slots', 'Generation slots of each Ollama host.', ['host'],
                          [([h.url], h.slots) for h in view.hosts]),
            metrics.gauge('owp_host_slots_in_use', 'Model calls running on each host, by kind.', ['host', 'kind'],
                          [([h.url, 'generate'], h.active) for h in view.hosts]
                          + [([h.url, 'embed'], h.active_embed) for h in view.hosts]),
            metrics.gauge('owp_host_queue_length', 'Model calls waiting for a slot, by the host they wait for.',
                          ['host'], [([url], waiting.get(url, 0)) for url in hosts]),
            metrics.gauge('owp_host_up', '1 when the host answers, 0 while it is marked down.', ['host'],
                          [([url], 0 if self.is_down(url) else 1) for url in hosts]),
            metrics.counter('owp_calls_refused_busy', 'Calls refused because the room was too busy (since start).',
                            view.refused_busy),
        ]  # fmt: skip

    # ----- recording ------------------------------------------------------------------------------------------------
    async def _record(self, call: _Call, *, failover: bool = False) -> None:
        """One ledger row. An attempt that failed over to another host is recorded but does not count."""
        self.counts[call.purpose] += 1
        if call.purpose in _UNRECORDED:
            return
        prompt, completion = call.prompt_tokens, call.completion_tokens
        seconds = time.perf_counter() - call.started
        metrics.model_call(
            model=call.model, host=call.host, purpose=call.purpose.value, ok=not call.error, prompt=prompt,
            completion=completion, seconds=seconds, ttft=call.first - call.started if call.first else None,
        )  # fmt: skip
        try:
            await ModelCall.create(
                user_id=call.caller.user_id,
                workshop_id=call.caller.workshop_id,
                purpose=call.purpose.value,
                kind=call.kind,
                model=call.model[:200],
                host=call.host[:300],
                counted=call.counted and not failover,
                prompt_tokens=prompt,
                completion_tokens=completion,
                tokens=(prompt or 0) + (completion or 0),
                latency_ms=round(seconds * 1000, 2),
                ttft_ms=round((call.first - call.started) * 1000, 2) if call.first else None,
                error=call.error[:500] if call.error else None,
            )
        except Exception:  # the ledger must never turn a finished call into a failure
            log.exception('recording a model call failed')

    # ----- generation -----------------------------------------------------------------------------------------------
    async def chat(
        self,
        caller: Caller,
        purpose: Purpose,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        options: dict[str, Any] | None = None,
        format: Any = None,
        think: Any = None,
        keep_alive: Any = None,
        host: str | None = None,
        on_wait: Callable[[int], None] | None = None,
    ) -> Reply:
        """One chat reply (an `ollama.ChatResponse`), not streamed."""
        model, kwargs = await self._prepare_chat(caller, model, messages, tools, options, format, think, keep_alive)
        call = _Call(caller=caller, purpose=purpose, kind='chat', model=model)
        return await self._once(call, host, on_wait, 'chat', stream=False, about=model, **kwargs)

    async def chat_stream(
        self,
        caller: Caller,
        purpose: Purpose,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        options: dict[str, Any] | None = None,
        format: Any = None,
        think: Any = None,
        keep_alive: Any = None,
        host: str | None = None,
        on_wait: Callable[[int], None] | None = None,
        sticky: str | None = None,
    ) -> CallStream:
        """Admit the call and wait for its slot now (refusals raise here, and nothing is sent until the room has a
        slot: `on_wait(n)` is told how many calls are ahead meanwhile), then stream the reply's parts."""
        model, kwargs = await self._prepare_chat(caller, model, messages, tools, options, format, think, keep_alive)
        call = _Call(caller=caller, purpose=purpose, kind='chat', model=model)
        await self.admit(caller, purpose, model, quota=not call.counted)  # reserving checks a counted call's quota
        hosts = await self.candidates(model, host, prefer=self._sticky.get(sticky) if sticky else None)
        reservation = await self._reserve(call)
        try:
            ticket = await self._slot(call, hosts, on_wait)
        except BaseException:
            if reservation is not None:
                reservation.release()
            raise
        if sticky:  # the next turn of this conversation goes back to this host while it has room (prompt cache)
            self._sticky[sticky] = ticket.host
            self._sticky.move_to_end(sticky)
            while len(self._sticky) > 10_000:
                self._sticky.popitem(last=False)
        kwargs.pop('model')

        def give_back() -> None:  # the stream was never read
            self.room.release(ticket)
            if reservation is not None:
                reservation.release()

        parts = self._stream(call, ticket, reservation, hosts, on_wait, 'chat', kwargs)
        return CallStream(ticket.host, parts, give_back)

    async def generate(
        self,
        caller: Caller,
        purpose: Purpose,
        *,
        model: str,
        prompt: str,
        system: str | None = None,
        options: dict[str, Any] | None = None,
        format: Any = None,
        keep_alive: Any = None,
        host: str | None = None,
    ) -> Reply:
        """One completion of a raw prompt (an `ollama.GenerateResponse`), not streamed."""
        self.check_size(len(prompt or '') + len(system or '') + request_chars(format))
        kwargs = {
            'prompt': prompt,
            'system': system,
            'options': await self.check_options(caller, options),
            'format': validate_format(format),
            'keep_alive': self.check_keep_alive(caller, keep_alive),
        }
        call = _Call(caller=caller, purpose=purpose, kind='generate', model=model)
        return await self._once(call, host, None, 'generate', model=model, stream=False, about=model, **kwargs)

    async def _prepare_chat(
        self,
        caller: Caller,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        options: dict[str, Any] | None,
        format: Any,
        think: Any,
        keep_alive: Any,
    ) -> tuple[str, dict[str, Any]]:
        model = await self.check_model(caller, model)
        messages = self.check_messages(messages, tools=tools, format=format)
        kwargs: dict[str, Any] = {'model': model, 'messages': messages}
        if tools:
            kwargs['tools'] = tools
        if (checked := await self.check_options(caller, options)) is not None:
            kwargs['options'] = checked
        if (fmt := validate_format(format)) is not None:
            kwargs['format'] = fmt
        if think is not None:
            kwargs['think'] = think
        if (alive := self.check_keep_alive(caller, keep_alive)) is not None:
            kwargs['keep_alive'] = alive
        return model, kwargs

    async def _once(
        self, call: _Call, host: str | None, on_wait: Callable[[int], None] | None, method: str, **kwargs: Any
    ) -> Any:
        """A call that is not streamed: admit, reserve, wait for a slot, call (once more on another host if the
        first fails to connect or answers 5xx), record."""
        await self.admit(call.caller, call.purpose, call.model, quota=not call.counted)  # reserving checks it
        hosts = await self.candidates(call.model, host, embedding=call.kind == 'embed')
        reservation = await self._reserve(call)
        try:
            ticket = await self._slot(call, hosts, on_wait)
        except BaseException:
            if reservation is not None:
                reservation.release()
            raise
        try:
            while True:
                call.host, call.started = ticket.host, time.perf_counter()
                try:
                    reply = await self.gateway.call(call.host, method, **kwargs)
                except asyncio.CancelledError:
                    call.error = 'cancelled'
                    raise
                except OllamaError as exc:
                    call.error = exc.message
                    if call.failed_over or not _fails_host(exc) or len(hosts) < 2:
                        raise
                    ticket, hosts = await self._fail_over(call, ticket, hosts, on_wait)
                    continue
                call.first = time.perf_counter()
                _count_tokens(call, reply)
                return Reply(call.host, reply)
        finally:
            self.room.release(ticket)  # at once, with no await before it
            await self._settle(call, reservation)

    async def _settle(self, call: _Call, reservation: Any) -> None:
        """Record the call, then give back its quota reservation: in a task of its own, so that a cancelled caller
        (a closed tab, a dropped HTTP client) cannot stop it half-way."""

        async def settle() -> None:
            try:
                await self._record(call)
            finally:
                if reservation is not None:
                    reservation.release()

        await asyncio.shield(asyncio.ensure_future(settle()))

    async def _fail_over(
        self, call: _Call, ticket: Ticket, hosts: list[str], on_wait: Callable[[int], None] | None
    ) -> tuple[Ticket, list[str]]:
        """The host failed before the first token: record the attempt (not counted), mark the host down, and wait
        for a slot on another host that has the model."""
        self.mark_down(call.host)
        self.room.release(ticket)
        await asyncio.shield(self._record(call, failover=True))
        call.failed_over = True
        call.error = None
        others = [u for u in hosts if u != call.host]
        return await self._slot(call, others, on_wait), others

    async def _stream(
        self,
        call: _Call,
        ticket: Ticket,
        reservation: Any,
        hosts: list[str],
        on_wait: Callable[[int], None] | None,
        method: str,
        kwargs: dict[str, Any],
    ) -> AsyncIterator[Any]:
        try:
            while True:
                call.host, call.started, call.first = ticket.host, time.perf_counter(), None
                call.error = 'the client stopped reading'
                try:
                    async for part in self.gateway.stream(call.host, method, model=call.model, **kwargs):
                        if call.first is None:
                            call.first = time.perf_counter()
                        if getattr(part, 'done', False):
                            _count_tokens(call, part)
                        yield part
                    call.error = None
                    return
                except OllamaError as exc:
                    call.error = exc.message
                    if call.failed_over or call.first is not None or not _fails_host(exc) or len(hosts) < 2:
                        raise  # mid-stream: the caller keeps the partial answer and shows the error
                ticket, hosts = await self._fail_over(call, ticket, hosts, on_wait)
        finally:
            # the slot first, with no await before it: a cancelled HTTP response (anyio) cancels every await here
            self.room.release(ticket)
            await self._settle(call, reservation)

    # ----- embeddings -----------------------------------------------------------------------------------------------
    async def embed(
        self,
        caller: Caller,
        purpose: Purpose,
        *,
        model: str,
        inputs: list[str],
        dimensions: int | None = None,
        host: str | None = None,
        on_wait: Callable[[int], None] | None = None,
    ) -> Reply:
        """Embeddings of `inputs` (an `ollama.EmbedResponse`: `.embeddings`, `.prompt_eval_count`)."""
        if not inputs:
            raise InvalidInput(N_('Send at least one text to embed.'))
        if len(inputs) > MAX_INPUTS and purpose is not Purpose.INGESTION:
            raise InvalidInput(N_('Send at most {MAX_INPUTS} inputs in one request.', MAX_INPUTS=MAX_INPUTS))
        self.check_size(sum(len(t) for t in inputs))
        model = await self.check_model(caller, model)
        extra = {'dimensions': dimensions} if dimensions else {}
        call = _Call(caller=caller, purpose=purpose, kind='embed', model=model)
        return await self._once(call, host, on_wait, 'embed', model=model, input=inputs, about=model, **extra)

    # ----- catalogue reads (the platform's own, not counted) ------------------------------------------------------
    async def list_models(self, url: str) -> list[Any]:
        self.counts[Purpose.CATALOGUE] += 1
        return list((await self.gateway.call(url, 'list')).models)

    async def show(self, url: str, model: str, caller: Caller = SYSTEM) -> ollama.ShowResponse:
        self.counts[Purpose.CATALOGUE if caller.is_system else Purpose.ADMIN] += 1
        return await self.gateway.call(url, 'show', model, about=model)

    async def loaded(self, url: str, purpose: Purpose = Purpose.CATALOGUE) -> list[Any]:
        """The models loaded on a host now (`ps`)."""
        self.counts[purpose] += 1
        return list((await self.gateway.call(url, 'ps')).models)

    async def check_host(self, url: str) -> HostStatus:
        self.counts[Purpose.HEALTH] += 1
        return await self.gateway.check(url)

    # ----- administration (instructors and admins) ----------------------------------------------------------------
    def _require_manager(self, caller: Caller) -> None:
        if caller.is_system or caller.restricted:
            raise PermissionDenied(N_('Only instructors and admins can manage models.'))

    async def pull(self, caller: Caller, url: str, model: str) -> AsyncIterator[ollama.ProgressResponse]:
        self._require_manager(caller)
        call = _Call(caller=caller, purpose=Purpose.ADMIN, kind='pull', model=model, host=url)
        async for part in self._admin_stream(call, 'pull'):
            yield part

    async def create(self, caller: Caller, url: str, model: str, **kwargs: Any) -> AsyncIterator[Any]:
        self._require_manager(caller)
        call = _Call(caller=caller, purpose=Purpose.ADMIN, kind='create', model=model, host=url)
        async for part in self._admin_stream(call, 'create', **kwargs):
            yield part

    async def _admin_stream(self, call: _Call, method: str, **kwargs: Any) -> AsyncIterator[Any]:
        call.started = time.perf_counter()
        call.error = 'stopped before it finished'
        try:
            async for part in self.gateway.stream(call.host, method, model=call.model, **kwargs):
                yield part
            call.error = None
        except OllamaError as exc:
            call.error = exc.message
            raise
        finally:
            self.invalidate(call.host)
            await asyncio.shield(self._record(call))

    async def copy(self, caller: Caller, url: str, source: str, destination: str) -> None:
        await self._admin(caller, url, 'copy', source, source, destination)

    async def delete(self, caller: Caller, url: str, model: str) -> None:
        await self._admin(caller, url, 'delete', model, model)

    async def unload(self, caller: Caller, url: str, model: str) -> None:
        """Ask Ollama to unload a model now (an empty chat with keep_alive 0)."""
        self._require_manager(caller)
        call = _Call(caller=caller, purpose=Purpose.ADMIN, kind='unload', model=model, host=url)
        call.started = time.perf_counter()
        try:
            await self.gateway.call(url, 'chat', model=model, messages=[], keep_alive=0, stream=False, about=model)
        except OllamaError as exc:
            call.error = exc.message
            raise
        finally:
            await self._record(call)

    async def _admin(self, caller: Caller, url: str, method: str, model: str, *args: Any) -> None:
        self._require_manager(caller)
        call = _Call(caller=caller, purpose=Purpose.ADMIN, kind=method, model=model, host=url)
        call.started = time.perf_counter()
        try:
            await self.gateway.call(url, method, *args, about=model)
        except OllamaError as exc:
            call.error = exc.message
            raise
        finally:
            self.invalidate(url)
            await self._record(call)


def _fails_host(exc: OllamaError) -> bool:
    """Failures that say the host, not the request, is the problem: it could not be reached, or answered 5xx."""
    return isinstance(exc, OllamaUnreachable) or (exc.status or 0) >= 500


def _count_tokens(call: _Call, reply: Any) -> None:
    call.prompt_tokens = getattr(reply, 'prompt_eval_count', None) or 0
    call.completion_tokens = getattr(reply, 'eval_count', None) or 0
