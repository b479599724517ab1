"""Rendering chat messages, and a live view of a streaming reply whose updates are coalesced.

`StreamingReply` receives every delta but touches the browser at most every `interval` seconds (adaptive: a long reply
whose markdown takes longer to render is refreshed less often), so a 20,000-token reply is not 20,000 websocket
messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from nicegui import ui

from components import format as fmt
from components import image_attach
from services.core import i18n
from services.core.i18n import _

MIN_INTERVAL = 0.05  # seconds between browser updates of one streaming reply


def metrics_text(metrics: dict[str, Any] | None) -> str:
    if not metrics:
        return ''
    rate = metrics.get('tokens_per_s')
    prompt = metrics.get('prompt_tokens')
    return _(
        'first token {first} · {rate} tokens/s · prompt {prompt} · output {output} tokens · total {total}',
        first=fmt.ms(metrics.get('ttft_ms')),
        rate=i18n.number(rate, 1) if rate else '–',
        prompt=i18n.number(prompt) if prompt is not None else '–',
        output=i18n.number(metrics.get('output_tokens', 0)),
        total=fmt.ms(metrics.get('total_ms')),
    )


def user_message(text: str, images: list[tuple[str, str]] = ()) -> ui.row:
    """The user's message; `images`: (source URL, name) of its attached images, shown as thumbnails."""
    with ui.row().classes('w-full justify-end') as row:
        with ui.card().classes('max-w-[80%] bg-blue-50 dark:bg-blue-950 py-2').props('flat'):
            if images:
                image_attach.thumbnails(list(images))
            if text or not images:
                ui.markdown(text).classes('break-words')
    return row


class StreamingReply:
    """One assistant message: thinking (collapsed), the answer as markdown, then metrics and any problem."""

    def __init__(self, model: str = '') -> None:
        self.content: list[str] = []
        self.thinking: list[str] = []
        self._dirty = False
        self._waiting = False
        self._last = 0.0
        self._interval = MIN_INTERVAL
        with ui.card().classes('w-full py-2').props('flat bordered') as self.card:
            with ui.row().classes('w-full items-center gap-2'):
                ui.icon('smart_toy', color='primary').props('aria-hidden=true')
                ui.label(model).classes('text-xs text-gray-700 dark:text-gray-300')
                self.spinner = ui.spinner(size='sm')
                ui.space()
                self.copy = ui.button(icon='content_copy', on_click=self._copy).props('flat round dense')
                self.copy._props['aria-label'] = _('Copy the answer')
                self.copy.tooltip(_('Copy the answer')).mark('chat-copy')
            self.thinking_box = ui.expansion(_('Thinking'), icon='psychology', value=False).classes('w-full text-sm')
            with self.thinking_box:
                self.thinking_md = ui.markdown().classes('text-gray-700 dark:text-gray-300')
            self.thinking_box.set_visibility(False)
            self.answer = ui.markdown().classes('w-full break-words').mark('chat-answer')
            self.notice = ui.label().classes('text-sm text-warning').props('role=status').mark('chat-notice')
            self.notice.set_visibility(False)
            self.metrics = ui.label().classes('text-xs text-gray-700 dark:text-gray-300').mark('chat-metrics')
            self.actions = ui.row().classes('gap-2')

    def waiting(self, ahead: int) -> None:
        """The model call waits for a free slot in the room: say so, and how many calls go first."""
        self.notice.text = waiting_text(ahead)
        self.notice.set_visibility(True)
        self._waiting = True

    def add(self, content: str, thinking: str) -> None:
        if self._waiting:
            self._waiting = False
            self.notice.set_visibility(False)
        if content:
            self.content.append(content)
        if thinking:
            self.thinking.append(thinking)
        self._dirty = True
        if time.perf_counter() - self._last >= self._interval:
            self.flush()

    def flush(self) -> None:
        if not self._dirty:
            return
        started = time.perf_counter()
        thinking = ''.join(self.thinking)
        if thinking:
            self.thinking_box.set_visibility(True)
            self.thinking_md.set_content(thinking)
        self.answer.set_content(''.join(self.content))
        now = time.perf_counter()
        self._interval = max(MIN_INTERVAL, (now - started) * 4)  # rendering big markdown: refresh less often
        self._last, self._dirty = now, False

    def finish(self, message: dict[str, Any]) -> None:
        """Show the saved form of the reply (content, metrics, error/stopped marks)."""
        self.content, self.thinking = [message.get('content', '')], [message.get('thinking', '')]
        self._dirty = True
        self.flush()
        self.spinner.set_visibility(False)
        self.metrics.text = metrics_text(message.get('metrics'))
        problem = ''
        if message.get('stopped'):
            problem = _('Stopped: the answer above is incomplete.')
        elif message.get('error'):
            error = _(message['error'])
            problem = _('The answer above is incomplete. {error}', error=error) if message.get('content') else error
        if problem:
            self.notice.text = problem
            self.notice.set_visibility(True)
            self.card.classes('border-warning')

    def add_action(self, label: str, icon: str, handler: Callable[[], Any], marker: str) -> None:
        with self.actions:
            ui.button(label, icon=icon, on_click=handler).props('dense outline').mark(marker)

    def _copy(self) -> None:
        ui.clipboard.write(''.join(self.content))
        ui.notify(_('Copied.'))


def waiting_text(ahead: int) -> str:
    if ahead <= 0:
        return _('Waiting for a free slot — you are next.')
    return _('Waiting for a free slot — {ahead} ahead of you.', ahead=ahead)


def saved_reply(message: dict[str, Any]) -> StreamingReply:
    reply = StreamingReply(message.get('model', ''))
    reply.finish(message)
    return reply
