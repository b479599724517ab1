"""Attaching images to a chat message: an "Attach image" button (a file picker limited to PNG, JPEG, WebP and GIF),
a thumbnail preview of each attached image with a button to remove it, and the images handed to the page on send.

The check of each file (its real type, its size) is the caller's `check` (the chat service): a refused file is named
in a notification and not attached.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from nicegui import ui

from components import format as fmt
from services.core import i18n
from services.core.i18n import _


def create(
    check: Callable[[str, bytes], Any], *, accept: str, max_images: int, max_bytes: int, max_mb: float
) -> ImageAttach:
    return ImageAttach(check, accept=accept, max_images=max_images, max_bytes=max_bytes, max_mb=max_mb)


def data_url(kind: str, data: bytes) -> str:
    return f'data:{kind};base64,{base64.b64encode(data).decode()}'


def thumbnails(images: list[tuple[str, str]], *, size: str = 'w-24 h-24') -> ui.row:
    """Images of a message as thumbnails; `images` are (source URL, name) pairs; a click opens the full image."""
    with ui.row().classes('gap-2') as row:
        for source, name in images:
            with ui.link(target=source, new_tab=True) as link:
                link._props['aria-label'] = _('Open image {name}', name=name)
                image = ui.image(source).props('fit=cover').classes(f'{size} rounded').mark('chat-image')
                image._props['alt'] = name
    return row


class ImageAttach:
    """The images waiting to be sent with the next message (checked when attached)."""

    def __init__(
        self, check: Callable[[str, bytes], Any], *, accept: str, max_images: int, max_bytes: int, max_mb: float
    ) -> None:
        self.check = check
        self.max_images = max_images
        self.max_bytes = max_bytes
        self.max_mb = max_mb
        self.pending: list[Any] = []  # checked images (with .name, .data, .type)
        self.upload = ui.upload(
            multiple=True,
            auto_upload=True,
            on_upload=self._uploaded,
            on_rejected=self._rejected,
            max_file_size=max_bytes,
        )
        self.upload.props(f'accept="{accept}"').classes('hidden').mark('chat-image-upload')
        self.button = ui.button(icon='add_photo_alternate', on_click=lambda: self.upload.run_method('pickFiles'))
        self.button.props('flat round dense').mark('chat-attach')
        self.button._props['aria-label'] = _('Attach images')
        self.button.tooltip(
            _(
                'Attach images (PNG, JPEG, WebP or GIF; up to {count}, {mb} MB each)',
                count=max_images,
                mb=i18n.number(max_mb),
            )
        )

    def preview_area(self) -> ui.row:
        """Where the thumbnails of the attached images show (placed by the page)."""
        self.preview = ui.row().classes('gap-2 items-start').mark('chat-image-preview')
        self.preview._props.update({'role': 'group', 'aria-label': _('Attached images')})
        self.preview.set_visibility(False)
        return self.preview

    async def _uploaded(self, e: Any) -> None:
        name = e.file.name
        try:
            if len(self.pending) >= self.max_images:
                ui.notify(_('Attach at most {count} images to one message.', count=self.max_images), type='warning')
                return
            if e.file.size() > self.max_bytes:
                ui.notify(
                    _('"{name}" is too large (at most {mb} MB an image).', name=name, mb=i18n.number(self.max_mb)),
                    type='negative',
                )
                return
            try:
                image = self.check(name, await e.file.read())
            except Exception as exc:  # the service's refusal: say it, attach nothing
                ui.notify(_(getattr(exc, 'message', str(exc))), type='negative', multi_line=True)
                return
            self.pending.append(image)
            self._render()
        finally:
            self.upload.reset()

    def _rejected(self) -> None:
        ui.notify(
            _('Only PNG, JPEG, WebP or GIF images up to {mb} MB each can be attached.', mb=i18n.number(self.max_mb)),
            type='negative',
        )

    def _render(self) -> None:
        self.preview.clear()
        with self.preview:
            for index, image in enumerate(self.pending):
                with ui.card().classes('p-1 gap-1 items-center').props('flat bordered'):
                    shown = ui.image(data_url(image.type, image.data)).props('fit=cover').classes('w-20 h-20 rounded')
                    shown._props['alt'] = image.name
                    with ui.row().classes('items-center gap-1 no-wrap'):
                        ui.label(f'{image.name[:18]} · {fmt.size(len(image.data))}').classes(
                            'text-xs text-gray-700 dark:text-gray-300'
                        )
                        remove = ui.button(icon='close', on_click=lambda image=image: self.remove(image))
                        remove.props('flat round dense size=xs').mark('chat-image-remove', f'chat-image-remove-{index}')
                        remove._props['aria-label'] = _('Remove image {name}', name=image.name)
                        remove.tooltip(_('Remove image'))
        self.preview.set_visibility(bool(self.pending))

    def remove(self, image: Any) -> None:
        self.pending = [i for i in self.pending if i is not image]
        self._render()

    def take(self) -> list[Any]:
        """The attached images, cleared from the preview (to be sent)."""
        taken, self.pending = self.pending, []
        self._render()
        return taken

    def give_back(self, images: list[Any]) -> None:
        """Images of a message that was refused: attached again, as they were."""
        self.pending = [*images, *self.pending][: self.max_images]
        self._render()
