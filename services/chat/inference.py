"""Model calls made for a user (the REST API and the OpenAI-compatible gateway): chat, streamed chat, embeddings.

Each call checks the user's quotas first, asks the host directory for a host, goes through the Ollama gateway and
is recorded in the activity log (model, host, tokens, latency, error), so it shows on the instructor dashboard.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ollama

from services.core import actions
from services.core.activity import ActivityService
from services.core.auth import AuthService
from services.core.errors import InvalidInput, Throttled
from services.core.quotas import QuotaService
from services.models.client import OllamaError, OllamaGateway
from services.models.hosts import HostDirectory

ROLES = ('system', 'user', 'assistant', 'tool')
MAX_MESSAGES = 500
MAX_INPUTS = 512


@dataclass(kw_only=True, slots=True)
class ChatResult:
    model: str
    host: str
    message: dict[str, Any]
    done_reason: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float


@dataclass(kw_only=True, slots=True)
class EmbedResult:
    model: str
    embeddings: list[list[float]]
    prompt_tokens: int
    latency_ms: float


@dataclass(kw_only=True, slots=True)
class ChatLimits:
    max_prompt_chars: int = 1_000_000
    max_num_ctx: int = 32_768
    max_num_predict: int = 8_192
    max_concurrent: int = 4  # model calls one user may have running at once (streams included)


def message_dict(message: ollama.Message) -> dict[str, Any]:
    """An Ollama reply message as a plain dict (tool call arguments stay objects)."""
    data: dict[str, Any] = {'role': message.role or 'assistant', 'content': message.content or ''}
    if message.thinking:
        data['thinking'] = message.thinking
    if message.tool_calls:
        data['tool_calls'] = [
            {'function': {'name': c.function.name, 'arguments': dict(c.function.arguments or {})}}
            for c in message.tool_calls
        ]
    return data


class InferenceService:
    def __init__(
        self,
        auth: AuthService,
        activity: ActivityService,
        hosts: HostDirectory,
        gateway: OllamaGateway,
        quotas: QuotaService,
        limits: ChatLimits | None = None,
    ) -> None:
        self.auth = auth
        self.activity = activity
        self.hosts = hosts
        self.gateway = gateway
        self.quotas = quotas
        self.limits = limits or ChatLimits()
        self._running: dict[int, int] = {}  # user id -> model calls in progress (this process)

    @contextmanager
    def _slot(self, user_id: int) -> Iterator[None]:
        """Count a running call; refuse one more than `max_concurrent` (one user must not hog the hosts)."""
        running = self._running.get(user_id, 0)
        if running >= self.limits.max_concurrent:
            raise Throttled(
                f'You already have {running} model calls running. Wait for one to finish (or stop it), then try again.',
                5,
            )
        self._running[user_id] = running + 1
        try:
            yield
        finally:
            self._running[user_id] -= 1
            if not self._running[user_id]:
                del self._running[user_id]

    # ----- validation --------------------------------------------------------------------------------------------
    def _check_model(self, model: str) -> str:
        model = (model or '').strip()
        if not model or len(model) > 200:
            raise InvalidInput('Name a model, e.g. "llama3.2". GET /api/v1/models lists the available ones.')
        return model

    def _check_messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not messages:
            raise InvalidInput('Send at least one message.')
        if len(messages) > MAX_MESSAGES:
            raise InvalidInput(f'Send at most {MAX_MESSAGES} messages in one request.')
        size = 0
        for message in messages:
            if message.get('role') not in ROLES:
                raise InvalidInput(f'Message roles must be one of {", ".join(ROLES)}.')
            size += len(str(message.get('content') or '')) + sum(len(i) for i in message.get('images') or [])
        if size > self.limits.max_prompt_chars:
            raise InvalidInput(
                f'The messages are too long ({size:,} characters; at most {self.limits.max_prompt_chars:,}).'
            )
        return messages

    def _check_options(self, options: dict[str, Any] | None) -> dict[str, Any] | None:
        if not options:
            return None
        num_ctx = options.get('num_ctx')
        if num_ctx is not None and not (isinstance(num_ctx, int) and 1 <= num_ctx <= self.limits.max_num_ctx):
            raise InvalidInput(f'num_ctx must be between 1 and {self.limits.max_num_ctx:,} on this platform.')
        num_predict = options.get('num_predict')
        if num_predict is not None and not (
            isinstance(num_predict, int) and -1 <= num_predict <= self.limits.max_num_predict
        ):
            raise InvalidInput(f'num_predict must be between -1 and {self.limits.max_num_predict:,}.')
        return options

    async def _prepare(self, actor_id: int, model: str, messages: list[dict], options: dict | None) -> tuple:
        user = await self.auth.require(actor_id)
        model = self._check_model(model)
        messages = self._check_messages(messages)
        options = self._check_options(options)
        await self.quotas.check(user.id)
        return user, model, messages, options, await self.hosts.host_for_model(model)

    # ----- chat --------------------------------------------------------------------------------------------------
    async def chat(
        self,
        actor_id: int,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        options: dict[str, Any] | None = None,
        format: Any = None,
        think: Any = None,
        via: str = 'api',
    ) -> ChatResult:
        user, model, messages, options, host = await self._prepare(actor_id, model, messages, options)
        started = time.perf_counter()
        try:
            with self._slot(user.id):
                reply = await self.gateway.chat(
                    host,
                    model=model,
                    messages=messages,
                    tools=tools or None,
                    options=options,
                    format=format,
                    think=think,
                )
        except OllamaError as exc:
            await self._record_chat(user.id, model, host, started, None, None, exc.message, via)
            raise
        result = ChatResult(
            model=model,
            host=host,
            message=message_dict(reply.message),
            done_reason=reply.done_reason or 'stop',
            prompt_tokens=reply.prompt_eval_count or 0,
            completion_tokens=reply.eval_count or 0,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        await self._record_chat(
            user.id, model, host, started, result.prompt_tokens, result.completion_tokens, None, via
        )
        return result

    async def chat_stream(
        self,
        actor_id: int,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        options: dict[str, Any] | None = None,
        format: Any = None,
        think: Any = None,
        via: str = 'api',
    ) -> AsyncIterator[ollama.ChatResponse]:
        """Validate and check quotas now (errors raise before the first part), then return the stream of parts."""
        user, model, messages, options, host = await self._prepare(actor_id, model, messages, options)
        return self._stream(
            user.id,
            host,
            via,
            model=model,
            messages=messages,
            tools=tools or None,
            options=options,
            format=format,
            think=think,
        )

    async def _stream(self, user_id: int, host: str, via: str, **kwargs: Any) -> AsyncIterator[ollama.ChatResponse]:
        with self._slot(user_id):  # raised on the first iteration, before any reply is sent
            started = time.perf_counter()
            async for part in self._recorded(user_id, host, via, started, **kwargs):
                yield part

    async def _recorded(
        self, user_id: int, host: str, via: str, started: float, **kwargs: Any
    ) -> AsyncIterator[ollama.ChatResponse]:
        prompt = completion = None
        error: str | None = 'the client stopped reading'
        parts = self.gateway.chat_stream(host, **kwargs)
        try:
            async for part in parts:
                if part.done:
                    prompt, completion = part.prompt_eval_count or 0, part.eval_count or 0
                yield part
            error = None
        except OllamaError as exc:
            error = exc.message
            raise
        finally:
            await parts.aclose()
            await self._record_chat(
                user_id, kwargs['model'], host, started, prompt, completion, error, via, stream=True
            )

    async def _record_chat(
        self,
        user_id: int,
        model: str,
        host: str,
        started: float,
        prompt: int | None,
        completion: int | None,
        error: str | None,
        via: str,
        **details: Any,
    ) -> None:
        tokens = (prompt or 0) + (completion or 0) if prompt is not None or completion is not None else None
        await self.activity.record(
            user_id,
            actions.CHAT,
            model=model,
            host=host,
            tokens=tokens,
            latency_ms=(time.perf_counter() - started) * 1000,
            error=error,
            via=via,
            prompt_tokens=prompt,
            completion_tokens=completion,
            **details,
        )

    # ----- embeddings --------------------------------------------------------------------------------------------
    async def embed(
        self, actor_id: int, *, model: str, inputs: list[str], dimensions: int | None = None, via: str = 'api'
    ) -> EmbedResult:
        user = await self.auth.require(actor_id)
        model = self._check_model(model)
        if not inputs:
            raise InvalidInput('Send at least one input text to embed.')
        if len(inputs) > MAX_INPUTS:
            raise InvalidInput(f'Send at most {MAX_INPUTS} inputs in one request.')
        if sum(len(t) for t in inputs) > self.limits.max_prompt_chars:
            raise InvalidInput(f'The inputs are too long (at most {self.limits.max_prompt_chars:,} characters).')
        await self.quotas.check(user.id)
        host = await self.hosts.host_for_model(model)
        started = time.perf_counter()
        extra = {'dimensions': dimensions} if dimensions else {}
        try:
            with self._slot(user.id):
                reply = await self.gateway.embed(host, model, inputs, **extra)
        except OllamaError as exc:
            await self.activity.record(
                user.id,
                actions.EMBED,
                model=model,
                host=host,
                error=exc.message,
                via=via,
                latency_ms=(time.perf_counter() - started) * 1000,
            )
            raise
        latency = (time.perf_counter() - started) * 1000
        tokens = reply.prompt_eval_count or sum(len(t.split()) for t in inputs)
        await self.activity.record(
            user.id,
            actions.EMBED,
            model=model,
            host=host,
            tokens=tokens,
            latency_ms=latency,
            via=via,
            inputs=len(inputs),
        )
        return EmbedResult(
            model=model, embeddings=[list(e) for e in reply.embeddings], prompt_tokens=tokens, latency_ms=latency
        )
