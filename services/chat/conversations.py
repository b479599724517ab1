"""Chat: stream a reply from Ollama as deltas plus final metrics, keep conversations, record every reply.

The playground page, the side-by-side page and the REST API all use the same code path:

    async for event in services.chat.send(user_id, conversation_id, 'Hello'):
        if isinstance(event, ChatDelta): ...      # content / thinking text as it arrives
        else: ...                                 # ChatResult: the whole reply, metrics, error (partial kept)

Cancelling the consuming task (a Stop button) closes the Ollama stream, so Ollama sees the disconnect and stops; the
partial reply is saved, marked as stopped, and recorded in the activity log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Any

from models import Comparison, Conversation
from services.chat.images import ChatImages, ImageUpload
from services.chat.tool_loop import LoopEvent, ToolLoop
from services.chat.types import (
    MAX_TITLE,
    ChatDelta,
    ChatMetrics,
    ChatResult,
    ChatSettings,
    ConversationSummary,
    ConversationView,
    build_result,
    clean_system,
    conversation_view,
    history_of,
    message_of,
)
from services.core import actions
from services.core.activity import ActivityService
from services.core.auth import AuthService, UserInfo
from services.core.batching import WriteBatcher
from services.core.errors import InvalidInput, NotFound
from services.core.i18n import N_
from services.models.callers import Purpose, is_staff
from services.models.calls import ModelCalls
from services.models.catalogue import Catalogue
from services.models.errors import OllamaError

log = logging.getLogger(__name__)

__all__ = [
    'ChatDelta',
    'ChatMetrics',
    'ChatResult',
    'ChatService',
    'ChatSettings',
    'ConversationSummary',
    'ConversationView',
    'message_of',
]


class ChatService:
    def __init__(
        self,
        calls: ModelCalls,
        auth: AuthService,
        activity: ActivityService,
        catalogue: Catalogue,
        tool_loop: ToolLoop,
        images: ChatImages,
    ) -> None:
        self.calls = calls  # every reply goes through the one model-call path (limits, quotas, allowed models)
        self.auth = auth
        self.activity = activity
        self.catalogue = catalogue
        self.tool_loop = tool_loop  # replies that may call tools
        self.images = images  # images attached to messages, for models with vision
        self._compare_lock = asyncio.Lock()
        self.writes = WriteBatcher()

    # ----- conversations -------------------------------------------------------------------------------------------
    async def list_conversations(self, actor_id: int) -> list[ConversationSummary]:
        return (await self.page_conversations(actor_id, limit=200))[0]

    async def page_conversations(
        self, actor_id: int, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[ConversationSummary], int]:
        """The actor's conversations, most recently used first, and how many there are."""
        user = await self.auth.require(actor_id)
        query = Conversation.filter(owner_id=user.id)
        rows = await query.order_by('-updated_at').offset(offset).limit(limit)
        summaries = [
            ConversationSummary(
                id=r.id, title=r.title, model=r.model, updated_at=r.updated_at, message_count=len(r.messages or [])
            )
            for r in rows
        ]
        return summaries, await query.count()

    async def _owned(self, user_id: int, conversation_id: int) -> Conversation:
        row = await Conversation.get_or_none(id=conversation_id, owner_id=user_id)
        if row is None:
            log.warning('user %s refused: conversation %s is not theirs or does not exist', user_id, conversation_id)
            raise NotFound(N_('That conversation does not exist (or is not yours).'))
        return row

    async def _owned_by_active(self, actor_id: int, conversation_id: int) -> Conversation:
        """The actor's conversation in ONE query that also checks the owner is active (the same rule as
        `auth.require(actor_id)`, whose least role every user has): the hot path before each reply."""
        row = await Conversation.get_or_none(id=conversation_id, owner_id=actor_id, owner__is_active=True)
        if row is None:
            await self.auth.require(actor_id)  # not signed in / deactivated -> NotAuthenticated
            log.warning('user %s refused: conversation %s is not theirs or does not exist', actor_id, conversation_id)
            raise NotFound(N_('That conversation does not exist (or is not yours).'))
        return row

    async def get_conversation(self, actor_id: int, conversation_id: int) -> ConversationView:
        user = await self.auth.require(actor_id)
        return conversation_view(await self._owned(user.id, conversation_id))

    async def create_conversation(
        self, actor_id: int, model: str, system_prompt: str = '', settings: dict[str, Any] | None = None
    ) -> ConversationView:
        user = await self.auth.require(actor_id)
        await self._check_chat_model(user.id, model)
        checked = await self._settings(user, settings)
        row = await Conversation.create(
            owner_id=user.id, model=model, system_prompt=clean_system(system_prompt), options=checked.to_dict()
        )
        return conversation_view(row)

    async def update_conversation(
        self,
        actor_id: int,
        conversation_id: int,
        *,
        model: str | None = None,
        system_prompt: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> ConversationView:
        user = await self.auth.require(actor_id)
        row = await self._owned(user.id, conversation_id)
        if model is not None:
            await self._check_chat_model(user.id, model)
            row.model = model
        if system_prompt is not None:
            row.system_prompt = clean_system(system_prompt)
        if settings is not None:
            row.options = (await self._settings(user, settings)).to_dict()
        await row.save()
        return conversation_view(row)

    async def rename(self, actor_id: int, conversation_id: int, title: str) -> None:
        user = await self.auth.require(actor_id)
        row = await self._owned(user.id, conversation_id)
        title = ' '.join((title or '').split())
        if not 1 <= len(title) <= MAX_TITLE:
            raise InvalidInput(N_('A title needs 1 to {MAX_TITLE} characters.', MAX_TITLE=MAX_TITLE))
        row.title = title
        await row.save(update_fields=['title', 'updated_at'])

    async def delete_conversation(self, actor_id: int, conversation_id: int) -> None:
        user = await self.auth.require(actor_id)
        row = await self._owned(user.id, conversation_id)
        await row.delete()
        self.images.remove_conversation(row.id)

    # ----- replies -------------------------------------------------------------------------------------------------
    async def _settings(self, user: UserInfo, raw: dict[str, Any] | None) -> ChatSettings:
        """Settings checked as every call will be: the one options table and the admin's ranges, and host-level
        options and keep_alive only from instructors and admins (an attendee cannot store them in a conversation)."""
        caps = await self.calls.option_caps.current()
        return ChatSettings.validated(raw, staff=is_staff(user.role), caps=caps)

    def _check_prompt(self, prompt: str, what: str = 'message') -> str:
        prompt = (prompt or '').strip()
        if not prompt:
            raise InvalidInput(N_('Type a message first.'))
        limit = self.calls.limits.max_prompt_chars
        if len(prompt) > limit:
            raise InvalidInput(N_('The {what} is too long (at most {limit:,} characters).', what=what, limit=limit))
        return prompt

    async def send(
        self,
        actor_id: int,
        conversation_id: int,
        prompt: str,
        *,
        purpose: Purpose = Purpose.PLAYGROUND,
        on_wait: Callable[[int], None] | None = None,
        images: Sequence[ImageUpload] = (),
    ) -> AsyncIterator[ChatDelta | ChatResult]:
        """Add the user's message (with `images` for a model with vision) and stream the reply; both are saved when
        the reply ends, fails or is stopped. `purpose`: the playground page, or a conversation message through the
        REST API."""
        row = await self._owned_by_active(actor_id, conversation_id)
        message = await self._user_message(actor_id, row, prompt, images)
        messages = [*(row.messages or []), message]
        started = False
        try:
            async with aclosing(self._reply(actor_id, row, messages, purpose, on_wait)) as events:
                async for event in events:
                    started = True
                    yield event
        except Exception:
            if not started:  # refused before anything was sent: nothing is saved, nor are its images kept
                self.images.remove(row.id, message.get('images') or [])
            raise

    async def _user_message(
        self, actor_id: int, row: Conversation, prompt: str, images: Sequence[ImageUpload]
    ) -> dict[str, Any]:
        """The user's message; its images checked (type, size, a model with vision) and stored."""
        prompt = self._check_prompt(prompt) if (prompt or '').strip() or not images else ''
        message: dict[str, Any] = {'role': 'user', 'content': prompt}
        refs = await self.images.attach(actor_id, row.id, row.model, images)
        if refs:
            message['images'] = refs
        return message

    async def regenerate(
        self,
        actor_id: int,
        conversation_id: int,
        *,
        purpose: Purpose = Purpose.PLAYGROUND,
        on_wait: Callable[[int], None] | None = None,
    ) -> AsyncIterator[ChatDelta | ChatResult]:
        """Answer the last user message again (replacing the last answer, or a failed one: the retry)."""
        row = await self._owned_by_active(actor_id, conversation_id)
        messages = list(row.messages or [])
        while messages and messages[-1].get('role') == 'assistant':
            messages.pop()
        if not messages:
            raise InvalidInput(N_('There is no message to answer yet.'))
        async with aclosing(self._reply(actor_id, row, messages, purpose, on_wait)) as events:
            async for event in events:
                yield event

    async def send_with_tools(
        self,
        actor_id: int,
        conversation_id: int,
        prompt: str,
        tool_refs: list[str],
        *,
        on_wait: Callable[[int], None] | None = None,
        images: Sequence[ImageUpload] = (),
    ) -> AsyncIterator[LoopEvent]:
        """Add the user's message and answer it through the function-calling loop with the picked tools. The loop's
        events are yielded as they happen (for a live transcript); the reply is saved with the transcript of its tool
        calls. Refusals (quota, a model without tool support) raise before anything is saved."""
        row = await self._owned_by_active(actor_id, conversation_id)
        refs = list(dict.fromkeys(r for r in tool_refs if r))
        if not refs:
            raise InvalidInput(N_('Pick at least one tool, or clear the tools to chat without them.'))
        settings = ChatSettings.stored(row.options)
        message = await self._user_message(actor_id, row, prompt, images)
        prompt = message['content']
        messages = [*(row.messages or []), message]
        history = history_of(row.system_prompt, messages)
        try:
            await self.images.inline(actor_id, row.model, row.id, history)
        except Exception:
            self.images.remove(row.id, message.get('images') or [])
            raise
        answers: list[str] = []
        partial: list[str] = []  # the text of the step being streamed (kept when the user stops it)
        transcript: list[dict[str, Any]] = []
        notice = ''
        done: LoopEvent | None = None
        started = time.perf_counter()

        async def save(stopped: bool) -> None:
            reply: dict[str, Any] = {
                'role': 'assistant',
                'content': '\n\n'.join(answers),
                'model': row.model,
                'tools': refs,
                'tool_transcript': transcript,
                'metrics': {'total_ms': round((time.perf_counter() - started) * 1000, 2)},
            }
            if notice:
                reply['notice'] = notice
            if stopped:
                reply['stopped'] = True
            row.messages = [*messages, reply]
            if row.title == 'New conversation':
                row.title = ' '.join(prompt.split())[:60] or row.title
            await row.save()

        stream = self.tool_loop.run(
            actor_id,
            row.model,
            history,
            refs,
            options=settings.options or None,
            on_wait=on_wait,
        )
        try:
            async for event in stream:
                if event.kind == 'delta':
                    partial.append(event.text)
                elif event.kind == 'assistant':
                    partial.clear()
                    if event.text.strip():
                        answers.append(event.text)
                elif event.kind == 'result' and event.call is not None:
                    call = event.call
                    transcript.append(
                        {
                            'step': event.step,
                            'name': call.name,
                            'arguments': call.arguments,
                            'ok': call.ok,
                            'result': call.as_text()[:4000] if call.ok else None,
                            'error': call.error,
                            'duration_ms': round(call.duration_ms, 1),
                        }
                    )
                elif event.kind == 'limit':
                    notice = event.text
                elif event.kind == 'done':
                    done = event
                yield event
        except asyncio.CancelledError:
            if ''.join(partial).strip():
                answers.append(''.join(partial))
            if answers or transcript:  # stopped part-way: keep what the model and the tools did
                await asyncio.shield(self.writes.run(lambda: save(True)))
            raise
        except Exception:
            self.images.remove(row.id, message.get('images') or [])  # refused or failed: nothing was saved
            raise
        finally:
            await stream.aclose()  # at once: the model call's slot and its Ollama stream are freed now
        if done is not None:
            await self.writes.run(lambda: save(False))

    async def _reply(
        self,
        user_id: int,
        row: Conversation,
        messages: list[dict[str, Any]],
        purpose: Purpose,
        on_wait: Callable[[int], None] | None = None,
    ) -> AsyncIterator[ChatDelta | ChatResult]:
        settings = ChatSettings.stored(row.options)
        history = history_of(row.system_prompt, messages)
        await self.images.inline(user_id, row.model, row.id, history)  # a model without vision is refused

        async def save(result: ChatResult) -> None:
            row.messages = [*messages, message_of(result)]
            if row.title == 'New conversation':
                first = next((m['content'] for m in messages if m.get('role') == 'user'), '')
                row.title = ' '.join(first.split())[:60] or row.title
            await row.save()
            await self._record(user_id, actions.CHAT, result, conversation_id=row.id)

        async def finish(result: ChatResult) -> None:
            await self.writes.run(lambda: save(result))

        relay = self.relay(
            user_id, row.model, history, settings, finish, purpose, on_wait, sticky=f'conversation:{row.id}'
        )
        async with aclosing(relay) as events:
            async for event in events:
                yield event

    async def relay(
        self,
        user_id: int,
        model: str,
        history: list[dict[str, Any]],
        settings: ChatSettings,
        finish: Callable[[ChatResult], Awaitable[None]],
        purpose: Purpose,
        on_wait: Callable[[int], None] | None = None,
        sticky: str | None = None,
    ) -> AsyncIterator[ChatDelta | ChatResult]:
        """The streaming core: deltas, then the result. Refusals (quota, the per-user limit, a model the workshop
        does not allow) raise before anything is sent or saved, so the page keeps the text. `finish` runs exactly
        once after that, also when the consumer is cancelled (shielded, so the partial reply is saved even while the
        page is being torn down)."""
        info = self.catalogue.known(model)
        think = True if settings.think and info and 'thinking' in info.capabilities else None
        stream = await self.calls.chat_stream(
            await self.calls.caller(user_id),
            purpose,
            model=model,
            messages=history,
            options=settings.options or None,
            keep_alive=settings.keep_alive,
            format=settings.format,
            think=think,
            on_wait=on_wait,  # told how many calls are ahead while the room has no free slot
            sticky=sticky,  # a conversation's next turn goes back to the host that has its prompt cached
        )
        host = stream.host
        started = time.perf_counter()
        first: float | None = None
        content: list[str] = []
        thinking: list[str] = []
        final: Any = None
        error: OllamaError | None = None
        stopped = True  # until the stream ends normally or with an error
        try:
            try:
                async for part in stream:
                    text, thought = part.message.content or '', part.message.thinking or ''
                    if part.done:
                        final = part
                    if text or thought:
                        if first is None:
                            first = time.perf_counter()
                        content.append(text)
                        thinking.append(thought)
                        yield ChatDelta(content=text, thinking=thought)
            except OllamaError as exc:
                error = exc
            stopped = False
        finally:
            # saving starts before any await: a dropped REST client (anyio) cancels every await in this block
            result = build_result(model, host, content, thinking, final, error, stopped, started, first)
            saving = asyncio.ensure_future(finish(result))
            try:
                await stream.aclose()
            finally:
                await asyncio.shield(saving)
        yield result

    async def _record(self, user_id: int, action: str, result: ChatResult, **details: Any) -> None:
        metrics = result.metrics
        tokens = (metrics.prompt_tokens or 0) + metrics.output_tokens
        await self.activity.record(
            user_id,
            action,
            model=result.model,
            host=result.host or None,
            tokens=tokens or None,
            latency_ms=metrics.total_ms,
            error=result.error or ('stopped by the user' if result.stopped else None),
            ttft_ms=metrics.ttft_ms,
            stopped=result.stopped,
            **details,
        )

    async def _check_chat_model(self, user_id: int, model: str) -> None:
        """A model this user may chat with: not an embedding model, and one their workshop allows."""
        if not model or len(model) > 200:
            raise InvalidInput(N_('Choose a model to chat with.'))
        info = self.catalogue.known(model)
        if info is not None and not info.chat_capable:
            raise InvalidInput(N_('"{model}" is an embedding model: it cannot chat. Choose a chat model.', model=model))
        await self.calls.check_model(await self.calls.caller(user_id), model)

    # ----- side by side --------------------------------------------------------------------------------------------
    async def start_comparison(
        self, actor_id: int, prompt: str, models: list[str], settings: dict[str, Any] | None = None
    ) -> int:
        user = await self.auth.require(actor_id)
        prompt = (prompt or '').strip()
        if not prompt:
            raise InvalidInput(N_('Type a prompt to send to the models.'))
        prompt = self._check_prompt(prompt, 'prompt')
        models = list(dict.fromkeys(m for m in models if m))
        if not 2 <= len(models) <= 4:
            raise InvalidInput(N_('Choose 2 to 4 different models to compare.'))
        caller = await self.calls.caller(user.id)
        for model in models:
            await self._check_chat_model(user.id, model)  # refuse the whole comparison up front
        await self._settings(user, settings)
        await self.calls.admit(caller, Purpose.SIDE_BY_SIDE, models[0])  # quota (each stream checks again)
        row = await Comparison.create(owner_id=user.id, prompt=prompt, models=models, results=[None] * len(models))
        return row.id

    async def compare_stream(
        self,
        actor_id: int,
        comparison_id: int,
        index: int,
        settings: dict[str, Any] | None = None,
        on_wait: Callable[[int], None] | None = None,
    ) -> AsyncIterator[ChatDelta | ChatResult]:
        """Stream the answer of the `index`-th model of a comparison; its result is stored when it ends."""
        user = await self.auth.require(actor_id)
        row = await Comparison.get_or_none(id=comparison_id, owner_id=user.id)
        if row is None:
            log.warning('user %s refused: comparison %s is not theirs or does not exist', actor_id, comparison_id)
            raise NotFound(N_('That comparison does not exist (or is not yours).'))
        if not 0 <= index < len(row.models):
            raise InvalidInput(N_('There is no such model in this comparison.'))
        checked = await self._settings(user, settings)

        async def finish(result: ChatResult) -> None:
            async with self._compare_lock:
                fresh = await Comparison.get(id=comparison_id)
                results = list(fresh.results or [None] * len(fresh.models))
                results[index] = message_of(result)
                fresh.results = results
                await fresh.save(update_fields=['results'])
            await self._record(user.id, actions.CHAT_COMPARE, result, comparison_id=comparison_id)

        history = [{'role': 'user', 'content': row.prompt}]
        relay = self.relay(user.id, row.models[index], history, checked, finish, Purpose.SIDE_BY_SIDE, on_wait)
        async with aclosing(relay) as events:
            async for event in events:
                yield event

    async def mark_better(self, actor_id: int, comparison_id: int, model: str) -> None:
        user = await self.auth.require(actor_id)
        row = await Comparison.get_or_none(id=comparison_id, owner_id=user.id)
        if row is None:
            log.warning('user %s refused: comparison %s is not theirs or does not exist', actor_id, comparison_id)
            raise NotFound(N_('That comparison does not exist (or is not yours).'))
        if model not in row.models:
            raise InvalidInput(N_('That model was not part of this comparison.'))
        row.winner = model
        await row.save(update_fields=['winner'])

    async def win_counts(self, actor_id: int) -> dict[str, int]:
        """How often each model was marked the better answer (all users; counts only, no content)."""
        await self.auth.require(actor_id)
        counts: dict[str, int] = defaultdict(int)
        for winner in await Comparison.filter(winner__isnull=False).values_list('winner', flat=True):
            counts[winner] += 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))
