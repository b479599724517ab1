"""Tool chat: pick tools, talk to a model, and watch the function-calling loop in a transcript (each call, its
arguments, result or error, and timing). Built on services.tool_loop; the playground can embed `tool_chat_panel`."""

from __future__ import annotations

import json
from typing import Any

from nicegui import APIRouter, ui

from components.chat_view import waiting_text
from components.code_block import code_block
from components.forms import guarded
from components.frame import frame
from components.prompt_editor import chat_model_names
from pages.common import page_user
from services.core import i18n
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.i18n import _
from services.models.errors import OllamaError
from services.tools.library import ToolCallResult
from services.wiring import Services


def create_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.page('/tools/chat')
    async def tool_chat() -> None:
        user = await page_user(services)
        if user is None:
            return
        with frame(services, user, _('Tool chat')):
            await tool_chat_panel(services, user)

    return router


def call_card(name: str, arguments: dict[str, Any], step: int) -> tuple[ui.column, ui.label]:
    with ui.card().classes('w-full bg-gray-50 dark:bg-gray-800').props('flat bordered').mark('transcript-call'):
        with ui.row().classes('items-center gap-2'):
            ui.icon('build', size='sm').classes('text-primary').props('aria-hidden=true')
            ui.label(_('Step {step}: {name}', step=step, name=name)).classes('font-semibold')
            timing = ui.label(_('running…')).classes('text-xs text-gray-700 dark:text-gray-300')
        code_block(json.dumps(arguments, ensure_ascii=False)).classes('w-full text-sm')
        body = ui.column().classes('w-full gap-1')
    return body, timing


def fill_result(body: ui.column, timing: ui.label, result: ToolCallResult) -> None:
    timing.text = _('{ms} ms', ms=i18n.number(result.duration_ms, 0))
    with body:
        if result.ok:
            text = result.result if isinstance(result.result, str) else json.dumps(result.result, ensure_ascii=False)
            ui.label(_('Result')).classes('text-xs text-gray-700 dark:text-gray-300')
            code_block(text[:4000]).classes('w-full text-sm').mark('transcript-result')
        else:
            ui.label(_('Error (sent to the model): {error}', error=_(result.error) if result.error else '')).classes(
                'text-negative text-sm'
            ).mark('transcript-error')


async def tool_chat_panel(services: Services, user: UserInfo) -> None:
    models = await chat_model_names(services, user.id)
    available = await guarded(lambda: services.tools.available(user.id)) or []
    history: list[dict[str, Any]] = []
    with ui.row().classes('w-full items-center gap-3'):
        model = (
            ui.select(models, value=next((m for m in models if m.startswith('llama3')), None), label=_('Model'))
            .props('outlined dense')
            .classes('w-64')
            .mark('chat-model')
        )
        tools = (
            ui.select(
                {t.ref: f'{t.name} ({t.kind})' for t in available},
                value=[],
                multiple=True,
                label=_('Tools the model may call'),
            )
            .props('outlined dense use-chips')
            .classes('grow')
            .mark('chat-tools')
        )

        def new_conversation() -> None:
            history.clear()
            log.clear()
            with log:
                empty()

        ui.button(_('New conversation'), icon='refresh', on_click=new_conversation).props('flat')
    ui.label(
        _(
            'The platform runs the loop: the model asks for tool calls, they run here, the results go back to the '
            'model — at most {count} rounds per message.',
            count=services.tool_loop.max_steps,
        )
    ).classes('text-sm text-gray-700 dark:text-gray-300')

    def empty() -> None:
        ui.label(_('Pick tools, then ask something that needs them, e.g. "What is 1234 * 5678?"')).classes(
            'text-gray-700 dark:text-gray-300'
        )

    log = ui.column().classes('w-full gap-2').mark('tool-chat-log')
    # a live region: screen readers hear the answers and tool calls as they arrive
    log._props.update({'role': 'log', 'aria-live': 'polite', 'aria-label': _('Conversation')})
    with log:
        empty()
    with ui.row().classes('w-full items-end gap-2 no-wrap'):
        text = (
            ui.textarea(placeholder=_('Message (Ctrl+Enter to send)'))
            .props('outlined autogrow')
            .classes('grow')
            .mark('chat-input')
        )
        send = ui.button(icon='send').props('round').mark('chat-send')
        send._props['aria-label'] = _('Send')
        send.tooltip(_('Send'))

    async def submit() -> None:
        message = (text.value or '').strip()
        if not message:
            return
        if not model.value:
            ui.notify(_('Choose a model first.'), type='warning')
            return
        if not history:
            log.clear()
        history.append({'role': 'user', 'content': message})
        text.value = ''
        with log:
            ui.chat_message(message, name=_('You'), sent=True)
        send.disable()
        bubble: ui.markdown | None = None
        content = ''
        cards: dict[int, tuple[ui.column, ui.label]] = {}
        with log:
            status = ui.label().classes('text-sm text-warning').props('role=status').mark('tool-chat-waiting')
        status.set_visibility(False)

        def waiting(ahead: int) -> None:
            status.text = waiting_text(ahead)
            status.set_visibility(True)

        try:
            async for event in services.tool_loop.run(
                user.id, model.value, list(history), list(tools.value or []), on_wait=waiting
            ):
                status.set_visibility(False)
                if event.kind == 'delta':
                    if bubble is None:
                        with log, ui.chat_message(name=model.value).classes('w-full'):
                            bubble = ui.markdown('').mark('assistant-message')
                        content = ''
                    content += event.text
                    bubble.set_content(content)
                elif event.kind == 'assistant':
                    bubble = None
                elif event.kind == 'call':
                    with log:
                        cards[len(cards)] = call_card(event.name, event.arguments, event.step)
                elif event.kind == 'result' and event.call is not None:
                    body, timing = cards[len(cards) - 1]
                    fill_result(body, timing, event.call)
                elif event.kind == 'limit':
                    with log:
                        ui.label(_(event.text)).classes('text-warning font-semibold').mark('step-limit')
                elif event.kind == 'done':
                    history[:] = event.messages
                    with log:
                        calls = event.metrics['tool_calls']
                        ui.label(
                            _(
                                '{count} tool call(s) · {seconds} s',
                                count=calls,
                                seconds=i18n.number(event.metrics['latency_ms'] / 1000, 2),
                            )
                        ).classes('text-xs text-gray-700 dark:text-gray-300')
        except (ServiceError, OllamaError) as exc:
            history.pop()
            if not text.value:  # refused (e.g. a quota): give the message back to edit or resend later
                text.value = message
            with log:
                ui.label(_(exc.message)).classes('text-negative').mark('chat-error')
        finally:
            send.enable()

    send.on_click(submit)
    text.on('keydown.ctrl.enter', submit)
