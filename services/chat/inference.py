"""Stateless model requests of the REST API (`/api/v1/chat`, `/api/v1/embeddings`) and the OpenAI-compatible gateway
(`/v1`): chat, streamed chat, embeddings.

Every call goes through the one model-call path (`services.models.calls`), which admits it (allowed models, options,
sizes, quota, the per-user limit), routes it and records it in the usage ledger; this layer adds the request's entry
in the activity log (model, host, tokens, latency, error, via), so it shows on the instructor dashboard.
Conversations and comparisons, which keep state, are `services.chat.conversations`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from services.chat.images import ChatImages
from services.core import actions
from services.core.activity import ActivityService
from services.models.callers import Purpose
from services.models.calls import CallStream, ModelCalls
from services.models.errors import OllamaError

PURPOSES = {'api': Purpose.API, 'openai': Purpose.OPENAI}


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


def message_dict(message: Any) -> dict[str, Any]:
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
    def __init__(self, calls: ModelCalls, activity: ActivityService, images: ChatImages) -> None:
        self.calls = calls
        self.activity = activity
        self.images = images  # images only for models with vision

    async def _check_images(self, actor_id: int, model: str, messages: list[dict[str, Any]]) -> None:
        if any(isinstance(m, dict) and m.get('images') for m in messages):
            await self.images.require_vision(actor_id, model)

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
        keep_alive: Any = None,
        via: str = 'api',
    ) -> ChatResult:
        caller = await self.calls.caller(actor_id)
        await self._check_images(actor_id, model, messages)
        started = time.perf_counter()
        try:
            reply = await self.calls.chat(
                caller,
                PURPOSES[via],
                model=model,
                messages=messages,
                tools=tools or None,
                options=options,
                format=format,
                think=think,
                keep_alive=keep_alive,
            )
        except OllamaError as exc:
            await self._record_chat(actor_id, model, exc.host, started, None, None, exc.message, via)
            raise
        result = ChatResult(
            model=model,
            host=reply.host,
            message=message_dict(reply.message),
            done_reason=reply.done_reason or 'stop',
            prompt_tokens=reply.prompt_eval_count or 0,
            completion_tokens=reply.eval_count or 0,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        await self._record_chat(
            actor_id, model, result.host, started, result.prompt_tokens, result.completion_tokens, None, via
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
        keep_alive: Any = None,
        via: str = 'api',
    ) -> AsyncIterator[Any]:
        """Admit now (refusals raise before the first part), then return the stream of Ollama's parts."""
        caller = await self.calls.caller(actor_id)
        await self._check_images(actor_id, model, messages)
        stream = await self.calls.chat_stream(
            caller,
            PURPOSES[via],
            model=model,
            messages=messages,
            tools=tools or None,
            options=options,
            format=format,
            think=think,
            keep_alive=keep_alive,
        )
        return self._recorded(actor_id, model, stream, via)

    async def _recorded(self, user_id: int, model: str, stream: CallStream, via: str) -> AsyncIterator[Any]:
        prompt = completion = None
        error: str | None = 'the client stopped reading'
        started = time.perf_counter()
        try:
            async for part in stream:
                if part.done:
                    prompt, completion = part.prompt_eval_count or 0, part.eval_count or 0
                yield part
            error = None
        except OllamaError as exc:
            error = exc.message
            raise
        finally:
            # recorded in a task of its own: a dropped HTTP client cancels every await of this generator
            record = self._record_chat(
                user_id, model, stream.host, started, prompt, completion, error, via, stream=True
            )
            recording = asyncio.ensure_future(record)
            try:
                await stream.aclose()
            finally:
                await asyncio.shield(recording)

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
            host=host or None,
            tokens=tokens,
            latency_ms=(time.perf_counter() - started) * 1000,
            error=error,
            via=via,
            prompt_tokens=prompt,
            completion_tokens=completion,
            **details,
        )

    async def embed(
        self, actor_id: int, *, model: str, inputs: list[str], dimensions: int | None = None, via: str = 'api'
    ) -> EmbedResult:
        caller = await self.calls.caller(actor_id)
        started = time.perf_counter()
        try:
            reply = await self.calls.embed(caller, PURPOSES[via], model=model, inputs=inputs, dimensions=dimensions)
        except OllamaError as exc:
            await self.activity.record(
                actor_id,
                actions.EMBED,
                model=model,
                host=exc.host or None,
                error=exc.message,
                via=via,
                latency_ms=(time.perf_counter() - started) * 1000,
            )
            raise
        latency = (time.perf_counter() - started) * 1000
        tokens = reply.prompt_eval_count or sum(len(t.split()) for t in inputs)
        await self.activity.record(
            actor_id,
            actions.EMBED,
            model=model,
            host=reply.host,
            tokens=tokens,
            latency_ms=latency,
            via=via,
            inputs=len(inputs),
        )
        return EmbedResult(
            model=model, embeddings=[list(e) for e in reply.embeddings], prompt_tokens=tokens, latency_ms=latency
        )
