"""Admin: the Ollama hosts the platform uses (label, URL, enabled) with reachability, version and latency."""

from __future__ import annotations

from nicegui import APIRouter, ui

from components.forms import confirm, error_label, guarded
from components.frame import frame
from pages.common import page_user
from services.core import i18n
from services.core.auth import Role, UserInfo
from services.core.errors import ServiceError
from services.core.i18n import _
from services.models.hosts import HostInfo, HostStatus
from services.wiring import Services

MUTED = 'text-gray-700 dark:text-gray-300'  # secondary text, AA in light and dark mode


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/admin')

    @router.page('/hosts')
    async def hosts_page() -> None:
        admin = await page_user(services, Role.ADMIN)
        if admin is None:
            return
        statuses: dict[str, HostStatus] = {s.url: s for s in services.health.snapshot()}
        with frame(services, admin, _('Ollama hosts')):
            ui.label(
                _(
                    'The Ollama servers this platform uses. The first enabled host is the default; models are looked '
                    'up on every enabled host.'
                )
            ).classes(MUTED)

            @ui.refreshable
            async def host_list() -> None:
                try:
                    hosts = await services.hosts.list_hosts(admin.id)
                except ServiceError as exc:
                    ui.label(_(exc.message)).classes('text-negative')
                    return
                if not hosts:
                    ui.label(_('No hosts yet: add one below, e.g. http://127.0.0.1:11434.')).classes(MUTED)
                for host in hosts:
                    _host_row(services, admin, host, statuses.get(host.url), changed)

            async def changed() -> None:
                host_list.refresh()
                services.health.poke()
                services.catalogue.refresh_soon()
                await check_all()

            async def check_all() -> None:
                try:
                    checked = await services.health.check_hosts(admin.id)
                except ServiceError as exc:
                    ui.notify(_(exc.message), type='negative')
                    return
                statuses.update({h.url: h.status for h in checked if h.status})
                host_list.refresh()

            with ui.row().classes('items-center'):
                ui.button(_('Check all now'), icon='network_check', on_click=check_all).props('flat').classes(
                    'dark:text-blue-300!'
                ).mark('check-all')
            with ui.column().classes('w-full gap-2').props('aria-live=polite'):  # statuses arrive after the checks
                await host_list()
            _add_form(services, admin, changed)
            ui.timer(0.1, check_all, once=True)  # fresh statuses once the page is shown

    return router


def _host_row(services: Services, admin: UserInfo, host: HostInfo, status: HostStatus | None, changed) -> None:
    with ui.card().classes('w-full py-2').props('flat bordered'), ui.row().classes('w-full items-center gap-4'):
        with ui.column().classes('gap-0 min-w-[16rem]'):
            ui.label(host.label).classes('font-semibold')
            ui.label(host.url).classes(f'text-sm {MUTED} font-mono')
        if status is None:
            ui.chip(_('not checked yet'), icon='hourglass_empty', color='grey-4').props('dense text-color=black')
        elif status.ok:
            latency = i18n.number(status.latency_ms) if status.latency_ms is not None else '–'
            up = _('up · v{version} · {ms} ms', version=status.version, ms=latency)
            ui.chip(up, icon='check_circle', color='green-9').props('dense text-color=white').mark(f'status-{host.url}')
        else:
            ui.chip(_('unreachable'), icon='cloud_off', color='red-9').props('dense text-color=white').tooltip(
                _(status.error)
            ).mark(f'status-{host.url}')
        ui.space()

        async def set_slots(e) -> None:
            value = int(e.value) if e.value not in (None, '') else None
            if await guarded(lambda: services.hosts.update_host(admin.id, host.id, slots=value)) is not None:
                if value:
                    ui.notify(_('{host} now runs {count} generations at once.', host=host.label, count=value))
                else:
                    ui.notify(_('{host} now runs the default number of generations at once.', host=host.label))

        ui.number(
            _('Slots'), value=host.slots, min=1, max=256, precision=0, placeholder=str(services.settings.ollama_slots)
        ).props('outlined dense clearable debounce=600').classes('w-28').on_value_change(set_slots).mark(
            f'slots-{host.url}'
        ).tooltip(
            _('Generations this host runs at once (empty: the default, OLLAMA_SLOTS). More calls wait their turn.')
        )

        async def toggle(e) -> None:
            if await guarded(lambda: services.hosts.update_host(admin.id, host.id, enabled=e.value)) is not None:
                text = _('{host} is now enabled.') if e.value else _('{host} is now disabled.')
                ui.notify(text.format(host=host.label), type='positive')
                await changed()

        ui.switch(_('Enabled'), value=host.enabled, on_change=toggle).mark(f'enabled-{host.url}')

        async def delete() -> None:
            if not await confirm(
                _('Remove {host}?', host=host.label),
                _('{url} will no longer be used by the platform.', url=host.url),
                action=_('Delete'),
            ):
                return
            await guarded(
                lambda: services.hosts.delete_host(admin.id, host.id), success=_('{host} removed.', host=host.label)
            )
            await changed()

        remove = ui.button(icon='delete', on_click=delete).props('flat round color=negative').mark(f'delete-{host.url}')
        remove.tooltip(_('Remove'))
        remove._props['aria-label'] = _('Remove {host}', host=host.label)


def _add_form(services: Services, admin: UserInfo, changed) -> None:
    with ui.card().classes('w-full gap-2').props('flat bordered'):
        ui.label(_('Add a host')).classes('text-lg font-semibold')
        with ui.row().classes('w-full items-start gap-2'):
            label = (
                ui.input(_('Label'), placeholder=_('GPU server'))
                .props('outlined dense')
                .classes('w-48')
                .mark('host-label')
            )
            url = (
                ui.input(_('URL'), placeholder='http://10.0.0.5:11434')
                .props('outlined dense')
                .classes('w-80')
                .mark('host-url')
            )
            add = ui.button(_('Add host'), icon='add').mark('host-add')
        error = error_label()

        async def save() -> None:
            try:
                host = await services.hosts.add_host(admin.id, label.value, url.value)
            except ServiceError as exc:
                error.text = _(exc.message)
                error.set_visibility(True)
                return
            error.set_visibility(False)
            label.value, url.value = '', ''
            ui.notify(_('{host} added ({url}).', host=host.label, url=host.url), type='positive')
            await changed()

        add.on_click(save)
        url.on('keydown.enter', save)
