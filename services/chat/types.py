"""Plain data of chat replies and conversations (what `services.chat.conversations` yields and returns), and the
pure helpers that build it."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from models import Conversation
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.models.errors import OllamaError
from services.models.options import OptionCaps, validate_format, validate_keep_alive, validate_options

MAX_SYSTEM_CHARS = 20_000
MAX_TITLE = 200


@dataclass(kw_only=True, slots=True)
class ChatMetrics:
    ttft_ms: float | None  # time to first token, as seen by the platform
    tokens_per_s: float | None
    prompt_tokens: int | None
    output_tokens: int
    total_ms: float


@dataclass(kw_only=True, slots=True)
class ChatDelta:
    content: str = ''
    thinking: str = ''


@dataclass(kw_only=True, slots=True)
class ChatResult:
    model: str
    host: str
    content: str
    thinking: str
    metrics: ChatMetrics
    error: str | None = None
    error_kind: str | None = None  # unreachable | model_not_found | busy | stream_error | ...
    stopped: bool = False

    @property
    def partial(self) -> bool:
        return bool(self.error or self.stopped)


@dataclass(kw_only=True, slots=True)
class ChatSettings:
    """What a conversation remembers besides its messages."""

    options: dict[str, Any] = field(default_factory=dict)
    keep_alive: str | int | None = None
    format: str | dict | None = None
    think: bool = True

    @classmethod
    def validated(cls, raw: dict[str, Any] | None, *, staff: bool, caps: OptionCaps | None = None) -> ChatSettings:
        """Checked settings: options within the one options table and the admin's ranges (`caps`); host-level options
        and keep_alive only when `staff` (an instructor or admin), as every model call checks them."""
        raw = dict(raw or {})
        return cls(
            options=validate_options(raw.get('options'), staff=staff, caps=caps),
            keep_alive=validate_keep_alive(raw.get('keep_alive'), staff=staff),
            format=validate_format(raw.get('format')),
            think=bool(raw.get('think', True)),
        )

    @classmethod
    def stored(cls, raw: dict[str, Any] | None) -> ChatSettings:
        """What a conversation saved, as it was checked when it was saved. Not a permission: every model call checks
        the options and keep_alive again for its caller (`services.models.calls.ModelCalls.check_options`)."""
        return cls.validated(raw, staff=True)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(kw_only=True, slots=True)
class ConversationSummary:
    id: int
    title: str
    model: str
    updated_at: datetime
    message_count: int


@dataclass(kw_only=True, slots=True)
class ConversationView:
    id: int
    title: str
    model: str
    system_prompt: str
    settings: ChatSettings
    messages: list[dict[str, Any]]


def conversation_view(row: Conversation) -> ConversationView:
    return ConversationView(
        id=row.id,
        title=row.title,
        model=row.model,
        system_prompt=row.system_prompt,
        settings=ChatSettings.stored(row.options),
        messages=list(row.messages or []),
    )


def message_of(result: ChatResult) -> dict[str, Any]:
    message: dict[str, Any] = {'role': 'assistant', 'content': result.content, 'model': result.model}
    if result.thinking:
        message['thinking'] = result.thinking
    message['metrics'] = asdict(result.metrics)
    if result.error:
        message['error'], message['error_kind'] = result.error, result.error_kind
    if result.stopped:
        message['stopped'] = True
    return message


def clean_system(text: str) -> str:
    text = (text or '').strip()
    if len(text) > MAX_SYSTEM_CHARS:
        raise InvalidInput(
            N_(
                'The system prompt is too long (at most {MAX_SYSTEM_CHARS:,} characters).',
                MAX_SYSTEM_CHARS=MAX_SYSTEM_CHARS,
            )
        )
    return text


def history_of(system_prompt: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    history = [{'role': 'system', 'content': system_prompt}] if system_prompt else []
    for message in messages:
        if message.get('role') == 'assistant' and not message.get('content'):
            continue  # a failed reply with nothing in it
        entry = {'role': message['role'], 'content': message.get('content', '')}
        if message.get('images'):
            entry['images'] = list(message['images'])  # references: `services.chat.images` puts the bytes in
        history.append(entry)
    return history


def build_result(
    model: str,
    host: str,
    content: list[str],
    thinking: list[str],
    final: Any,
    error: OllamaError | None,
    stopped: bool,
    started: float,
    first: float | None,
) -> ChatResult:
    now = time.perf_counter()
    output = (final.eval_count if final is not None and final.eval_count else None) or sum(1 for c in content if c)
    rate = None
    if final is not None and final.eval_count and final.eval_duration:
        rate = final.eval_count / (final.eval_duration / 1e9)
    elif first is not None and output and now > first:
        rate = output / (now - first)
    metrics = ChatMetrics(
        ttft_ms=round((first - started) * 1000, 2) if first is not None else None,
        tokens_per_s=round(rate, 1) if rate else None,
        prompt_tokens=final.prompt_eval_count if final is not None else None,
        output_tokens=output,
        total_ms=round((now - started) * 1000, 2),
    )
    return ChatResult(
        model=model,
        host=host,
        content=''.join(content),
        thinking=''.join(thinking),
        metrics=metrics,
        error=error.message if error else None,
        error_kind=error.kind if error else None,
        stopped=stopped,
    )
