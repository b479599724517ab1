"""The function-calling loop: the model asks for tool calls, the platform runs them and sends the results back as
`tool` messages, repeating up to a bound. Every step is yielded as an event, so a page can show a live transcript.

    async for event in services.tool_loop.run(user.id, 'llama3.2', messages, ['builtin:calculator']):
        ...  # event.kind: thinking | delta | assistant | call | result | limit | done
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from services.core import actions
from services.core.activity import ActivityService
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.models.callers import Purpose
from services.models.calls import ModelCalls
from services.models.errors import OllamaBadRequest, OllamaError
from services.tools.library import ToolCallResult, ToolService


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


class ToolLoop:
    def __init__(
        self,
        *,
        calls: ModelCalls,
        tools: ToolService,
        activity: ActivityService,
        max_steps: int = 5,
    ) -> None:
        self.calls = calls  # every round is one model call through the one path (limits, quotas, allowed models)
        self.tools = tools
        self.activity = activity
        self.max_steps = max_steps

    async def run(
        self,
        actor_id: int,
        model: str,
        messages: list[dict[str, Any]],
        tool_refs: list[str],
        *,
        options: dict[str, Any] | None = None,
        max_steps: int | None = None,
        on_wait: Callable[[int], None] | None = None,
    ) -> AsyncIterator[LoopEvent]:
        """Run the loop for the last user message. Raises ToolsUnsupported or OllamaError for failures of the model
        call; tool failures are handed to the model as text and shown as failed `result` events."""
        tools = await self.tools.resolve(actor_id, list(tool_refs))
        model = (model or '').strip()
        if not model:
            raise InvalidInput(N_('Choose a model for the conversation.'))
        history = [dict(m) for m in messages]  # sizes and roles are checked by the model-call path
        self.calls.check_messages(history)
        limit = max(1, min(max_steps or self.max_steps, 20))
        by_name = {t.name: t for t in tools}
        specs = [t.spec() for t in tools]
        caller = await self.calls.caller(actor_id)
        options = await self.calls.check_options(caller, options)  # the caller's rules, before the loop starts
        await self.calls.admit(caller, Purpose.TOOL_ROUND, model)  # refusals before the loop starts
        host = ''  # the host of the last round (each round is routed to the least busy host that has the model)
        started, step, calls, tokens, error = time.perf_counter(), 0, 0, 0, None
        try:
            while True:
                content: list[str] = []
                requested: list[Any] = []
                stream = await self.calls.chat_stream(
                    caller,
                    Purpose.TOOL_ROUND,
                    model=model,
                    messages=history,
                    tools=specs,
                    options=options or None,
                    on_wait=on_wait,
                )
                host = stream.host
                try:
                    async for chunk in stream:
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
                            N_(
                                'The model {model} does not support tool calling. Pick a model with the "tools" '
                                'capability (for example llama3.2 or qwen3), or remove the tools.',
                                model=model,
                            )
                        ) from None
                    raise
                finally:
                    await stream.aclose()
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
                        text=N_(
                            'Stopped after {limit} rounds of tool calls: the model kept asking for tools. Ask it '
                            'to answer with what it has, or change the tools.',
                            limit=limit,
                        ),
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
                host=host or None,
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
