"""The page frame used by every signed-in page: header, role-aware navigation, user menu, dark mode, Ollama status.

with frame(services, user, 'Playground'):
    ui.label('page content')
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from nicegui import app, ui

from components import i18n as i18n_ui
from components import theme
from components.forms import sign_out
from components.nav import items_for
from services.core.auth import Role, UserInfo
from services.core.i18n import _

if TYPE_CHECKING:
    from services.models.hosts import HostStatus
    from services.wiring import Services


@contextmanager
def frame(services: Services, user: UserInfo, title: str) -> Iterator[ui.column]:
    theme.apply()
    ui.page_title(f'{title} · {theme.PRODUCT_NAME}')
    dark = ui.dark_mode(app.storage.user.get('dark', False))

    with ui.header(elevated=True).classes('items-center gap-2 px-4 py-2 bg-primary text-white'):
        ui.button(icon='menu', on_click=lambda: drawer.toggle()).props('flat round color=white aria-label="Menu"')
        ui.link(theme.PRODUCT_NAME, '/').classes('text-lg font-semibold text-white no-underline')
        ui.space()
        _ollama_indicator(services)

        def toggle_dark() -> None:
            dark.value = not dark.value
            app.storage.user['dark'] = dark.value

        ui.button(icon='dark_mode', on_click=toggle_dark).props(
            f'flat round color=white aria-label="{_("Dark mode")}"'
        ).tooltip(_('Dark mode'))
        i18n_ui.switcher(lambda language: services.auth.set_language(user.id, language))
        _user_menu(user)

    current = _current_path()
    items = items_for(user.role)
    matches = [i.path for i in items if current == i.path or (i.path != '/' and current.startswith(i.path + '/'))]
    active_path = max(matches, key=len, default='')  # the most specific area: /tools/chat, not also /tools
    with (
        ui.left_drawer(value=True)
        .classes('bg-gray-50 dark:bg-gray-900 gap-1 px-2')
        .props('width=230 breakpoint=900') as drawer
    ):
        for item in items:  # one element a link (a QBtn rendered as <a href>): the drawer is on every page load
            active = item.path == active_path
            ui.button(item.label, icon=item.icon).props(
                f'flat no-caps align=left href="{item.path}" color={"primary" if active else "dark"}'
                + (' aria-current=page' if active else '')
            ).classes(
                'w-full rounded px-3 '
                + ('bg-blue-100 dark:bg-blue-900 font-semibold' if active else 'text-gray-800 dark:text-gray-200')
            )

    with ui.column().classes(theme.CONTENT_CLASSES) as content:
        _ollama_banner(services, user)
        ui.label(title).classes('text-2xl font-semibold')
        yield content


def _current_path() -> str:
    request = ui.context.client.request
    return request.url.path if request is not None else ''


def _user_menu(user: UserInfo) -> None:
    with ui.button(icon='account_circle').props('flat round color=white aria-label="Account"'):
        with ui.menu():
            with ui.column().classes('px-4 py-2 gap-0'):
                ui.label(user.display_name).classes('font-semibold')
                ui.label(user.email).classes('text-sm text-gray-500')
                ui.badge(user.role.value, color=theme.ROLE_COLORS[user.role.value]).classes('mt-1')
            ui.separator()
            ui.menu_item('Sign out', on_click=sign_out)


def _ollama_indicator(services: Services) -> None:
    @ui.refreshable
    def indicator(statuses: list[HostStatus]) -> None:
        if not statuses:
            ui.chip('Ollama: checking', icon='hourglass_empty', color='grey-5').props('dense')
            return
        up = sum(s.ok for s in statuses)
        color = 'positive' if up == len(statuses) else 'warning' if up else 'negative'
        text = 'Ollama: up' if up == len(statuses) else f'Ollama: {up}/{len(statuses)} up'
        chip = ui.chip(text, icon='circle', color=color).props('dense text-color=white')
        chip.tooltip('\n'.join(f'{s.url}: {"up, " + str(s.latency_ms) + " ms" if s.ok else "down"}' for s in statuses))

    indicator(services.health.snapshot())
    services.health.changed.subscribe(lambda statuses: indicator.refresh(statuses))


def _ollama_banner(services: Services, user: UserInfo) -> None:
    @ui.refreshable
    def banner(statuses: list[HostStatus]) -> None:
        for status in (s for s in statuses if not s.ok):
            with ui.card().classes('w-full bg-red-50 dark:bg-red-950 border border-red-300').props('flat'):
                with ui.row().classes('items-center gap-3 no-wrap'):
                    ui.icon('cloud_off', size='md').classes('text-negative')
                    with ui.column().classes('gap-0'):
                        ui.label(f'Ollama at {status.url} is not reachable.').classes('font-semibold')
                        hint = (
                            'Start Ollama on that machine (`ollama serve`) or fix the host in the settings.'
                            if user.at_least(Role.ADMIN)
                            else 'Models and chats will not work until it is back. Tell your instructor or admin.'
                        )
                        ui.label(hint).classes('text-sm')

    banner(services.health.snapshot())
    services.health.changed.subscribe(lambda statuses: banner.refresh(statuses))
