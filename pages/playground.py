"""Playground: chat with a model live. The page only renders; `services.chat.conversations` streams and saves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from nicegui import APIRouter, background_tasks, ui

from components import image_attach
from components.chat_view import StreamingReply, saved_reply, user_message
from components.code_dialog import code_button
from components.forms import confirm, error_label, guarded
from components.frame import frame
from pages import conversation_files
from pages.common import page_user
from pages.tool_chat import call_card, fill_result
from services.chat.conversations import ChatDelta, ChatResult, ConversationView, message_of
from services.chat.images import ACCEPT, MAX_IMAGES
from services.chat.tool_loop import LoopEvent
from services.core import i18n
from services.core.auth import Role, UserInfo
from services.core.errors import ServiceError
from services.core.i18n import N_, _
from services.models.callers import is_staff
from services.models.errors import OllamaError
from services.tools.library import ToolCallResult
from services.wiring import Services

FORMATS = {'': N_('Text'), 'json': N_('JSON mode'), 'schema': N_('JSON schema')}


def create_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.page('/playground')
    async def new_chat(model: str = '') -> None:
        user = await page_user(services)
        if user is not None:
            await Playground(services, user).build(None, model)

    @router.page('/playground/{conversation_id}')
    async def continue_chat(conversation_id: int) -> None:
        user = await page_user(services)
        if user is None:
            return
        try:
            conversation = await services.chat.get_conversation(user.id, conversation_id)
        except ServiceError as exc:
            with frame(services, user, _('Playground')):
                ui.label(_(exc.message)).classes('text-lg')
                ui.link(_('Start a new chat'), '/playground')
            return
        await Playground(services, user).build(conversation, '')

    return router


class Playground:
    """One browser tab's playground state."""

    def __init__(self, services: Services, user: UserInfo) -> None:
        self.services = services
        self.user = user
        self.conversation: ConversationView | None = None
        self.task: asyncio.Task | None = None
        # the user's message (its bubble, text and images) while a tool reply is pending
        self._unsent: tuple[ui.row | None, str, list] = (None, '', [])
        self.client = ui.context.client

    async def build(self, conversation: ConversationView | None, model: str) -> None:
        self.conversation = conversation
        with frame(self.services, self.user, _('Playground')):
            with ui.row().classes('w-full no-wrap items-start gap-4'):
                with ui.column().classes('w-64 shrink-0 gap-1'):
                    ui.button(_('New chat'), icon='add', on_click=lambda: ui.navigate.to('/playground')).props(
                        'outline'
                    ).classes('w-full').mark('chat-new')
                    self.conversation_list = ui.column().classes('w-full gap-0')
                    await self.refresh_list()
                with ui.column().classes('grow gap-2 min-w-0'):
                    await self._settings(conversation, model)
                    self.messages = ui.column().classes('w-full gap-2').mark('chat-messages')
                    # a live region: screen readers hear each answer as it streams in
                    self.messages._props.update({'role': 'log', 'aria-live': 'polite', 'aria-label': _('Conversation')})
                    with self.messages:
                        if conversation is not None:
                            for message in conversation.messages:
                                self._render_saved(message)
                        else:
                            self.empty = ui.label(_('Say hello: type a message below and press Ctrl+Enter.'))
                            self.empty.classes('text-gray-700 dark:text-gray-300')
                    self._composer()

    # ----- settings ------------------------------------------------------------------------------------------------
    async def _settings(self, conversation: ConversationView | None, model: str) -> None:
        choices = [m.name for m in await self.services.catalogue.chat_models(self.user.id)]
        current = conversation.model if conversation else (model or next(iter(choices), None))
        if current and current not in choices:
            choices.append(current)
        settings = conversation.settings if conversation else None
        options = settings.options if settings else {}
        with ui.row().classes('w-full items-center gap-2'):
            self.model = ui.select(choices, value=current, label=_('Model'), with_input=True).props('outlined dense')
            self.model.classes('w-72').mark('chat-model')
            if not choices:
                ui.label(_('No chat model is available yet.')).classes('text-sm text-gray-700 dark:text-gray-300')
            available = await guarded(lambda: self.services.tools.available(self.user.id)) or []
            last = (
                next((m for m in reversed(conversation.messages) if m.get('role') == 'assistant'), {})
                if conversation
                else {}
            )
            picked = [ref for ref in last.get('tools') or [] if ref in {t.ref for t in available}]
            self.tools = ui.select(
                {t.ref: f'{t.name} ({t.kind})' for t in available},
                value=picked,
                multiple=True,
                label=_('Tools (function calling)'),
            )
            self.tools.props('outlined dense use-chips clearable').classes('w-80').mark('chat-tools')
            self.tools.tooltip(
                _(
                    'Let the model call these tools: the platform runs each call and shows it in the conversation. '
                    'The model needs the "tools" capability.'
                )
            )
            self.title = ui.label(conversation.title if conversation else '').classes('text-lg font-semibold')
            if conversation is not None:
                conversation_files.export_menu(self.services, self.user, conversation.id)

        allowed = await self.services.catalogue.allowed_for(self.user.id)  # a workshop's models, for every refresh

        def update_choices(_view: Any) -> None:
            fresh = self.services.catalogue.chat_names(_view, allowed)
            self.model.set_options(list(dict.fromkeys([*fresh, *([self.model.value] if self.model.value else [])])))

        self.services.catalogue.changed.subscribe(update_choices)
        with ui.expansion(_('System prompt and options'), icon='tune').classes('w-full').props('dense'):
            self.system = ui.textarea(_('System prompt'), value=conversation.system_prompt if conversation else '')
            self.system.props('outlined autogrow').classes('w-full').mark('chat-system')
            with ui.row().classes('w-full gap-2'):
                self.fields = {
                    'temperature': ui.number(
                        _('Temperature'), min=0, max=2, step=0.1, value=options.get('temperature')
                    ),
                    'top_p': ui.number('top_p', min=0, max=1, step=0.05, value=options.get('top_p')),
                    'top_k': ui.number('top_k', min=1, max=1000, step=1, value=options.get('top_k')),
                    'num_ctx': ui.number('num_ctx', min=256, max=131072, step=256, value=options.get('num_ctx')),
                    'num_predict': ui.number('num_predict', min=-1, max=32768, value=options.get('num_predict')),
                    'seed': ui.number(_('Seed'), step=1, value=options.get('seed')),
                }
                for name, element in self.fields.items():
                    element.props('outlined dense clearable').classes('w-32').mark(f'opt-{name}')
            with ui.row().classes('w-full gap-2 items-center'):
                self.stop = ui.input_chips(_('Stop sequences'), value=options.get('stop') or []).props('outlined dense')
                self.stop.classes('w-72').mark('opt-stop')
                keep_alive = settings.keep_alive if settings else None
                self.keep_alive = ui.input('keep_alive', placeholder='5m', value=str(keep_alive or ''))
                self.keep_alive.props('outlined dense').classes('w-32').mark('opt-keep_alive')
                self.keep_alive.tooltip(_('How long the model stays loaded on its host after a reply (for everyone).'))
                self.keep_alive.set_visibility(is_staff(self.user.role))  # instructors and admins only
                self.think = ui.switch(_('Show thinking'), value=settings.think if settings else True)
                fmt = settings.format if settings else None
                self.format = ui.select(
                    {k: _(v) for k, v in FORMATS.items()},
                    value='schema' if isinstance(fmt, dict) else (fmt or ''),
                    label=_('Answer format'),
                )
                self.format.props('outlined dense').classes('w-40').mark('opt-format')
            self.schema = ui.textarea(
                _('JSON schema'), value=json.dumps(fmt, indent=2) if isinstance(fmt, dict) else ''
            )
            self.schema.props('outlined autogrow').classes('w-full font-mono').mark('opt-schema')
            self.schema.bind_visibility_from(self.format, 'value', value='schema')

    def _settings_dict(self) -> dict[str, Any]:
        options = {name: element.value for name, element in self.fields.items()}
        options['stop'] = list(self.stop.value or [])
        fmt = self.format.value or None
        return {
            'options': options,
            'keep_alive': ((self.keep_alive.value or '').strip() or None) if self.keep_alive.visible else None,
            'format': self.schema.value if fmt == 'schema' else fmt,
            'think': self.think.value,
        }

    # ----- composer ------------------------------------------------------------------------------------------------
    def _composer(self) -> None:
        previews = ui.row().classes('w-full')
        with ui.row().classes('w-full items-end gap-2 no-wrap'):
            self.prompt = ui.textarea(placeholder=_('Your message (Ctrl+Enter sends)')).props('outlined autogrow')
            self.prompt.classes('grow').mark('chat-input')
            self.prompt._props['aria-label'] = _('Your message')
            self.prompt.on('keydown.ctrl.enter', self.send)
            self.prompt.on('keydown.meta.enter', self.send)
            images = self.services.chat.images
            self.attach = image_attach.create(
                images.check, accept=ACCEPT, max_images=MAX_IMAGES, max_bytes=images.max_bytes, max_mb=images.max_mb
            )
            with previews:
                self.attach.preview_area()
            with ui.column().classes('gap-1'):
                self.send_button = ui.button(_('Send'), icon='send', on_click=self.send).mark('chat-send')
                self.stop_button = ui.button(_('Stop'), icon='stop', color='negative', on_click=self.stop_reply)
                self.stop_button.mark('chat-stop').set_visibility(False)
        with ui.row().classes('gap-2'):
            ui.button(_('Regenerate last answer'), icon='autorenew', on_click=self.regenerate).props('flat dense').mark(
                'chat-regenerate'
            )
            code_button(self.python_script)
        self.error = error_label()

    async def python_script(self):
        return await self.services.scripts.chat.script(self.user.id, self.conversation and self.conversation.id)

    async def _ensure_conversation(self) -> bool:
        """Create the conversation on the first message; save changed settings before every message."""
        self.error.set_visibility(False)
        try:
            if self.conversation is None:
                self.conversation = await self.services.chat.create_conversation(
                    self.user.id, self.model.value, self.system.value, self._settings_dict()
                )
                ui.navigate.history.replace(f'/playground/{self.conversation.id}')
                await self.refresh_list()
            else:
                self.conversation = await self.services.chat.update_conversation(
                    self.user.id,
                    self.conversation.id,
                    model=self.model.value,
                    system_prompt=self.system.value,
                    settings=self._settings_dict(),
                )
        except ServiceError as exc:
            self.error.text = _(exc.message)
            self.error.set_visibility(True)
            return False
        return True

    async def send(self) -> None:
        text = (self.prompt.value or '').strip()
        if self.busy or not (text or self.attach.pending):
            if not text:
                ui.notify(_('Type a message first.'))
            return
        if not await self._ensure_conversation():
            return
        self.prompt.value = ''
        if getattr(self, 'empty', None) is not None:
            self.empty.delete()
            self.empty = None
        images = self.attach.take()
        with self.messages:
            bubble = user_message(text, [(image_attach.data_url(i.type, i.data), i.name) for i in images])
        tools = list(self.tools.value or [])
        if tools:
            self._unsent = (bubble, text, images)
            self._start_tools(
                lambda on_wait: self.services.chat.send_with_tools(
                    self.user.id, self.conversation.id, text, tools, on_wait=on_wait, images=images
                )
            )
            return
        self._start(
            lambda on_wait: self.services.chat.send(
                self.user.id, self.conversation.id, text, on_wait=on_wait, images=images
            ),
            (bubble, text, images),
        )

    async def regenerate(self) -> None:
        if self.busy or self.conversation is None:
            return
        if not await self._ensure_conversation():
            return
        # the last answer is replaced: drop its rendering
        children = list(self.messages.default_slot.children)
        if children and isinstance(getattr(children[-1], 'reply', None), StreamingReply):
            children[-1].delete()
        self._start(lambda on_wait: self.services.chat.regenerate(self.user.id, self.conversation.id, on_wait=on_wait))

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    def _start(self, make_stream: Callable[..., Any], unsent: tuple[ui.row, str, list] | None = None) -> None:
        """Show a reply card and stream into it; `make_stream(on_wait)` starts the reply (waiting shows in the card)."""
        with self.messages:
            holder = ui.column().classes('w-full')
            with holder:
                reply = StreamingReply(self.model.value or '')
            holder.reply = reply  # type: ignore[attr-defined]
        stream = make_stream(reply.waiting)
        self.send_button.set_visibility(False)
        self.stop_button.set_visibility(True)
        self.task = background_tasks.create(self._consume(stream, reply, holder, unsent), name='playground-reply')
        ui.context.client.on_delete(self.task.cancel)  # leaving the page stops the reply (saved as stopped)

    async def _consume(
        self, stream, reply: StreamingReply, holder: ui.column, unsent: tuple[ui.row, str, list] | None
    ) -> None:
        result: ChatResult | None = None
        try:
            async for event in stream:
                if isinstance(event, ChatDelta):
                    reply.add(event.content, event.thinking)
                else:
                    result = event
        except asyncio.CancelledError:
            if self.client.is_deleted:
                raise
            reply.finish({'content': ''.join(reply.content), 'thinking': ''.join(reply.thinking), 'stopped': True})
        except ServiceError as exc:  # refused before anything was sent: nothing was saved, give the text back
            holder.delete()
            if unsent is not None:
                unsent[0].delete()
                self.prompt.value = unsent[1]
                self.attach.give_back(unsent[2])
            self.error.text = _(exc.message)
            self.error.set_visibility(True)
        else:
            if result is not None:
                self._finish(reply, message_of(result))
        finally:
            if not self.client.is_deleted:
                self.send_button.set_visibility(True)
                self.stop_button.set_visibility(False)
                await self.refresh_list()

    # ----- replies with tools (the function-calling loop) ----------------------------------------------------------
    def _start_tools(self, make_stream: Callable[..., Any]) -> None:
        with self.messages:
            holder = ui.column().classes('w-full gap-2')
            with holder:
                calls = ui.column().classes('w-full gap-2')
                reply = StreamingReply(self.model.value or '')
            holder.reply = reply  # type: ignore[attr-defined]
        stream = make_stream(reply.waiting)
        self.send_button.set_visibility(False)
        self.stop_button.set_visibility(True)
        self.task = background_tasks.create(self._consume_tools(stream, reply, holder, calls), name='playground-tools')
        ui.context.client.on_delete(self.task.cancel)

    async def _consume_tools(self, stream, reply: StreamingReply, holder: ui.column, calls: ui.column) -> None:
        cards: list[tuple[ui.column, ui.label]] = []
        done = False
        try:
            async for event in stream:
                event: LoopEvent
                if event.kind in ('delta', 'thinking'):
                    reply.add(
                        event.text if event.kind == 'delta' else '', event.text if event.kind == 'thinking' else ''
                    )
                elif event.kind == 'assistant' and event.text.strip():
                    reply.add('\n\n', '')
                elif event.kind == 'call':
                    with calls:
                        cards.append(call_card(event.name, event.arguments, event.step))
                elif event.kind == 'result' and event.call is not None and cards:
                    fill_result(*cards[-1], event.call)
                elif event.kind == 'done':
                    done = True
        except asyncio.CancelledError:
            if self.client.is_deleted:
                raise
            reply.finish({'content': ''.join(reply.content), 'stopped': True})
        except (ServiceError, OllamaError) as exc:  # refused or failed: nothing was saved, give the text back
            holder.delete()
            bubble, text, images = self._unsent
            if bubble is not None:
                bubble.delete()
                self.prompt.value = text
                self.attach.give_back(images)
            self.error.text = _(exc.message)
            self.error.set_visibility(True)
        else:
            if done:
                saved = await guarded(lambda: self.services.chat.get_conversation(self.user.id, self.conversation.id))
                message = saved.messages[-1] if saved and saved.messages else {}
                reply.finish(message)
                self._show_notice(reply, message)
        finally:
            self._unsent = (None, '', [])
            if not self.client.is_deleted:
                self.send_button.set_visibility(True)
                self.stop_button.set_visibility(False)
                await self.refresh_list()

    @staticmethod
    def _show_notice(reply: StreamingReply, message: dict[str, Any]) -> None:
        """What is particular to a reply made with tools: the step-limit notice and the number of calls."""
        if 'tool_transcript' not in message:
            return
        if message.get('notice') and not message.get('stopped'):
            reply.notice.text = _(message['notice'])
            reply.notice.set_visibility(True)
        total = (message.get('metrics') or {}).get('total_ms') or 0
        count = len(message['tool_transcript'])
        reply.metrics.text = _(
            '{count} tool call(s) · total {seconds} s', count=count, seconds=i18n.number(total / 1000, 2)
        )

    @staticmethod
    def _render_transcript(message: dict[str, Any]) -> None:
        for call in message.get('tool_transcript') or []:
            body, timing = call_card(call.get('name', ''), call.get('arguments') or {}, call.get('step', 0))
            result = ToolCallResult(
                name=call.get('name', ''),
                arguments=call.get('arguments') or {},
                ok=bool(call.get('ok')),
                result=call.get('result'),
                error=call.get('error'),
                duration_ms=call.get('duration_ms') or 0.0,
            )
            fill_result(body, timing, result)

    def _finish(self, reply: StreamingReply, message: dict[str, Any]) -> None:
        reply.finish(message)
        kind = message.get('error_kind')
        if kind in ('busy', 'unreachable', 'stream_error', 'timeout'):
            reply.add_action(_('Retry'), 'refresh', self.regenerate, 'chat-retry')
        if kind == 'model_not_found':
            if self.user.at_least(Role.INSTRUCTOR):
                model = message.get('model', '')
                reply.add_action(
                    _('Pull {model}', model=model),
                    'download',
                    lambda: ui.navigate.to(f'/models?pull={model}'),
                    'chat-pull',
                )
            else:
                reply.notice.text = _('{problem} Ask your instructor to pull it.', problem=reply.notice.text)

    def _render_saved(self, message: dict[str, Any]) -> None:
        if message.get('role') == 'user':
            base = f'/playground/{self.conversation.id}/images' if self.conversation else ''
            shown = [(f'{base}/{r.get("file")}', r.get('name') or _('image')) for r in message.get('images') or []]
            user_message(message.get('content', ''), shown)
            return
        holder = ui.column().classes('w-full gap-2')
        with holder:
            self._render_transcript(message)
            reply = saved_reply(message)
            self._show_notice(reply, message)
        holder.reply = reply  # type: ignore[attr-defined]

    async def stop_reply(self) -> None:
        if self.busy:
            self.task.cancel()

    # ----- conversation list ---------------------------------------------------------------------------------------
    async def refresh_list(self) -> None:
        try:
            items = await self.services.chat.list_conversations(self.user.id)
        except ServiceError:
            return
        self.conversation_list.clear()
        with self.conversation_list:
            ui.label(_('Your conversations')).classes('text-sm text-gray-700 dark:text-gray-300 mt-2')
            with ui.row().classes('w-full gap-1'):
                if items:
                    conversation_files.export_menu(self.services, self.user, None)
                conversation_files.import_button(self.services, self.user, self.refresh_list)
            if not items:
                ui.label(_('None yet.')).classes('text-sm text-gray-700 dark:text-gray-300')
            for item in items:
                current = self.conversation is not None and item.id == self.conversation.id
                with ui.row().classes('w-full items-center no-wrap gap-0'):
                    link = ui.link(item.title, f'/playground/{item.id}').classes('grow truncate text-sm')
                    link.classes('font-semibold' if current else 'text-inherit no-underline').mark(f'conv-{item.id}')
                    rename = ui.button(icon='edit', on_click=lambda item=item: self.rename(item.id, item.title))
                    rename.props('flat round dense size=sm').mark(f'rename-{item.id}')
                    rename._props['aria-label'] = _('Rename {title}', title=item.title)
                    rename.tooltip(_('Rename'))
                    delete = ui.button(icon='delete', on_click=lambda item=item: self.delete(item.id, item.title))
                    delete.props('flat round dense size=sm').mark(f'delete-conv-{item.id}')
                    delete._props['aria-label'] = _('Delete {title}', title=item.title)
                    delete.tooltip(_('Delete'))

    async def rename(self, conversation_id: int, title: str) -> None:
        with ui.dialog() as dialog, ui.card().classes('w-96 gap-2'):
            dialog._props['aria-label'] = _('Rename conversation')
            ui.label(_('Rename conversation')).classes('text-lg font-semibold')
            name = ui.input(_('Title'), value=title).props('outlined autofocus').classes('w-full').mark('rename-title')
            name.on('keydown.enter', lambda: dialog.submit(name.value))
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Cancel'), on_click=lambda: dialog.submit(None)).props('flat')
                ui.button(_('Rename'), on_click=lambda: dialog.submit(name.value)).mark('rename-save')
        new = await dialog
        if new is None:
            return
        await guarded(lambda: self.services.chat.rename(self.user.id, conversation_id, new), success=_('Renamed.'))
        if self.conversation is not None and self.conversation.id == conversation_id:
            self.title.text = ' '.join(new.split())
        await self.refresh_list()

    async def delete(self, conversation_id: int, title: str) -> None:
        if not await confirm(
            _('Delete this conversation?'), _('"{title}" and all its messages will be deleted.', title=title)
        ):
            return
        await guarded(
            lambda: self.services.chat.delete_conversation(self.user.id, conversation_id),
            success=_('Conversation deleted.'),
        )
        if self.conversation is not None and self.conversation.id == conversation_id:
            ui.navigate.to('/playground')
            return
        await self.refresh_list()
