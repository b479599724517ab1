"""Conversations taken home and brought back: one or all of a user's conversations exported as Markdown (to read) or
JSON (to import again), and a JSON export imported as new conversations of the importer.

The JSON format (versioned; `FORMAT`, `VERSION`):

    {"format": "owp-conversations", "version": 1, "exported_at": "2026-12-04T10:00:00+00:00",
     "conversations": [{"title": ..., "model": "llava:7b", "system_prompt": ..., "settings": {"options": {...},
       "keep_alive": null, "format": null, "think": true}, "created_at": ..., "updated_at": ...,
       "messages": [{"role": "user", "content": "What is this?",
                     "images": [{"name": "cat.png", "type": "image/png", "data": "<base64>"}]},
                    {"role": "assistant", "content": ..., "model": ..., "metrics": {...}}]}]}

In Markdown, images are named with their size and left out (with a note that the JSON keeps them).

An import is checked whole before anything is created (a refusal names the conversation, the message and the field),
never trusts ids (none are read: the conversations are new, owned by the importer, their images stored anew and
checked like an upload), and keeps only settings the importer may have (others are reset, with a warning).
"""

from __future__ import annotations

import base64
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from models import Conversation
from services.chat.images import MAX_IMAGES, ChatImages, ImageUpload, short
from services.chat.types import MAX_TITLE, ChatSettings, clean_system
from services.core import actions
from services.core.activity import ActivityService
from services.core.auth import AuthService
from services.core.errors import InvalidInput, NotFound, ServiceError
from services.core.i18n import N_
from services.models.callers import is_staff
from services.models.calls import MAX_MESSAGES, ModelCalls
from services.models.catalogue import Catalogue

log = logging.getLogger(__name__)

FORMAT = 'owp-conversations'
VERSION = 1
MAX_CONVERSATIONS = 1000
ROLES = ('user', 'assistant')
TEXT_FIELDS = ('content', 'thinking', 'model', 'error', 'error_kind', 'notice')  # kept as text
DATA_FIELDS = ('metrics', 'tools', 'tool_transcript')  # kept as they are (JSON)
MAX_FIELD_CHARS = 2_000_000


@dataclass(kw_only=True, slots=True)
class ExportFile:
    filename: str
    media_type: str
    content: bytes


@dataclass(kw_only=True, slots=True)
class Imported:
    id: int
    title: str


@dataclass(kw_only=True, slots=True)
class ImportResult:
    conversations: list[Imported] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class _Draft:
    title: str
    model: str
    system_prompt: str
    options: dict[str, Any]
    messages: list[dict[str, Any]]
    images: list[list[ImageUpload]]  # per message


class ConversationTransfer:
    def __init__(
        self,
        *,
        auth: AuthService,
        activity: ActivityService,
        images: ChatImages,
        calls: ModelCalls,
        catalogue: Catalogue,
        max_import_mb: int,
    ) -> None:
        self.auth = auth
        self.activity = activity
        self.images = images
        self.calls = calls
        self.catalogue = catalogue
        self.max_import_mb = max_import_mb

    # ----- export --------------------------------------------------------------------------------------------------
    async def export(self, actor_id: int, conversation_id: int | None = None, fmt: str = 'json') -> ExportFile:
        """One of the actor's conversations (`conversation_id`) or all of them, as 'json' or 'markdown'."""
        user = await self.auth.require(actor_id)
        if fmt not in ('json', 'markdown'):
            raise InvalidInput(N_('Export as "json" or "markdown".'))
        query = Conversation.filter(owner_id=user.id)
        if conversation_id is not None:
            query = query.filter(id=conversation_id)
        rows = await query.order_by('created_at', 'id')
        if conversation_id is not None and not rows:
            raise NotFound(N_('That conversation does not exist (or is not yours).'))
        stamp = datetime.now(UTC)
        stem = (
            f'conversation-{rows[0].id}-{_slug(rows[0].title)}' if conversation_id else f'conversations-{stamp:%Y%m%d}'
        )
        await self.activity.record(user.id, actions.CONVERSATION_EXPORT, format=fmt, conversations=len(rows))
        if fmt == 'markdown':
            text = '\n\n---\n\n'.join(_markdown(row) for row in rows) if rows else '_No conversations yet._'
            return ExportFile(filename=f'{stem}.md', media_type='text/markdown', content=(text + '\n').encode())
        data = {
            'format': FORMAT,
            'version': VERSION,
            'exported_at': stamp.isoformat(),
            'conversations': [await self._json(row) for row in rows],
        }
        content = json.dumps(data, ensure_ascii=False, indent=1).encode()
        return ExportFile(filename=f'{stem}.json', media_type='application/json', content=content)

    async def _json(self, row: Conversation) -> dict[str, Any]:
        messages = []
        for message in row.messages or []:
            out = {k: v for k, v in message.items() if k != 'images'}
            if message.get('images'):
                out['images'] = []
                for ref in message['images']:
                    data = await self.images.load(row.id, ref)
                    if data is not None:
                        encoded = base64.b64encode(data).decode()
                        out['images'].append({'name': ref.get('name'), 'type': ref.get('type'), 'data': encoded})
            messages.append(out)
        return {
            'title': row.title,
            'model': row.model,
            'system_prompt': row.system_prompt,
            'settings': ChatSettings.stored(row.options).to_dict(),
            'created_at': row.created_at.isoformat() if row.created_at else None,
            'updated_at': row.updated_at.isoformat() if row.updated_at else None,
            'messages': messages,
        }

    # ----- import --------------------------------------------------------------------------------------------------
    async def import_file(self, actor_id: int, data: bytes) -> ImportResult:
        """Create the conversations of a JSON export as new conversations of the actor (all of them, or none)."""
        user = await self.auth.require(actor_id)
        limit = self.max_import_mb * 1024 * 1024
        if len(data) > limit:
            raise InvalidInput(
                N_(
                    'The file is too large ({count:.1f} MB; at most {max_import_mb} MB).',
                    count=len(data) / 1024 / 1024,
                    max_import_mb=self.max_import_mb,
                )
            )
        parsed = _parse(data)
        result = ImportResult()
        caps = await self.calls.option_caps.current()
        drafts = []
        for index, raw in enumerate(parsed['conversations']):
            draft = self._draft(index, raw)
            try:
                draft.options = ChatSettings.validated(draft.options, staff=is_staff(user.role), caps=caps).to_dict()
            except ServiceError as exc:
                result.warnings.append(
                    N_('"{title}": its settings were reset ({message})', title=draft.title, message=exc.message)
                )
                draft.options = ChatSettings().to_dict()
            drafts.append(draft)
        created: list[int] = []
        try:
            for draft in drafts:
                row = await Conversation.create(
                    owner_id=user.id,
                    title=draft.title,
                    model=draft.model,
                    system_prompt=draft.system_prompt,
                    options=draft.options,
                )
                created.append(row.id)
                for message, images in zip(draft.messages, draft.images, strict=True):
                    if images:
                        message['images'] = await self.images.store(row.id, images)
                row.messages = draft.messages
                await row.save(update_fields=['messages', 'updated_at'])
                result.conversations.append(Imported(id=row.id, title=row.title))
        except BaseException:
            for conversation_id in created:  # all or nothing
                self.images.remove_conversation(conversation_id)
            await Conversation.filter(id__in=created).delete()
            raise
        models = sorted({d.model for d in drafts if self.catalogue.known(d.model) is None})
        for model in models:
            result.warnings.append(
                N_('The model {model} is on no host here: pick another model to continue.', model=short(model))
            )
        await self.activity.record(user.id, actions.CONVERSATION_IMPORT, conversations=len(created))
        return result

    def _draft(self, index: int, raw: Any) -> _Draft:
        where = f'Conversation {index + 1}'
        if not isinstance(raw, dict):
            raise InvalidInput(N_('{where} is not an object.', where=where))
        title = ' '.join(str(raw.get('title') or '').split())[:MAX_TITLE] or 'Imported conversation'
        where = f'{where} ("{title[:60]}")'
        model = raw.get('model')
        if not isinstance(model, str) or not 1 <= len(model.strip()) <= 200:
            raise InvalidInput(N_('{where}: "model" must be a model name.', where=where))
        system = raw.get('system_prompt') or ''
        if not isinstance(system, str):
            raise InvalidInput(N_('{where}: "system_prompt" must be text.', where=where))
        try:
            system = clean_system(system)
        except InvalidInput as exc:
            raise InvalidInput(N_('{where}: {message}', where=where, message=exc.message)) from None
        settings = raw.get('settings') or {}
        if not isinstance(settings, dict):
            raise InvalidInput(N_('{where}: "settings" must be an object.', where=where))
        messages = raw.get('messages') or []
        if not isinstance(messages, list) or len(messages) > MAX_MESSAGES:
            raise InvalidInput(
                N_(
                    '{where}: "messages" must be a list of at most {MAX_MESSAGES} messages.',
                    where=where,
                    MAX_MESSAGES=MAX_MESSAGES,
                )
            )
        kept, images = [], []
        for number, message in enumerate(messages, start=1):
            clean, attached = self._message(f'{where}, message {number}', message)
            kept.append(clean)
            images.append(attached)
        return _Draft(
            title=title, model=model.strip(), system_prompt=system, options=settings, messages=kept, images=images
        )

    def _message(self, where: str, raw: Any) -> tuple[dict[str, Any], list[ImageUpload]]:
        if not isinstance(raw, dict):
            raise InvalidInput(N_('{where} is not an object.', where=where))
        role = raw.get('role')
        if role not in ROLES:
            raise InvalidInput(N_('{where}: "role" must be one of {ROLES}.', where=where, ROLES=', '.join(ROLES)))
        clean: dict[str, Any] = {'role': role, 'content': ''}
        for key in TEXT_FIELDS:
            value = raw.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or len(value) > MAX_FIELD_CHARS:
                raise InvalidInput(
                    N_(
                        '{where}: "{key}" must be text (at most {MAX_FIELD_CHARS:,} characters).',
                        where=where,
                        key=key,
                        MAX_FIELD_CHARS=MAX_FIELD_CHARS,
                    )
                )
            clean[key] = value
        for key in DATA_FIELDS:
            if raw.get(key) is not None:
                clean[key] = raw[key]
        if raw.get('stopped') is True:
            clean['stopped'] = True
        attached = raw.get('images') or []
        if attached and role != 'user':
            raise InvalidInput(N_('{where}: only messages of the user have images.', where=where))
        if not isinstance(attached, list) or len(attached) > MAX_IMAGES:
            raise InvalidInput(
                N_(
                    '{where}: "images" must be a list of at most {MAX_IMAGES} images.',
                    where=where,
                    MAX_IMAGES=MAX_IMAGES,
                )
            )
        images = []
        for number, image in enumerate(attached, start=1):
            if not isinstance(image, dict) or not isinstance(image.get('data'), str):
                raise InvalidInput(
                    N_('{where}, image {number}: it needs "data" (the image as base64).', where=where, number=number)
                )
            try:
                data = base64.b64decode(image['data'], validate=True)
                images.append(self.images.check(str(image.get('name') or f'image-{number}'), data))
            except InvalidInput as exc:
                raise InvalidInput(
                    N_('{where}, image {number}: {message}', where=where, number=number, message=exc.message)
                ) from None
            except ValueError:
                raise InvalidInput(
                    N_('{where}, image {number}: "data" is not valid base64.', where=where, number=number)
                ) from None
        return clean, images


def _parse(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data.decode('utf-8-sig'))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(
            N_('The file is not valid JSON ({exc}). Import a JSON export of conversations.', exc=exc)
        ) from None
    except RecursionError:
        raise InvalidInput(N_('The file is nested too deeply to be a conversations export.')) from None
    if not isinstance(parsed, dict) or parsed.get('format') != FORMAT:
        raise InvalidInput(
            N_(
                'This is not a conversations export of this platform (it needs "format": '
                '"owp-conversations"). Export conversations as JSON from the playground, then import '
                'that file.'
            )
        )
    version = parsed.get('version')
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidInput(N_('The file has no valid "version".'))
    if version > VERSION:
        raise InvalidInput(
            N_(
                'The file is of version {version}; this platform reads version {VERSION} and older.',
                version=version,
                VERSION=VERSION,
            )
        )
    conversations = parsed.get('conversations')
    if not isinstance(conversations, list) or not conversations:
        raise InvalidInput(N_('The file has no conversations to import.'))
    if len(conversations) > MAX_CONVERSATIONS:
        raise InvalidInput(
            N_('Import at most {MAX_CONVERSATIONS} conversations at a time.', MAX_CONVERSATIONS=MAX_CONVERSATIONS)
        )
    return parsed


def _slug(title: str) -> str:
    return re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')[:40] or 'chat'


def _markdown(row: Conversation) -> str:
    lines = [f'# {row.title}', '', f'- Model: `{row.model}`']
    if row.created_at:
        lines.append(f'- Created: {row.created_at:%Y-%m-%d %H:%M} UTC · updated {row.updated_at:%Y-%m-%d %H:%M} UTC')
    settings = ChatSettings.stored(row.options)
    options = ', '.join(f'{k} {v}' for k, v in settings.options.items() if v not in (None, [], ''))
    if options:
        lines.append(f'- Options: {options}')
    if row.system_prompt:
        lines += ['', '**System prompt:**', '', *[f'> {line}' for line in row.system_prompt.splitlines()]]
    for message in row.messages or []:
        who = 'You' if message.get('role') == 'user' else f'Assistant ({message.get("model") or row.model})'
        lines += ['', f'### {who}', '']
        for ref in message.get('images') or []:
            size = (ref.get('size') or 0) / 1024
            lines.append(
                f'*Image: {ref.get("name")} ({ref.get("type")}, {size:.1f} KB) — not included in Markdown; '
                'export as JSON to keep the images.*'
            )
        if message.get('images'):
            lines.append('')
        lines.append(message.get('content') or ('*(no answer)*' if message.get('role') == 'assistant' else ''))
        if message.get('error'):
            lines += ['', f'*The answer broke off: {message["error"]}*']
        elif message.get('stopped'):
            lines += ['', '*Stopped: the answer above is incomplete.*']
    return '\n'.join(lines)
