"""Prompt templates: the list, import, the editor for new prompts, and the prompt page with its tabs."""

from __future__ import annotations

from nicegui import APIRouter, ui

from components.code_dialog import code_button
from components.forms import confirm, error_label, guarded
from components.frame import frame
from components.prompt_editor import prompt_editor
from pages.common import page_user
from pages.prompt_history import history_tab
from pages.prompt_runs import batch_tab, run_tab
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.i18n import N_, _
from services.wiring import Services

VISIBILITY_COLORS = {'private': 'grey-8', 'workshop': 'accent', 'public': 'positive'}
VISIBILITY_NAMES = {'private': N_('private'), 'workshop': N_('workshop'), 'public': N_('public')}


def create_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.page('/prompts')
    async def prompt_list() -> None:
        user = await page_user(services)
        if user is None:
            return
        with frame(services, user, _('Prompts')):
            ui.label(
                _(
                    'Prompt templates with {{variables}}: run them against one model or several, in batches, and '
                    'keep every version.'
                )
            ).classes('text-gray-600 dark:text-gray-300')
            with ui.row().classes('w-full items-center gap-3'):
                search = (
                    ui.input(_('Search by name'), on_change=lambda: listing.refresh())
                    .props('clearable outlined dense debounce=300')
                    .classes('w-72')
                )
                ui.button(_('New prompt'), icon='add', on_click=lambda: ui.navigate.to('/prompts/new')).mark(
                    'new-prompt'
                )
                ui.button(_('Import'), icon='upload', on_click=lambda: _import_dialog(services, user)).props(
                    'outline'
                ).mark('import-prompt')

            @ui.refreshable
            async def listing() -> None:
                prompts = await guarded(lambda: services.prompts.list_prompts(user.id, search.value or '')) or []
                if not prompts:
                    ui.label(_('No prompts yet. Create one, or import a prompt exported from this platform.')).classes(
                        'text-gray-700 dark:text-gray-300'
                    )
                for prompt in prompts:
                    with ui.card().classes('w-full py-2').props('flat bordered'):
                        with ui.row().classes('w-full items-center gap-3'):
                            ui.link(prompt.name, f'/prompts/{prompt.id}').classes('text-lg font-semibold')
                            ui.badge(
                                _(VISIBILITY_NAMES.get(prompt.visibility, prompt.visibility)),
                                color=VISIBILITY_COLORS.get(prompt.visibility, 'grey'),
                            )
                            for tag in prompt.tags:
                                ui.chip(tag).props('dense color=grey-8 text-color=white')
                            ui.space()
                            shown = (
                                _('v{version} · by you', version=prompt.current_version)
                                if prompt.owner_id == user.id
                                else _(
                                    'v{version} · by {owner}', version=prompt.current_version, owner=prompt.owner_name
                                )
                            )
                            ui.label(shown).classes('text-sm text-gray-700 dark:text-gray-300')
                        if prompt.description:
                            ui.label(prompt.description).classes('text-sm text-gray-600 dark:text-gray-300')

            await listing()

    @router.page('/prompts/new')
    async def new_prompt() -> None:
        user = await page_user(services)
        if user is None:
            return
        with frame(services, user, _('New prompt')):
            await prompt_editor(services, user, None, lambda detail: ui.navigate.to(f'/prompts/{detail.id}'))

    @router.page('/prompts/{prompt_id}')
    async def prompt_page(prompt_id: int) -> None:
        user = await page_user(services)
        if user is None:
            return
        try:
            detail = await services.prompts.get(user.id, prompt_id)
        except ServiceError as exc:
            with frame(services, user, _('Prompt')):
                ui.label(_(exc.message)).classes('text-lg')
                ui.link(_('Back to the prompts'), '/prompts')
            return
        with frame(services, user, detail.name):
            await _prompt_body(services, user, prompt_id)

    return router


async def _prompt_body(services: Services, user: UserInfo, prompt_id: int) -> None:
    detail = await services.prompts.get(user.id, prompt_id)
    with ui.row().classes('w-full items-center gap-2'):
        ui.badge(
            _(VISIBILITY_NAMES.get(detail.visibility, detail.visibility)),
            color=VISIBILITY_COLORS.get(detail.visibility, 'grey'),
        )
        shown = (
            _('Version {number} is current · by you', number=detail.current_version)
            if detail.can_edit
            else _('Version {number} is current · by {owner}', number=detail.current_version, owner=detail.owner_name)
        )
        ui.label(shown).classes('text-sm text-gray-700 dark:text-gray-300')
        if detail.forked_from_id:
            ui.link(_('forked from'), f'/prompts/{detail.forked_from_id}').classes('text-sm')
        ui.space()

        async def fork() -> None:
            copy = await guarded(
                lambda: services.prompts.fork(user.id, prompt_id), success=_('Forked into your prompts.')
            )
            if copy is not None:
                ui.navigate.to(f'/prompts/{copy.id}')

        async def export() -> None:
            text = await guarded(lambda: services.prompts.export_json(user.id, prompt_id))
            if text is not None:
                ui.download.content(text.encode(), f'prompt-{prompt_id}.json', 'application/json')

        ui.button(_('Fork'), icon='call_split', on_click=fork).props('outline').mark('fork')
        ui.button(_('Export'), icon='download', on_click=export).props('outline').mark('export')
        code_button(lambda: services.scripts.prompts.script(user.id, prompt_id))
        if detail.can_edit:

            async def delete() -> None:
                if not await confirm(
                    _('Delete "{name}"?', name=detail.name), _('All its versions and runs are deleted too.')
                ):
                    return

                async def act() -> bool:
                    await services.prompts.delete(user.id, prompt_id)
                    return True

                if await guarded(act, success=_('Prompt deleted.')):
                    ui.navigate.to('/prompts')

            remove = ui.button(icon='delete', on_click=delete, color='negative').props('flat round')
            remove.mark('delete-prompt')._props['aria-label'] = _('Delete prompt')
            remove.tooltip(_('Delete prompt'))
    if detail.description:
        ui.label(detail.description).classes('text-gray-600 dark:text-gray-300')

    with ui.tabs().classes('w-full').props('align=left') as tabs:
        run = ui.tab('run', _('Run'), icon='play_arrow')
        batch = ui.tab('batch', _('Batch'), icon='table_view')
        edit = ui.tab('edit', _('Edit'), icon='edit') if detail.can_edit else None
        history = ui.tab('history', _('History'), icon='history')

    async def reload(_saved=None) -> None:
        ui.navigate.reload()

    with ui.tab_panels(tabs, value=run).classes('w-full'):
        with ui.tab_panel(run):
            await run_tab(services, user, detail)
        with ui.tab_panel(batch):
            await batch_tab(services, user, detail)
        if edit is not None:
            with ui.tab_panel(edit):
                await prompt_editor(services, user, detail, reload)
        with ui.tab_panel(history):
            await history_tab(services, user, detail, reload)


def _import_dialog(services: Services, user: UserInfo) -> None:
    with ui.dialog() as dialog, ui.card().classes('w-[36rem] gap-3'):
        dialog._props['aria-label'] = _('Import a prompt')
        ui.label(_('Import a prompt')).classes('text-lg font-semibold')
        ui.label(_('Upload or paste a JSON file exported from this platform. It becomes a private prompt of yours.'))
        text = ui.textarea(_('JSON')).classes('w-full').props('outlined autogrow').mark('import-json')
        error = error_label()

        async def do_import(content: str | bytes) -> None:
            try:
                detail = await services.prompts.import_json(user.id, content)
            except ServiceError as exc:
                error.text = _(exc.message)
                error.set_visibility(True)
                return
            ui.notify(_('Imported "{name}".', name=detail.name), type='positive')
            dialog.close()
            ui.navigate.to(f'/prompts/{detail.id}')

        async def uploaded(e) -> None:
            await do_import(await e.file.read())

        # Quasar's uploader draws an unnamed "add" button around its file input: a named button opens it instead
        upload = ui.upload(auto_upload=True, max_file_size=500_000, on_upload=uploaded)
        upload.props('accept=.json,application/json').classes('hidden').mark('import-upload')
        ui.button(_('Upload a JSON file'), icon='upload_file', on_click=lambda: upload.run_method('pickFiles')).props(
            'outline'
        ).mark('import-pick')
        with ui.row().classes('w-full justify-end'):
            ui.button(_('Cancel'), on_click=dialog.close).props('flat')
            ui.button(_('Import'), on_click=lambda: do_import(text.value or '')).mark('import-submit')
    dialog.open()
