"""Workshop templates on the workshop pages: importing a file or the ready template (the workshops list), and
exporting a workshop as a template (its manage page). The report of an import says what was created and skipped."""

from __future__ import annotations

from nicegui import ui

from components.forms import error_label, guarded, loading
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.wiring import Services
from services.workshops.template_format import MAX_FILE_BYTES
from services.workshops.templates import ImportReport

KIND_LABELS = {
    'workshop': 'Workshop',
    'step': 'Step',
    'prompt': 'Prompt',
    'tool': 'Tool',
    'knowledge': 'Knowledge base',
    'document': 'Document',
    'rag': 'RAG system',
    'section': 'Section',
    'field': 'Field',
}


def import_buttons(services: Services, user: UserInfo) -> None:
    """'Import a template' and 'Create from the ready template' (one click) for the workshops list."""
    ui.button('Import a template', icon='upload_file', on_click=lambda: _import_dialog(services, user)).props(
        'outline'
    ).mark('import-template')
    for ready in services.templates.ready():

        async def create(button: ui.button, key: str = ready.key) -> None:
            with loading(button):
                report = await guarded(lambda: services.templates.import_ready(user.id, key))
            if report is not None:
                show_report(report)

        button = ui.button('Create from the ready template', icon='auto_awesome').props('outline')
        button.on_click(lambda b=button: create(b))
        button.tooltip(f'{ready.title}: {ready.steps} steps, with a prompt, a tool, a knowledge base and RAG')
        button.mark(f'ready-{ready.key}')


def export_controls(services: Services, user: UserInfo, workshop_id: int) -> None:
    """'Export as template' with 'Include documents', for a workshop's manage page."""
    with ui.row().classes('items-center gap-2'):
        documents = ui.checkbox('Include documents').mark('export-documents')
        documents.tooltip('The files of its knowledge bases: the download becomes a .zip')

        async def export() -> None:
            exported = await guarded(
                lambda: services.templates.export(user.id, workshop_id, include_documents=bool(documents.value))
            )
            if exported is None:
                return
            ui.download.content(exported.content, exported.filename, exported.media_type)
            for note in exported.notes:
                ui.notify(note, type='warning', multi_line=True)

        ui.button('Export as template', icon='download', on_click=export).props('flat').mark('export-template')


def _import_dialog(services: Services, user: UserInfo) -> None:
    with ui.dialog() as dialog, ui.card().classes('w-[36rem] gap-3'):
        ui.label('Import a workshop template').classes('text-lg font-semibold')
        ui.label(
            'Upload a template exported from this platform (.json, or .zip with documents). It creates a new draft '
            'workshop of yours with its steps, prompts, tools, knowledge bases and RAG systems.'
        )
        error = error_label().mark('template-error')

        async def uploaded(e) -> None:
            error.set_visibility(False)
            try:
                report = await services.templates.import_file(user.id, await e.file.read())
            except ServiceError as exc:
                error.text = exc.message
                error.set_visibility(True)
                return
            dialog.close()
            show_report(report)

        ui.upload(label='Template file', auto_upload=True, max_file_size=MAX_FILE_BYTES, on_upload=uploaded).props(
            'accept=.json,.zip,application/json,application/zip flat bordered'
        ).classes('w-full').mark('template-upload')
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
    dialog.open()


def show_report(report: ImportReport) -> None:
    """What the import created (with links) and what it skipped, and why."""
    with ui.dialog().props('persistent') as dialog, ui.card().classes('w-[44rem] max-w-full gap-2'):
        ui.label(f'Workshop created: {report.title}').classes('text-lg font-semibold')
        ui.label('It is a draft: check it, then start it when the class is ready.').classes('text-sm text-gray-500')
        with ui.column().classes('w-full gap-1').mark('template-report'):
            for warning in report.warnings:
                with ui.row().classes('items-center gap-1 no-wrap'):
                    ui.icon('warning', color='warning').props('aria-hidden=true')
                    ui.label(warning).classes('text-sm')
            ui.label(f'Created ({len(report.created)})').classes('font-semibold mt-2')
            for item in report.created:
                with ui.row().classes('items-center gap-2 no-wrap'):
                    ui.badge(KIND_LABELS.get(item.kind, item.kind), color='positive').props('outline')
                    if item.link:
                        ui.link(item.name, item.link)
                    else:
                        ui.label(item.name)
                    if item.note:
                        ui.label(item.note).classes('text-sm text-gray-500')
            if report.skipped:
                ui.label(f'Skipped ({len(report.skipped)})').classes('font-semibold mt-2')
            for item in report.skipped:
                with ui.row().classes('items-center gap-2 no-wrap'):
                    ui.badge(KIND_LABELS.get(item.kind, item.kind), color='warning').props('outline')
                    ui.label(f'{item.name}: {item.note}')
        with ui.row().classes('w-full justify-end'):
            ui.button('Close', on_click=lambda: (dialog.close(), ui.navigate.to('/workshops'))).props('flat')
            ui.button('Open the workshop', on_click=lambda: ui.navigate.to(report.link)).mark('report-open')
    dialog.open()
