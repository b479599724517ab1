"""The home page: what a signed-in user can do next."""

from __future__ import annotations

from nicegui import APIRouter, ui

from components.frame import frame
from components.nav import items_for
from pages.common import page_user
from services.core import actions, i18n
from services.core.i18n import _
from services.wiring import Services


def create_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.page('/')
    async def home() -> None:
        user = await page_user(services)
        if user is None:
            return
        with frame(services, user, _('Welcome, {name}', name=user.display_name)):
            ui.label(
                _(
                    'Signed in as {email} ({role}). Pick an area to start: everything here runs on '
                    'the local models of this workshop.',
                    email=user.email,
                    role=_(user.role.value),
                )
            ).classes('text-gray-600 dark:text-gray-300')
            with ui.grid().classes('w-full gap-4 grid-cols-1 sm:grid-cols-2 lg:grid-cols-3'):
                for item in items_for(user.role):
                    if item.path == '/':
                        continue
                    with ui.link(target=item.path).classes('no-underline text-inherit'):
                        with ui.card().classes('h-full hover:shadow-lg'):
                            with ui.row().classes('items-center gap-2'):
                                ui.icon(item.icon, size='sm').classes('text-primary')
                                ui.label(_(item.label)).classes('text-lg font-semibold').props(
                                    'role=heading aria-level=2'
                                )
                            ui.label(_(item.description)).classes('text-sm text-gray-600 dark:text-gray-300')
            activity = await services.activity.recent_for_user(user.id, limit=10)
            ui.label(_('Your recent activity')).classes('text-lg font-semibold mt-4').props('role=heading aria-level=2')
            if not activity:
                ui.label(_('Nothing yet. What you do on the platform will be listed here.')).classes(
                    'text-gray-700 dark:text-gray-300'
                )
            else:
                with ui.list().props('dense separator bordered').classes('w-full'):
                    for item in activity:
                        with ui.item():
                            with ui.item_section():
                                ui.item_label(_(actions.label(item.action)))
                                ui.item_label(i18n.moment(item.created_at)).props('caption')
                            if item.error:
                                with ui.item_section().props('side'):
                                    ui.icon('error', color='negative').tooltip(item.error)

    return router
