"""Files of conversations: the images of a conversation (served to its owner only), and conversations exported
(Markdown, JSON) and imported (JSON) from the playground. The services decide; this module only renders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException
from fastapi.responses import Response
from nicegui import APIRouter, ui

from components.forms import error_label, guarded
from pages.common import session_user_id
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.i18n import N_, _, _n
from services.wiring import Services

FORMATS = {'markdown': N_('Markdown (to read)'), 'json': N_('JSON (to import again, with images)')}


def create_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.get('/playground/{conversation_id}/images/{file}', include_in_schema=False)
    async def image(conversation_id: int, file: str) -> Response:
        try:
            found = await services.chat.images.read(session_user_id(), conversation_id, file)
        except ServiceError as exc:
            raise HTTPException(status_code=exc.status_code, detail=exc.message) from exc
        return Response(
            found.data,
            media_type=found.type,
            headers={
                'Cache-Control': 'private, max-age=3600',
                'X-Content-Type-Options': 'nosniff',
                'Content-Disposition': 'inline',
            },
        )

    return router


async def download(services: Services, user: UserInfo, conversation_id: int | None, fmt: str) -> None:
    exported = await guarded(lambda: services.chat_transfer.export(user.id, conversation_id, fmt))
    if exported is not None:
        ui.download.content(exported.content, exported.filename, exported.media_type)


def export_menu(services: Services, user: UserInfo, conversation_id: int | None) -> ui.button:
    """A download button with a menu of formats: one conversation, or all of them (`conversation_id` None)."""
    what = _('Export this conversation') if conversation_id else _('Export all your conversations')
    marker = 'export-conversation' if conversation_id else 'export-all'
    if conversation_id:
        button = ui.button(icon='download').props('flat round dense')
        button._props['aria-label'] = what
    else:
        button = ui.button(_('Export all'), icon='download').props('flat dense no-caps')
    button.tooltip(what).mark(marker)
    with button, ui.menu():
        for fmt, label in FORMATS.items():
            ui.menu_item(_(label), on_click=lambda fmt=fmt: download(services, user, conversation_id, fmt)).mark(
                f'{marker}-{fmt}'
            )
    return button


def import_button(services: Services, user: UserInfo, on_done: Callable[[], Awaitable[None]]) -> ui.button:
    button = ui.button(_('Import'), icon='upload', on_click=lambda: _import_dialog(services, user, on_done))
    button.props('flat dense no-caps').tooltip(_('Import conversations from a JSON export')).mark(
        'import-conversations'
    )
    return button


def _import_dialog(services: Services, user: UserInfo, on_done: Callable[[], Awaitable[None]]) -> None:
    limit = services.settings.chat_import_max_mb
    with ui.dialog() as dialog, ui.card().classes('w-[32rem] gap-3'):
        dialog._props['aria-label'] = _('Import conversations')
        ui.label(_('Import conversations')).classes('text-lg font-semibold')
        ui.label(
            _(
                'Upload a JSON export of conversations (up to {mb} MB). They become new conversations of yours; '
                'nothing you have is changed.',
                mb=limit,
            )
        ).classes('text-sm')
        error = error_label().mark('import-error')

        async def uploaded(e) -> None:
            error.set_visibility(False)
            try:
                result = await services.chat_transfer.import_file(user.id, await e.file.read())
            except ServiceError as exc:
                error.text = _(exc.message)
                error.set_visibility(True)
                upload.reset()
                return
            dialog.close()
            count = len(result.conversations)
            ui.notify(
                _n('Imported {count} conversation.', 'Imported {count} conversations.', count, count=count),
                type='positive',
            )
            for warning in result.warnings:
                ui.notify(_(warning), type='warning', multi_line=True)
            await on_done()

        # Quasar's uploader draws an unnamed "add" button around its file input: a named button opens it instead
        upload = ui.upload(auto_upload=True, on_upload=uploaded, max_file_size=limit * 1024 * 1024)
        upload.props('accept=".json,application/json"').classes('hidden').mark('import-upload')
        ui.button(
            _('Upload a conversations file (.json)'),
            icon='upload_file',
            on_click=lambda: upload.run_method('pickFiles'),
        ).props('outline').mark('import-pick')
        with ui.row().classes('w-full justify-end'):
            ui.button(_('Cancel'), on_click=dialog.close).props('flat')
    dialog.open()
