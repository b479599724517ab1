"""Models: the catalogue of every enabled host, running models, and (instructors, admins) pull/create/copy/delete."""

from __future__ import annotations

from nicegui import APIRouter, ui

from components import format as fmt
from components.code_block import code_block
from components.forms import confirm, error_label, guarded
from components.frame import frame
from components.pulls import pull_card
from pages.common import page_user
from services.core import i18n
from services.core.auth import Role, UserInfo
from services.core.errors import ServiceError
from services.core.i18n import N_, _, _n
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
CAPABILITY_FILTERS = {
    'completion': N_('Completion models only'),
    'tools': N_('Tools models only'),
    'embedding': N_('Embedding models only'),
    'vision': N_('Vision models only'),
    'thinking': N_('Thinking models only'),
}  # one a capability in CAPABILITIES
MUTED = 'text-gray-700 dark:text-gray-300'  # secondary text, AA in light and dark mode
PRIMARY_TEXT = 'dark:text-blue-300!'  # flat primary buttons: Quasar's primary is too dark on dark


def create_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.page('/models')
    async def models_page(pull: str = '') -> None:
        user = await page_user(services)
        if user is None:
            return
        manager = user.at_least(Role.INSTRUCTOR)
        catalogue, admin = services.catalogue, services.model_admin
        with frame(services, user, _('Models')):
            with ui.row().classes('w-full items-center gap-2'):
                search = (
                    ui.input(_('Search models'), on_change=lambda: model_list.refresh())
                    .props('clearable outlined dense debounce=250')
                    .classes('w-64')
                    .mark('model-search')
                )
                capability = (
                    ui.select(
                        {'': _('All models'), **{c: _(CAPABILITY_FILTERS[c]) for c in CAPABILITIES}},
                        value='',
                        on_change=lambda: model_list.refresh(),
                    )
                    .props('outlined dense')
                    .classes('w-56')
                    .mark('model-capability')
                )
                capability._props['aria-label'] = _('Capability')

                async def refresh_now() -> None:
                    catalogue.refresh_soon()
                    ui.notify(_('Refreshing the catalogue in the background…'))

                refresh = ui.button(icon='refresh', on_click=refresh_now).props('flat round')
                refresh.tooltip(_('Refresh from Ollama'))
                refresh._props['aria-label'] = _('Refresh from Ollama')
                ui.space()
                if manager:
                    ui.button(_('Create model'), icon='add', on_click=lambda: _create_dialog(services, user)).mark(
                        'create-open'
                    )

            if manager:
                _pull_form(services, user, pull)

            @ui.refreshable
            def pull_list(jobs: list[PullJob]) -> None:
                for job in jobs:
                    pull_card(job, cancel if manager else None)

            async def cancel(job_id: int) -> None:
                await guarded(lambda: admin.cancel_pull(user.id, job_id), success=_('Pull cancelled.'))

            with ui.column().classes('w-full gap-2').props('aria-live=polite'):
                pull_list(admin.pulls())
            admin.pulls_changed.subscribe(pull_list.refresh, expect_args=True)

            @ui.refreshable
            async def model_list() -> None:
                try:
                    view = await catalogue.models(user.id, search.value or '', capability.value or '')
                except ServiceError as exc:
                    ui.label(_(exc.message)).classes('text-negative')
                    return
                for url, error in view.errors.items():
                    ui.label(_('{error} (the list for {url} may be out of date)', error=_(error), url=url)).classes(
                        'text-amber-800 dark:text-amber-300 text-sm'
                    )
                if view.loading and not view.models:
                    with ui.row().classes('items-center gap-2'):
                        ui.spinner()
                        ui.label(_('Loading the model list from Ollama…'))
                    return
                count = len(view.models)
                ui.label(_n('{count} model(s)', '{count} model(s)', count, count=count)).classes(f'text-sm {MUTED}')
                if not view.models:
                    hint = (
                        _('No models match. Pull one above.')
                        if manager
                        else _('No models match. Ask your instructor to pull one.')
                    )
                    ui.label(hint).classes(MUTED)
                for model in view.models:
                    _model_row(services, user, model, manager)

            with ui.column().classes('w-full gap-1'):
                await model_list()
            catalogue.changed.subscribe(lambda _view: model_list.refresh())

            ui.label(_('Running models')).classes('text-lg font-semibold mt-4')

            @ui.refreshable
            async def running_list() -> None:
                try:
                    running = await catalogue.running(user.id)
                except (ServiceError, OllamaError) as exc:
                    ui.label(_(exc.message)).classes('text-negative')
                    return
                if not running:
                    ui.label(_('No model is loaded in memory right now.')).classes(MUTED)
                for item in running:
                    with ui.card().classes('w-full py-1').props('flat bordered'):
                        with ui.row().classes('w-full items-center gap-4'):
                            ui.label(item.name).classes('font-semibold')
                            ui.label(
                                _('memory {memory} · VRAM {vram} · context {context} · unloads {when}',
                                  memory=fmt.size(item.size), vram=fmt.size(item.size_vram),
                                  context=i18n.number(item.context_length) if item.context_length else '–',
                                  when=fmt.ago(item.expires_at))
                            ).classes(f'text-sm {MUTED}')  # fmt: skip
                            ui.space()
                            if manager:

                                async def unload(item=item) -> None:
                                    await guarded(
                                        lambda: services.model_admin.unload(user.id, item.host, item.name),
                                        success=_('{name} unloaded.', name=item.name),
                                    )
                                    running_list.refresh()

                                ui.button(_('Unload'), icon='eject', on_click=unload).props('flat dense').classes(
                                    PRIMARY_TEXT
                                ).mark(f'unload-{item.name}')

            with ui.row().classes('items-center'):
                ui.button(_('Refresh'), icon='refresh', on_click=lambda: running_list.refresh()).props(
                    'flat dense'
                ).classes(PRIMARY_TEXT)
            with ui.column().classes('w-full gap-1') as running_box:
                ui.label(_('Checking…')).classes(MUTED)

            async def load_running() -> None:
                running_box.clear()
                with running_box:
                    await running_list()

            ui.timer(0.05, load_running, once=True)  # after the page is shown: never wait on Ollama to render

    return router


def _pull_form(services: Services, user: UserInfo, initial: str) -> None:
    with ui.row().classes('w-full items-start gap-2'):
        name = (
            ui.input(_('Pull a model'), value=initial, placeholder=_('e.g. llama3.2:1b'))
            .props('outlined dense')
            .classes('w-72')
            .mark('pull-name')
        )
        error = error_label()

        async def start() -> None:
            try:
                job = await services.model_admin.start_pull(user.id, name.value)
            except ServiceError as exc:
                error.text = _(exc.message)
                error.set_visibility(True)
                return
            error.set_visibility(False)
            name.value = ''
            ui.notify(
                _('Pulling {model}. You can leave this page; the pull continues.', model=job.model), type='positive'
            )

        ui.button(_('Pull'), icon='download', on_click=start).mark('pull-start')
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
                            _('modified {when}', when=fmt.ago(model.modified_at)),
                        )
                        if p
                    )
                ).classes(f'text-sm {MUTED}')
            for capability in model.capabilities:
                ui.chip(_(capability), icon=CAPABILITY_ICONS.get(capability, 'label')).props('dense outline').classes(
                    'text-primary dark:text-blue-300!'
                )
            ui.space()
            ui.label(model.host_label).classes(f'text-xs {MUTED}').tooltip(model.host)
            details = ui.button(icon='info', on_click=lambda: _details_dialog(services, user, model)).props(
                'flat round'
            )
            details.tooltip(_('Details')).mark(f'details-{model.name}')
            details._props['aria-label'] = _('Details of {name}', name=model.name)
            if model.chat_capable:
                chat = ui.button(icon='chat', on_click=lambda: ui.navigate.to(f'/playground?model={model.name}'))
                chat.props('flat round').tooltip(_('Chat with it'))
                chat._props['aria-label'] = _('Chat with {name}', name=model.name)
            if manager:
                copy = ui.button(icon='content_copy', on_click=lambda: _copy_dialog(services, user, model))
                copy.props('flat round').tooltip(_('Copy')).mark(f'copy-{model.name}')
                copy._props['aria-label'] = _('Copy {name}', name=model.name)

                async def delete() -> None:
                    if not await confirm(
                        _('Delete {name}?', name=model.name),
                        _('It will be removed from {host} ({url}). Pull it again to get it back.',
                          host=model.host_label, url=model.host),
                        action=_('Delete'),
                    ):  # fmt: skip
                        return
                    await guarded(
                        lambda: services.model_admin.delete(user.id, model.host, model.name),
                        success=_('{name} deleted.', name=model.name),
                    )

                remove = ui.button(icon='delete', on_click=delete).props('flat round color=negative')
                remove.tooltip(_('Delete')).mark(f'delete-{model.name}')
                remove._props['aria-label'] = _('Delete {name}', name=model.name)


async def _details_dialog(services: Services, user: UserInfo, model: ModelInfo) -> None:
    details = await guarded(lambda: services.catalogue.details(user.id, model.host, model.name))
    if details is None:
        return
    with ui.dialog() as dialog, ui.card().classes('w-[48rem] max-w-full gap-2'):
        ui.label(model.name).classes('text-lg font-semibold')
        capabilities = ', '.join(_(c) for c in details.capabilities) or _('unknown')
        ui.label(_('Capabilities: {capabilities}', capabilities=capabilities)).classes('text-sm')
        if model.context_length:
            context = i18n.number(model.context_length)
            ui.label(_('Context length: {count} tokens', count=context)).classes('text-sm')
        for title, text in (
            (N_('Parameters'), details.parameters),
            (N_('Template'), details.template),
            (N_('Modelfile'), details.modelfile),
            (N_('Licence'), details.license),
        ):
            with ui.expansion(_(title), value=title == 'Parameters').classes('w-full'):
                code_block(text or _('(none)'), language='text').classes('w-full max-h-80 overflow-auto')
        with ui.row().classes('w-full justify-end'):
            ui.button(_('Close'), on_click=dialog.close).props('flat').classes(PRIMARY_TEXT)
    dialog.open()


def _copy_dialog(services: Services, user: UserInfo, model: ModelInfo) -> None:
    with ui.dialog() as dialog, ui.card().classes('w-96 gap-3'):
        ui.label(_('Copy {name}', name=model.name)).classes('text-lg font-semibold')
        name = ui.input(_('New name'), placeholder='my-model:latest').props('outlined autofocus').classes('w-full')
        name.mark('copy-name')
        error = error_label()

        async def save() -> None:
            try:
                created = await services.model_admin.copy(user.id, model.host, model.name, name.value)
            except (ServiceError, OllamaError) as exc:
                error.text = _(exc.message)
                error.set_visibility(True)
                return
            ui.notify(_('Copied to {name}.', name=created), type='positive')
            dialog.close()

        name.on('keydown.enter', save)
        with ui.row().classes('w-full justify-end'):
            ui.button(_('Cancel'), on_click=dialog.close).props('flat').classes(PRIMARY_TEXT)
            ui.button(_('Copy'), on_click=save).mark('copy-save')
    dialog.open()


async def _create_dialog(services: Services, user: UserInfo) -> None:
    bases = [m.name for m in await services.catalogue.chat_models(user.id)]
    with ui.dialog() as dialog, ui.card().classes('w-[32rem] gap-3'):
        ui.label(_('Create a custom model')).classes('text-lg font-semibold')
        name = ui.input(_('Name'), placeholder='pirate:latest').props('outlined autofocus').classes('w-full')
        name.mark('create-name')
        base = ui.select(bases, label=_('Base model'), value=bases[0] if bases else None).props('outlined')
        base.classes('w-full').mark('create-base')
        system = ui.textarea(_('System prompt'), placeholder=_('You are a helpful pirate.')).props('outlined autogrow')
        system.classes('w-full').mark('create-system')
        with ui.row().classes('w-full gap-2'):
            temperature = ui.number(_('Temperature'), min=0, max=2, step=0.1).props('outlined dense').classes('w-36')
            temperature.mark('create-temperature')
            num_ctx = ui.number(_('Context (num_ctx)'), min=256, max=131072, step=256).props('outlined dense')
            num_ctx.classes('w-44')
        error = error_label()

        async def save() -> None:
            params = {'temperature': temperature.value, 'num_ctx': num_ctx.value}
            try:
                created = await services.model_admin.create(user.id, name.value, base.value, system.value, params)
            except (ServiceError, OllamaError) as exc:
                error.text = _(exc.message)
                error.set_visibility(True)
                return
            ui.notify(_('{name} created.', name=created), type='positive')
            dialog.close()

        with ui.row().classes('w-full justify-end'):
            ui.button(_('Cancel'), on_click=dialog.close).props('flat').classes(PRIMARY_TEXT)
            ui.button(_('Create'), on_click=save).mark('create-save')
    dialog.open()
