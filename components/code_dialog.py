"""'Show as Python': a button that opens a dialog with a standalone script, a Copy and a Download button (and, for a
RAG system, a zip with the script and its documents)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from components.code_block import code_block
from components.forms import guarded
from services.core.code_export import Script
from services.core.i18n import N_, _

HOW = N_(
    'A short standalone script that does the same against your own Ollama: set OLLAMA_HOST if it does not run on '
    'http://localhost:11434. The script says in its first lines how to run it.'
)


def code_button(
    load: Callable[[], Awaitable[Script]],
    *,
    bundle: Callable[[], Awaitable[tuple[str, bytes]]] | None = None,
) -> ui.button:
    """The 'Show as Python' button; `load` makes the script (a service call), `bundle` the zip to download, if any."""

    async def show() -> None:
        made = await guarded(load)
        if made is not None:
            code_dialog(made, bundle).open()

    return ui.button(_('Show as Python'), icon='code', on_click=show).props('outline').mark('show-python')


def code_dialog(made: Script, bundle: Callable[[], Awaitable[tuple[str, bytes]]] | None = None) -> ui.dialog:
    with ui.dialog() as dialog, ui.card().classes('w-[56rem] max-w-full gap-3') as card:
        card._props['aria-label'] = _('Python script')
        ui.label(_('{title} as Python', title=made.title)).classes('text-lg font-semibold')
        ui.label(_(HOW)).classes('text-sm text-gray-600 dark:text-gray-300')
        code_block(made.code, language='python').classes('w-full max-h-[60vh] overflow-auto').mark('python-code')

        async def copy() -> None:
            ui.clipboard.write(made.code)
            ui.notify(_('Copied the script.'), type='positive')

        async def download_bundle() -> None:
            got = await guarded(bundle) if bundle is not None else None
            if got is not None:
                ui.download.content(got[1], got[0], 'application/zip')

        with ui.row().classes('w-full items-center gap-2'):
            ui.button(_('Copy'), icon='content_copy', on_click=copy).mark('python-copy')
            ui.button(
                _('Download {filename}', filename=made.filename),
                icon='download',
                on_click=lambda: ui.download.content(made.code.encode(), made.filename, 'text/x-python'),
            ).props('outline').mark('python-download')
            if bundle is not None:
                ui.button(_('Download with the documents (.zip)'), icon='folder_zip', on_click=download_bundle).props(
                    'outline'
                ).mark('python-bundle')
            ui.space()
            ui.button(_('Close'), on_click=dialog.close).props('flat').mark('python-close')
    return dialog
