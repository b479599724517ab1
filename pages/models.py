"""Models: the catalogue of every enabled host, running models, and (instructors, admins) pull/create/copy/delete."""

from __future__ import annotations

from nicegui import APIRouter, ui

from components import format as fmt
from components.forms import confirm, error_label, guarded
from components.frame import frame
from components.pulls import pull_card
from pages.common import page_user
from services.core.auth import Role, UserInfo
from services.core.errors import ServiceError
from services.models.admin import PullJob
from services.models.catalogue import CAPABILITIES, ModelInfo
from services.models.errors import OllamaError
from services.wiring import Services

CAPABILITY_ICONS = {
    'completion': 'chat',
    'tools': 'build',
    'embedding': 'scatter_plot',
    'vision': 'visibility',
    'thinking': 'psychology',
}


def create_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.page('/models')
    async def models_page(pull: str = '') -> None:
        user = await page_user(services)
        if user is None:
            return
        manager = user.at_least(Role.INSTRUCTOR)
        catalogue, admin = services.catalogue, services.model_admin
        with frame(services, user, 'Models'):
            with ui.row().classes('w-full items-center gap-2'):
                search = (
                    ui.input('Search models', on_change=lambda: model_list.refresh())
                    .props('clearable outlined dense debounce=250')
                    .classes('w-64')
                    .mark('model-search')
                )
                capability = (
                    ui.select(
                        {'': 'All models', **{c: f'{c.title()} models only' for c in CAPABILITIES}},
                        value='',
                        on_change=lambda: model_list.refresh(),
                    )
                    .props('outlined dense')
                    .classes('w-56')
                    .mark('model-capability')
                )

                async def refresh_now() -> None:
                    catalogue.refresh_soon()
                    ui.notify('Refreshing the catalogue in the background…')

                ui.button(icon='refresh', on_click=refresh_now).props('flat round').tooltip('Refresh from Ollama')
                ui.space()
                if manager:
                    ui.button('Create model', icon='add', on_click=lambda: _create_dialog(services, user)).mark(
                        'create-open'
                    )

            if manager:
                _pull_form(services, user, pull)

            @ui.refreshable
            def pull_list(jobs: list[PullJob]) -> None:
                for job in jobs:
                    pull_card(job, cancel if manager else None)

            async def cancel(job_id: int) -> None:
                await guarded(lambda: admin.cancel_pull(user.id, job_id), success='Pull cancelled.')

            with ui.column().classes('w-full gap-2'):
                pull_list(admin.pulls())
            admin.pulls_changed.subscribe(pull_list.refresh, expect_args=True)

            @ui.refreshable
            async def model_list() -> None:
                try:
                    view = await catalogue.models(user.id, search.value or '', capability.value or '')
                except ServiceError as exc:
                    ui.label(exc.message).classes('text-negative')
                    return
                for url, error in view.errors.items():
                    ui.label(f'{error} (the list for {url} may be out of date)').classes('text-warning text-sm')
                if view.loading and not view.models:
                    with ui.row().classes('items-center gap-2'):
                        ui.spinner()
                        ui.label('Loading the model list from Ollama…')
                    return
                ui.label(f'{len(view.models)} model(s)').classes('text-sm text-gray-500')
                if not view.models:
                    hint = 'Pull one above.' if manager else 'Ask your instructor to pull one.'
                    ui.label(f'No models match. {hint}').classes('text-gray-500')
                for model in view.models:
                    _model_row(services, user, model, manager)

            with ui.column().classes('w-full gap-1'):
                await model_list()
            catalogue.changed.subscribe(lambda _view: model_list.refresh())

            ui.label('Running models').classes('text-lg font-semibold mt-4')

            @ui.refreshable
            async def running_list() -> None:
                try:
                    running = await catalogue.running(user.id)
                except (ServiceError, OllamaError) as exc:
                    ui.label(exc.message).classes('text-negative')
                    return
                if not running:
                    ui.label('No model is loaded in memory right now.').classes('text-gray-500')
                for item in running:
                    with ui.card().classes('w-full py-1').props('flat bordered'):
                        with ui.row().classes('w-full items-center gap-4'):
                            ui.label(item.name).classes('font-semibold')
                            ui.label(
                                f'memory {fmt.size(item.size)} · VRAM {fmt.size(item.size_vram)} · '
                                f'context {item.context_length or "–"} · unloads {fmt.ago(item.expires_at)}'
                            ).classes('text-sm text-gray-500')
                            ui.space()
                            if manager:

                                async def unload(item=item) -> None:
                                    await guarded(
                                        lambda: services.model_admin.unload(user.id, item.host, item.name),
                                        success=f'{item.name} unloaded.',
                                    )
                                    running_list.refresh()

                                ui.button('Unload', icon='eject', on_click=unload).props('flat dense').mark(
                                    f'unload-{item.name}'
                                )

            with ui.row().classes('items-center'):
                ui.button('Refresh', icon='refresh', on_click=lambda: running_list.refresh()).props('flat dense')
            with ui.column().classes('w-full gap-1') as running_box:
                ui.label('Checking…').classes('text-gray-500')

            async def load_running() -> None:
                running_box.clear()
                with running_box:
                    await running_list()

            ui.timer(0.05, load_running, once=True)  # after the page is shown: never wait on Ollama to render

    return router


def _pull_form(services: Services, user: UserInfo, initial: str) -> None:
    with ui.row().classes('w-full items-start gap-2'):
        name = (
            ui.input('Pull a model', value=initial, placeholder='e.g. llama3.2:1b')
            .props('outlined dense')
            .classes('w-72')
            .mark('pull-name')
        )
        error = error_label()

        async def start() -> None:
            try:
                job = await services.model_admin.start_pull(user.id, name.value)
            except ServiceError as exc:
                error.text = exc.message
                error.set_visibility(True)
                return
            error.set_visibility(False)
            name.value = ''
            ui.notify(f'Pulling {job.model}. You can leave this page; the pull continues.', type='positive')

        ui.button('Pull', icon='download', on_click=start).mark('pull-start')
        name.on('keydown.enter', start)


def _model_row(services: Services, user: UserInfo, model: ModelInfo, manager: bool) -> None:
    with ui.card().classes('w-full py-2').props('flat bordered').mark(f'model-{model.name}'):
        with ui.row().classes('w-full items-center gap-3'):
            with ui.column().classes('gap-0 min-w-[14rem]'):
                ui.label(model.name).classes('font-semibold')
                ui.label(
                    ' · '.join(
                        p
                        for p in (
                            model.family,
                            model.parameter_size,
                            model.quantization,
                            fmt.size(model.size),
                            f'modified {fmt.ago(model.modified_at)}',
                        )
                        if p
                    )
                ).classes('text-sm text-gray-500')
            for capability in model.capabilities:
                ui.chip(capability, icon=CAPABILITY_ICONS.get(capability, 'label')).props('dense outline')
            ui.space()
            ui.label(model.host_label).classes('text-xs text-gray-500').tooltip(model.host)
            ui.button(icon='info', on_click=lambda: _details_dialog(services, user, model)).props('flat round').tooltip(
                'Details'
            ).mark(f'details-{model.name}')
            if model.chat_capable:
                ui.button(icon='chat', on_click=lambda: ui.navigate.to(f'/playground?model={model.name}')).props(
                    'flat round'
                ).tooltip('Chat with it')
            if manager:
                ui.button(icon='content_copy', on_click=lambda: _copy_dialog(services, user, model)).props(
                    'flat round'
                ).tooltip('Copy').mark(f'copy-{model.name}')

                async def delete() -> None:
                    if not await confirm(
                        f'Delete {model.name}?',
                        f'It will be removed from {model.host_label} ({model.host}). Pull it again to get it back.',
                    ):
                        return
                    await guarded(
                        lambda: services.model_admin.delete(user.id, model.host, model.name),
                        success=f'{model.name} deleted.',
                    )

                ui.button(icon='delete', on_click=delete).props('flat round color=negative').tooltip('Delete').mark(
                    f'delete-{model.name}'
                )


async def _details_dialog(services: Services, user: UserInfo, model: ModelInfo) -> None:
    details = await guarded(lambda: services.catalogue.details(user.id, model.host, model.name))
    if details is None:
        return
    with ui.dialog() as dialog, ui.card().classes('w-[48rem] max-w-full gap-2'):
        ui.label(model.name).classes('text-lg font-semibold')
        ui.label('Capabilities: ' + (', '.join(details.capabilities) or 'unknown')).classes('text-sm')
        if model.context_length:
            ui.label(f'Context length: {model.context_length:,} tokens').classes('text-sm')
        for title, text in (
            ('Parameters', details.parameters),
            ('Template', details.template),
            ('Modelfile', details.modelfile),
            ('Licence', details.license),
        ):
            with ui.expansion(title, value=title == 'Parameters').classes('w-full'):
                ui.code(text or '(none)', language='text').classes('w-full max-h-80 overflow-auto')
        with ui.row().classes('w-full justify-end'):
            ui.button('Close', on_click=dialog.close).props('flat')
    dialog.open()


def _copy_dialog(services: Services, user: UserInfo, model: ModelInfo) -> None:
    with ui.dialog() as dialog, ui.card().classes('w-96 gap-3'):
        ui.label(f'Copy {model.name}').classes('text-lg font-semibold')
        name = ui.input('New name', placeholder='my-model:latest').props('outlined autofocus').classes('w-full')
        name.mark('copy-name')
        error = error_label()

        async def save() -> None:
            try:
                created = await services.model_admin.copy(user.id, model.host, model.name, name.value)
            except (ServiceError, OllamaError) as exc:
                error.text = exc.message
                error.set_visibility(True)
                return
            ui.notify(f'Copied to {created}.', type='positive')
            dialog.close()

        name.on('keydown.enter', save)
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
            ui.button('Copy', on_click=save).mark('copy-save')
    dialog.open()


async def _create_dialog(services: Services, user: UserInfo) -> None:
    bases = [m.name for m in await services.catalogue.chat_models(user.id)]
    with ui.dialog() as dialog, ui.card().classes('w-[32rem] gap-3'):
        ui.label('Create a custom model').classes('text-lg font-semibold')
        name = ui.input('Name', placeholder='pirate:latest').props('outlined autofocus').classes('w-full')
        name.mark('create-name')
        base = ui.select(bases, label='Base model', value=bases[0] if bases else None).props('outlined')
        base.classes('w-full').mark('create-base')
        system = ui.textarea('System prompt', placeholder='You are a helpful pirate.').props('outlined autogrow')
        system.classes('w-full').mark('create-system')
        with ui.row().classes('w-full gap-2'):
            temperature = ui.number('Temperature', min=0, max=2, step=0.1).props('outlined dense').classes('w-36')
            temperature.mark('create-temperature')
            num_ctx = ui.number('Context (num_ctx)', min=256, max=131072, step=256).props('outlined dense')
            num_ctx.classes('w-44')
        error = error_label()

        async def save() -> None:
            params = {'temperature': temperature.value, 'num_ctx': num_ctx.value}
            try:
                created = await services.model_admin.create(user.id, name.value, base.value, system.value, params)
            except (ServiceError, OllamaError) as exc:
                error.text = exc.message
                error.set_visibility(True)
                return
            ui.notify(f'{created} created.', type='positive')
            dialog.close()

        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
            ui.button('Create', on_click=save).mark('create-save')
    dialog.open()
