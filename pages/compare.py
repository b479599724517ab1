"""Side by side: one prompt to 2-4 models at once, streaming in columns with their metrics; mark the better one."""

from __future__ import annotations

import asyncio

from nicegui import APIRouter, background_tasks, ui

from components.chat_view import StreamingReply
from components.forms import error_label, guarded
from components.frame import frame
from pages.common import page_user
from services.chat.conversations import ChatDelta, message_of
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.i18n import _
from services.wiring import Services


def create_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.page('/compare')
    async def compare_page() -> None:
        user = await page_user(services)
        if user is not None:
            await Compare(services, user).build()

    return router


class Compare:
    def __init__(self, services: Services, user: UserInfo) -> None:
        self.services = services
        self.user = user
        self.tasks: list[asyncio.Task] = []
        self.comparison_id: int | None = None
        self.client = ui.context.client

    async def build(self) -> None:
        choices = [m.name for m in await self.services.catalogue.chat_models(self.user.id)]
        with frame(self.services, self.user, _('Compare models')):
            ui.label(_('Send one prompt to 2 to 4 models at once and mark the better answer.')).classes(
                'text-gray-700 dark:text-gray-300'
            )
            self.models = ui.select(choices, multiple=True, value=choices[:2], label=_('Models (2 to 4)'))
            self.models.props('outlined dense use-chips').classes('w-full').mark('compare-models')
            with ui.row().classes('w-full items-end no-wrap gap-2'):
                self.prompt = ui.textarea(placeholder=_('The prompt (Ctrl+Enter runs)')).props('outlined autogrow')
                self.prompt.classes('grow').mark('compare-prompt')
                self.prompt.on('keydown.ctrl.enter', self.run)
                self.run_button = ui.button(_('Run'), icon='play_arrow', on_click=self.run).mark('compare-run')
                self.stop_button = ui.button(_('Stop'), icon='stop', color='negative', on_click=self.stop)
                self.stop_button.mark('compare-stop').set_visibility(False)
            self.error = error_label()
            self.columns = ui.grid(columns=2).classes('w-full gap-2')
            # a live region: screen readers hear the answers as they stream in
            self.columns._props.update({'role': 'region', 'aria-live': 'polite', 'aria-label': _('Answers')})
            ui.label(_('Better answers so far')).classes('text-lg font-semibold mt-4')
            self.counts = ui.column().classes('gap-0').props('aria-live=polite')
            await self.show_counts()

    async def show_counts(self) -> None:
        counts = await guarded(lambda: self.services.chat.win_counts(self.user.id)) or {}
        self.counts.clear()
        with self.counts:
            if not counts:
                ui.label(_('No answer has been marked yet.')).classes('text-sm text-gray-700 dark:text-gray-300')
            for model, count in counts.items():
                ui.label(_('{model}: {count}', model=model, count=count)).classes('text-sm').mark(f'count-{model}')

    async def run(self) -> None:
        if any(not t.done() for t in self.tasks):
            return
        models = list(self.models.value or [])
        try:
            self.comparison_id = await self.services.chat.start_comparison(self.user.id, self.prompt.value, models)
        except ServiceError as exc:
            self.error.text = _(exc.message)
            self.error.set_visibility(True)
            return
        self.error.set_visibility(False)
        self.columns.clear()
        self.columns.props(f'columns={len(models)}')
        self.columns._props['columns'] = len(models)
        self.tasks = []
        for index, model in enumerate(models):
            with self.columns, ui.column().classes('w-full min-w-0'):
                reply = StreamingReply(model)
            stream = self.services.chat.compare_stream(self.user.id, self.comparison_id, index, on_wait=reply.waiting)
            self.tasks.append(background_tasks.create(self._consume(stream, reply, model), name='compare'))
        for task in self.tasks:
            ui.context.client.on_delete(task.cancel)
        self.run_button.set_visibility(False)
        self.stop_button.set_visibility(True)

    async def _consume(self, stream, reply: StreamingReply, model: str) -> None:
        comparison_id = self.comparison_id
        try:
            async for event in stream:
                if isinstance(event, ChatDelta):
                    reply.add(event.content, event.thinking)
                else:
                    reply.finish(message_of(event))
        except asyncio.CancelledError:
            if self.client.is_deleted:
                raise
            reply.finish({'content': ''.join(reply.content), 'thinking': ''.join(reply.thinking), 'stopped': True})
        except ServiceError as exc:
            reply.finish({'error': _(exc.message)})
        finally:
            if not self.client.is_deleted:
                self._done(reply, comparison_id, model)

    def _done(self, reply: StreamingReply, comparison_id: int | None, model: str) -> None:
        reply.add_action(
            _('This one is better'), 'thumb_up', lambda: self.mark(comparison_id, model), f'better-{model}'
        )
        if all(t.done() or t is asyncio.current_task() for t in self.tasks):
            self.run_button.set_visibility(True)
            self.stop_button.set_visibility(False)

    async def mark(self, comparison_id: int | None, model: str) -> None:
        if comparison_id is None:
            return
        await guarded(
            lambda: self.services.chat.mark_better(self.user.id, comparison_id, model),
            success=_('Marked {model} as the better answer.', model=model),
        )
        await self.show_counts()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
