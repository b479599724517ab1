"""The function-calling loop: the model asks for tool calls, the platform runs them and sends the results back as
`tool` messages, repeating up to a bound. Every step is yielded as an event, so a page can show a live transcript.

    async for event in services.tool_loop.run(user.id, 'llama3.2', messages, ['builtin:calculator']):
        ...  # event.kind: thinking | delta | assistant | call | result | limit | done
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from services.core import actions
from services.core.activity import ActivityService
from services.core.errors import InvalidInput
from services.core.quotas import QuotaService
from services.models.client import OllamaBadRequest, OllamaError, OllamaGateway
from services.models.hosts import HostDirectory
from services.prompts.templates import validate_options
from services.tools.library import ToolCallResult, ToolService

MAX_MESSAGES = 200
MAX_MESSAGE_CHARS = 50_000


class ToolsUnsupported(InvalidInput):
    """The model cannot call tools (Ollama answers 400 "does not support tools")."""


@dataclass(kw_only=True, slots=True)
class LoopEvent:
    kind: str
    text: str = ''
    step: int = 0
    name: str = ''
    arguments: dict[str, Any] = field(default_factory=dict)
    call: ToolCallResult | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)


def _check_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not messages or len(messages) > MAX_MESSAGES:
        raise InvalidInput(f'A conversation needs 1 to {MAX_MESSAGES} messages. Start a new one.')
    for message in messages:
        if message.get('role') not in ('system', 'user', 'assistant', 'tool'):
            raise InvalidInput('Messages must have the role system, user, assistant or tool.')
        if len(str(message.get('content') or '')) > MAX_MESSAGE_CHARS:
            raise InvalidInput(f'A message is too long (at most {MAX_MESSAGE_CHARS} characters).')
    return [dict(m) for m in messages]


class ToolLoop:
    def __init__(
        self,
        *,
        ollama: OllamaGateway,
        hosts: HostDirectory,
        tools: ToolService,
        activity: ActivityService,
        max_steps: int = 5,
        quotas: QuotaService | None = None,
    ) -> None:
        self.ollama = ollama
        self.hosts = hosts
        self.tools = tools
        self.activity = activity
        self.max_steps = max_steps
        self.quotas = quotas  # checked once per user message, before the first model call of the loop

    async def run(
        self,
        actor_id: int,
        model: str,
        messages: list[dict[str, Any]],
        tool_refs: list[str],
        *,
        options: dict[str, Any] | None = None,
        max_steps: int | None = None,
    ) -> AsyncIterator[LoopEvent]:
        """Run the loop for the last user message. Raises ToolsUnsupported or OllamaError for failures of the model
        call; tool failures are handed to the model as text and shown as failed `result` events."""
        tools = await self.tools.resolve(actor_id, list(tool_refs))
        model = (model or '').strip()
        if not model:
            raise InvalidInput('Choose a model for the conversation.')
        history = _check_messages(messages)
        options = validate_options(options)
        limit = max(1, min(max_steps or self.max_steps, 20))
        by_name = {t.name: t for t in tools}
        specs = [t.spec() for t in tools]
        if self.quotas is not None:
            await self.quotas.check(actor_id)
        host = await self.hosts.host_for_model(model)
        started, step, calls, tokens, error = time.perf_counter(), 0, 0, 0, None
        try:
            while True:
                content: list[str] = []
                requested: list[Any] = []
                try:
                    async for chunk in self.ollama.chat_stream(
                        host, model=model, messages=history, tools=specs, options=options or None
                    ):
                        message = chunk.message
                        if message is not None:
                            if message.thinking:
                                yield LoopEvent(kind='thinking', text=message.thinking, step=step)
                            if message.content:
                                content.append(message.content)
                                yield LoopEvent(kind='delta', text=message.content, step=step)
                            if message.tool_calls:
                                requested.extend(message.tool_calls)
                        if chunk.done:
                            tokens += chunk.eval_count or 0
                except OllamaBadRequest as exc:
                    if 'does not support tools' in (exc.detail or exc.message):
                        raise ToolsUnsupported(
                            f'The model {model} does not support tool calling. Pick a model with the "tools" '
                            'capability (for example llama3.2 or qwen3), or remove the tools.'
                        ) from None
                    raise
                assistant: dict[str, Any] = {'role': 'assistant', 'content': ''.join(content)}
                if requested:
                    assistant['tool_calls'] = [
                        {'function': {'name': c.function.name, 'arguments': dict(c.function.arguments or {})}}
                        for c in requested
                    ]
                history.append(assistant)
                yield LoopEvent(kind='assistant', text=assistant['content'], step=step)
                if not requested:
                    break
                step += 1
                for request in requested:
                    name, args = request.function.name, dict(request.function.arguments or {})
                    calls += 1
                    yield LoopEvent(kind='call', name=name, arguments=args, step=step)
                    tool = by_name.get(name)
                    if tool is None:
                        result = ToolCallResult(
                            name=name,
                            arguments=args,
                            ok=False,
                            error=f'There is no tool named {name}. Available: {", ".join(by_name) or "none"}.',
                        )
                    else:
                        result = await self.tools.execute_tool(actor_id, tool, args)
                    history.append({'role': 'tool', 'tool_name': name, 'content': result.as_text()})
                    yield LoopEvent(kind='result', name=name, arguments=args, call=result, step=step)
                if step >= limit:
                    yield LoopEvent(
                        kind='limit',
                        step=step,
                        text=f'Stopped after {limit} rounds of tool calls: the model kept asking for tools. '
                        'Ask it to answer with what it has, or change the tools.',
                    )
                    break
        except (OllamaError, InvalidInput) as exc:
            error = exc.message
            raise
        finally:
            await self.activity.record(
                actor_id,
                actions.CHAT,
                model=model,
                host=host,
                tokens=tokens,
                latency_ms=(time.perf_counter() - started) * 1000,
                error=error,
                tool_chat=True,
                tool_calls=calls,
                steps=step,
            )
        yield LoopEvent(
            kind='done',
            step=step,
            messages=history,
            metrics={'latency_ms': round((time.perf_counter() - started) * 1000, 1), 'tool_calls': calls},
        )
