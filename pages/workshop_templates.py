"""Workshop templates on the workshop pages: importing a file or the ready template (the workshops list), and
exporting a workshop as a template (its manage page). The report of an import says what was created and skipped."""

from __future__ import annotations

from nicegui import ui

from components.forms import error_label, guarded, loading
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.i18n import N_, _
from services.wiring import Services
from services.workshops.template_format import MAX_FILE_BYTES
from services.workshops.templates import ImportReport

KIND_LABELS = {
    'workshop': N_('Workshop'),
    'step': N_('Step'),
    'prompt': N_('Prompt'),
    'tool': N_('Tool'),
    'knowledge': N_('Knowledge base'),
    'document': N_('Document'),
    'rag': N_('RAG system'),
    'section': N_('Section'),
    'field': N_('Field'),
}


def import_buttons(services: Services, user: UserInfo) -> None:
    """'Import a template' and 'Create from the ready template' (one click) for the workshops list."""
    ui.button(_('Import a template'), icon='upload_file', on_click=lambda: _import_dialog(services, user)).props(
        'outline'
    ).mark('import-template')
    for ready in services.templates.ready():

        async def create(button: ui.button, key: str = ready.key) -> None:
            with loading(button):
                report = await guarded(lambda: services.templates.import_ready(user.id, key))
            if report is not None:
                show_report(report)

        button = ui.button(_('Create from the ready template'), icon='auto_awesome').props('outline')
        button.on_click(lambda b=button: create(b))
        button.tooltip(
            _(
                '{title}: {steps} steps, with a prompt, a tool, a knowledge base and RAG',
                title=ready.title,
                steps=ready.steps,
            )
        )
        button.mark(f'ready-{ready.key}')


def export_controls(services: Services, user: UserInfo, workshop_id: int) -> None:
    """'Export as template' with 'Include documents', for a workshop's manage page."""
    with ui.row().classes('items-center gap-2'):
        documents = ui.checkbox(_('Include documents')).mark('export-documents')
        documents.tooltip(_('The files of its knowledge bases: the download becomes a .zip'))

        async def export() -> None:
            exported = await guarded(
                lambda: services.templates.export(user.id, workshop_id, include_documents=bool(documents.value))
            )
            if exported is None:
                return
            ui.download.content(exported.content, exported.filename, exported.media_type)
            for note in exported.notes:
                ui.notify(_(note), type='warning', multi_line=True)

        ui.button(_('Export as template'), icon='download', on_click=export).props('flat').mark('export-template')


def _import_dialog(services: Services, user: UserInfo) -> None:
    with ui.dialog() as dialog, ui.card().classes('w-[36rem] gap-3'):
        ui.label(_('Import a workshop template')).classes('text-lg font-semibold')
        ui.label(
            _(
                'Upload a template exported from this platform (.json, or .zip with documents). It creates a new '
                'draft workshop of yours with its steps, prompts, tools, knowledge bases and RAG systems.'
            )
        )
        error = error_label().mark('template-error')

        async def uploaded(e) -> None:
            error.set_visibility(False)
            try:
                report = await services.templates.import_file(user.id, await e.file.read())
            except ServiceError as exc:
                error.text = _(exc.message)
                error.set_visibility(True)
                return
            dialog.close()
            show_report(report)

        ui.upload(label=_('Template file'), auto_upload=True, max_file_size=MAX_FILE_BYTES, on_upload=uploaded).props(
            'accept=.json,.zip,application/json,application/zip flat bordered'
        ).classes('w-full').mark('template-upload')
        with ui.row().classes('w-full justify-end'):
            ui.button(_('Cancel'), on_click=dialog.close).props('flat')
    dialog.open()


def show_report(report: ImportReport) -> None:
    """What the import created (with links) and what it skipped, and why."""
    with ui.dialog().props('persistent') as dialog, ui.card().classes('w-[44rem] max-w-full gap-2'):
        ui.label(_('Workshop created: {title}', title=report.title)).classes('text-lg font-semibold')
        ui.label(_('It is a draft: check it, then start it when the class is ready.')).classes(
            'text-sm text-gray-700 dark:text-gray-300'
        )
        with ui.column().classes('w-full gap-1').mark('template-report'):
            for warning in report.warnings:
                with ui.row().classes('items-center gap-1 no-wrap'):
                    ui.icon('warning', color='warning').props('aria-hidden=true')
                    ui.label(_(warning)).classes('text-sm')
            ui.label(_('Created ({count})', count=len(report.created))).classes('font-semibold mt-2')
            for item in report.created:
                with ui.row().classes('items-center gap-2 no-wrap'):
                    ui.badge(_(KIND_LABELS.get(item.kind, item.kind)), color='positive').props('outline')
                    if item.link:
                        ui.link(item.name, item.link).classes('text-blue-700 dark:text-blue-300 underline')
                    else:
                        ui.label(item.name)
                    if item.note:
                        ui.label(_(item.note)).classes('text-sm text-gray-700 dark:text-gray-300')
            if report.skipped:
                ui.label(_('Skipped ({count})', count=len(report.skipped))).classes('font-semibold mt-2')
            for item in report.skipped:
                with ui.row().classes('items-center gap-2 no-wrap'):
                    ui.badge(_(KIND_LABELS.get(item.kind, item.kind)), color='warning').props('outline')
                    ui.label(_('{name}: {note}', name=item.name, note=_(item.note)))
        with ui.row().classes('w-full justify-end'):
            ui.button(_('Close'), on_click=lambda: (dialog.close(), ui.navigate.to('/workshops'))).props('flat')
            ui.button(_('Open the workshop'), on_click=lambda: ui.navigate.to(report.link)).mark('report-open')
    dialog.open()
