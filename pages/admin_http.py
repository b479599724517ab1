"""Admin: the hosts HTTP tools may call."""

from __future__ import annotations

from nicegui import APIRouter, ui

from components.forms import confirm, error_label, guarded
from components.frame import frame
from pages.common import page_user
from services.core.auth import Role
from services.core.errors import ServiceError
from services.core.i18n import _
from services.wiring import Services


def create_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.page('/admin/http-allowlist')
    async def allowlist_page() -> None:
        admin = await page_user(services, Role.ADMIN)
        if admin is None:
            return
        with frame(services, admin, _('HTTP allow-list')):
            ui.label(
                _(
                    'HTTP tools can only call these hosts. Even then, hosts that resolve to loopback, private or '
                    'link-local addresses (such as 169.254.169.254) are refused — unless you tick "allow private '
                    'addresses" for one host and port. That exception is unsafe: it lets every attendee reach that '
                    'internal service through a tool. Use it only for services meant to be reached that way.'
                )
            ).classes('text-gray-700 dark:text-gray-300')
            with ui.row().classes('w-full items-center gap-3'):
                host = ui.input(_('Host name or IP')).props('outlined dense').classes('w-64').mark('allow-host')
                port = (
                    ui.number(_('Port (empty = any)'), format='%d')
                    .props('outlined dense')
                    .classes('w-40')
                    .mark('allow-port')
                )
                private = ui.checkbox(_('allow private addresses (unsafe)')).mark('allow-private')
                note = ui.input(_('Note')).props('outlined dense').classes('grow').mark('allow-note')
                add = ui.button(_('Allow'), icon='add').mark('allow-add')
            error = error_label()

            @ui.refreshable
            async def entries() -> None:
                rows = await guarded(lambda: services.tools.allowed_hosts(admin.id)) or []
                if not rows:
                    ui.label(_('No hosts yet: HTTP tools cannot call anything.')).classes(
                        'text-gray-700 dark:text-gray-300'
                    )
                for row in rows:
                    with ui.card().classes('w-full py-1').props('flat bordered'):
                        with ui.row().classes('w-full items-center gap-3'):
                            ui.label(f'{row.host}:{row.port or _("any port")}').classes('font-mono font-semibold')
                            if row.allow_private:
                                ui.badge(_('private addresses allowed'), color='negative')
                            ui.label(row.note).classes('text-sm text-gray-700 dark:text-gray-300 grow')

                            async def remove(entry_id: int = row.id, label: str = row.host) -> None:
                                if not await confirm(
                                    _('Remove {host}?', host=label),
                                    _('HTTP tools will no longer reach it.'),
                                    action=_('Delete'),
                                ):
                                    return

                                async def act() -> bool:
                                    await services.tools.remove_allowed(admin.id, entry_id)
                                    return True

                                if await guarded(act, success=_('{host} removed.', host=label)):
                                    entries.refresh()

                            delete = ui.button(icon='delete', on_click=remove).props('flat round')
                            delete.mark(f'remove-{row.host}').tooltip(_('Remove'))
                            delete._props['aria-label'] = _('Remove {host}', host=row.host)

            async def do_add() -> None:
                error.set_visibility(False)
                try:
                    entry = await services.tools.allow_host(
                        admin.id,
                        host.value or '',
                        int(port.value) if port.value else None,
                        allow_private=bool(private.value),
                        note=note.value or '',
                    )
                except ServiceError as exc:
                    error.text = _(exc.message)
                    error.set_visibility(True)
                    return
                ui.notify(_('{host} allowed.', host=entry.host), type='positive')
                host.value, port.value, note.value, private.value = '', None, '', False
                entries.refresh()

            add.on_click(do_add)
            host.on('keydown.enter', do_add)
            with ui.column().classes('w-full gap-1'):
                await entries()

    return router
