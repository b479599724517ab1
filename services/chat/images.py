"""Images in conversations, for models that can see (the "vision" capability from Ollama's `show`).

An attached image is checked (its real type by its first bytes, never by its name; its size; at most MAX_IMAGES a
message; all of them together within the one prompt limit, as the base64 text that is sent), stored with its
conversation in the data directory (`uploads/chat/<conversation id>/<random>.<ext>`, deleted with the conversation),
sent to Ollama as bytes through the one model-call path (the client encodes them as base64) and read back only by
the conversation's owner. A message keeps references, never the bytes:

    {'role': 'user', 'content': 'What is this?',
     'images': [{'file': '3f2a...9c.png', 'type': 'image/png', 'size': 48213, 'name': 'cat.png'}]}

Models without vision are refused here, before anything is stored or sent, so the playground and the REST API give
the same refusal.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import shutil
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models import Conversation
from services.core.auth import AuthService
from services.core.errors import InvalidInput, NotFound
from services.core.i18n import N_
from services.models.calls import ModelCalls
from services.models.catalogue import Catalogue

log = logging.getLogger(__name__)

MAX_IMAGES = 4  # images in one message
TYPES = {'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif'}
ACCEPT = ','.join(TYPES)  # for a file picker's accept attribute
FILE_NAME = re.compile(r'^[0-9a-f]{32}\.(png|jpg|webp|gif)$')
MAX_NAME = 120


@dataclass(kw_only=True, slots=True, frozen=True)
class ImageUpload:
    """An image a user attaches: its name as shown, its bytes and (once checked) its real type."""

    name: str
    data: bytes
    type: str = ''


@dataclass(kw_only=True, slots=True, frozen=True)
class StoredImage:
    name: str
    type: str
    data: bytes


def sniff(data: bytes) -> str | None:
    """The image type by its signature (magic bytes), or None when it is not a PNG, JPEG, WebP or GIF."""
    if data.startswith(b'\x89PNG\r\n\x1a\n'):
        return 'image/png'
    if data.startswith(b'\xff\xd8\xff'):
        return 'image/jpeg'
    if data[:6] in (b'GIF87a', b'GIF89a'):
        return 'image/gif'
    if len(data) >= 12 and data[:4] == b'RIFF' and data[8:12] == b'WEBP':
        return 'image/webp'
    return None


def clean_name(name: str) -> str:
    shown = Path((name or '').replace('\\', '/')).name.strip() or 'image'
    return ''.join(c for c in shown if c.isprintable())[:MAX_NAME] or 'image'


def refs_of(messages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every image reference in a conversation's messages."""
    return [ref for m in messages for ref in (m.get('images') or []) if isinstance(ref, dict)]


def decode(items: Sequence[str], names: Sequence[str] = ()) -> list[ImageUpload]:
    """Base64 images (the REST API, a JSON import) as uploads; a data URL prefix is accepted."""
    uploads = []
    for index, item in enumerate(items):
        text = item.split(';base64,', 1)[1] if item.startswith('data:') and ';base64,' in item else item
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(N_('Image {index} is not valid base64.', index=index + 1)) from None
        name = names[index] if index < len(names) else f'image-{index + 1}'
        uploads.append(ImageUpload(name=name, data=data))
    return uploads


def short(model: str) -> str:
    return model.removesuffix(':latest')


class ChatImages:
    def __init__(self, *, root: Path, max_mb: float, auth: AuthService, calls: ModelCalls, catalogue: Catalogue):
        self.root = root  # uploads/chat: one folder per conversation
        self.max_mb = max_mb
        self.max_bytes = int(max_mb * 1024 * 1024)
        self.auth = auth
        self.calls = calls
        self.catalogue = catalogue

    # ----- checks --------------------------------------------------------------------------------------------------
    def check(self, name: str, data: bytes) -> ImageUpload:
        """One image: not empty, within the size limit, and really a PNG, JPEG, WebP or GIF (by its content)."""
        shown = clean_name(name)
        if not data:
            raise InvalidInput(N_('"{shown}" is empty.', shown=shown))
        if len(data) > self.max_bytes:
            raise InvalidInput(
                N_(
                    '"{shown}" is too large ({count:.1f} MB; at most {max_mb:g} MB an image).',
                    shown=shown,
                    count=len(data) / 1024 / 1024,
                    max_mb=self.max_mb,
                )
            )
        kind = sniff(data)
        if kind is None:
            raise InvalidInput(
                N_(
                    '"{shown}" is not a PNG, JPEG, WebP or GIF image (judged by its content, not its name).',
                    shown=shown,
                )
            )
        return ImageUpload(name=shown, data=data, type=kind)

    def check_all(self, uploads: Sequence[ImageUpload]) -> list[ImageUpload]:
        """The images of one message: at most MAX_IMAGES, each checked, together within the prompt limit."""
        if len(uploads) > MAX_IMAGES:
            raise InvalidInput(N_('Attach at most {MAX_IMAGES} images to one message.', MAX_IMAGES=MAX_IMAGES))
        checked = [self.check(u.name, u.data) for u in uploads]
        chars = sum(-(-len(u.data) // 3) * 4 for u in checked)
        limit = self.calls.limits.max_prompt_chars
        if chars > limit:
            raise InvalidInput(
                N_(
                    'These images are too large to send to a model together ({chars:,} characters as '
                    'base64; one model call carries at most {limit:,} on this platform). Attach fewer or '
                    'smaller images.',
                    chars=chars,
                    limit=limit,
                )
            )
        return checked

    async def require_vision(self, user_id: int, model: str) -> None:
        """Refuse a model whose capabilities are known and do not include vision, naming one that can see."""
        info = self.catalogue.known(model)
        if info is None:
            await self.catalogue.refresh()  # a cold start: read the hosts once
            info = self.catalogue.known(model)
        if info is None or not info.capabilities or 'vision' in info.capabilities:
            return  # unknown: the model call decides
        seeing = [m.name for m in await self.catalogue.chat_models(user_id) if 'vision' in m.capabilities]
        example = short(seeing[0]) if seeing else 'llava'
        raise InvalidInput(
            N_(
                '{model} cannot see images: pick a model with vision, e.g. {example}.',
                model=short(model),
                example=example,
            )
        )

    async def attach(
        self, user_id: int, conversation_id: int, model: str, uploads: Sequence[ImageUpload]
    ) -> list[dict[str, Any]]:
        """Check a message's images and the model, then store them: the references for the message."""
        if not uploads:
            return []
        checked = self.check_all(uploads)
        await self.require_vision(user_id, model)
        return await self.store(conversation_id, checked)

    # ----- files ---------------------------------------------------------------------------------------------------
    def folder(self, conversation_id: int) -> Path:
        return self.root / str(int(conversation_id))

    async def store(self, conversation_id: int, images: Sequence[ImageUpload]) -> list[dict[str, Any]]:
        """Write checked images into the conversation's folder; the references a message keeps."""
        refs = [
            {'file': f'{uuid.uuid4().hex}.{TYPES[i.type]}', 'type': i.type, 'size': len(i.data), 'name': i.name}
            for i in images
        ]
        folder = self.folder(conversation_id)

        def write() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            for ref, image in zip(refs, images, strict=True):
                (folder / ref['file']).write_bytes(image.data)

        try:
            await asyncio.to_thread(write)
        except BaseException:
            self.remove(conversation_id, refs)
            raise
        return refs

    def remove(self, conversation_id: int, refs: Iterable[dict[str, Any]]) -> None:
        folder = self.folder(conversation_id)
        for ref in refs:
            name = str(ref.get('file') or '')
            if FILE_NAME.match(name):
                (folder / name).unlink(missing_ok=True)

    def remove_conversation(self, conversation_id: int) -> None:
        shutil.rmtree(self.folder(conversation_id), ignore_errors=True)

    async def load(self, conversation_id: int, ref: dict[str, Any]) -> bytes | None:
        name = str(ref.get('file') or '')
        if not FILE_NAME.match(name):
            return None
        path = self.folder(conversation_id) / name
        try:
            return await asyncio.to_thread(path.read_bytes)
        except OSError:
            log.warning('image %s of conversation %s is missing', name, conversation_id)
            return None

    async def inline(self, user_id: int, model: str, conversation_id: int, history: list[dict[str, Any]]) -> None:
        """Replace the image references in a model call's messages by the images' bytes (in place). A model without
        vision is refused when any message has images."""
        if not any(m.get('images') for m in history):
            return
        await self.require_vision(user_id, model)
        for message in history:
            refs = message.pop('images', None) or []
            loaded = [await self.load(conversation_id, ref) for ref in refs if isinstance(ref, dict)]
            if any(data is not None for data in loaded):
                message['images'] = [data for data in loaded if data is not None]

    async def read(self, actor_id: int, conversation_id: int, file: str) -> StoredImage:
        """An image of one of the actor's conversations (anyone else: not found, the same as a missing one)."""
        user = await self.auth.require(actor_id)
        missing = NotFound(N_('That image does not exist (or is not yours).'))
        if not FILE_NAME.match(file or ''):
            raise missing
        row = await Conversation.get_or_none(id=conversation_id, owner_id=user.id)
        ref = next((r for r in refs_of(row.messages or []) if r.get('file') == file), None) if row else None
        if ref is None:
            log.warning('user %s refused: image %s of conversation %s', user.id, file, conversation_id)
            raise missing
        data = await self.load(conversation_id, ref)
        if data is None:
            raise missing
        return StoredImage(name=str(ref.get('name') or file), type=sniff(data) or 'application/octet-stream', data=data)
