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
from services.core import i18n
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
        skip_link()
        menu = ui.button(icon='menu', on_click=lambda: drawer.toggle()).props('flat round color=white')
        menu._props['aria-label'] = _('Menu')
        menu.tooltip(_('Menu'))
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
            # colours from the classes, readable in light and dark (Quasar's `color=dark` stays near-black in dark mode)
            ui.button(_(item.label), icon=item.icon, color=None).props(
                f'flat no-caps align=left href="{item.path}"' + (' aria-current=page' if active else '')
            ).classes(
                'w-full rounded px-3 '
                + (
                    'bg-blue-100 text-blue-900 dark:bg-blue-900 dark:text-blue-50 font-semibold'
                    if active
                    else 'text-gray-800 dark:text-gray-200'
                )
            )

    with ui.column().classes(theme.CONTENT_CLASSES).props(f'id={theme.CONTENT_ID} tabindex=-1 role=main') as content:
        _ollama_banner(services, user)
        ui.label(title).classes('text-2xl font-semibold').props('role=heading aria-level=1')
        yield content


def skip_link() -> ui.link:
    """'Skip to content': the first stop of the Tab key, shown when focused; it moves focus to the page's content
    (the column with the id `theme.CONTENT_ID`), past the header and the navigation."""
    link = ui.link(_('Skip to content'), f'#{theme.CONTENT_ID}').classes('skip-link').mark('skip-link')
    link.on(
        'click',
        js_handler=f'(e) => {{ e.preventDefault(); document.getElementById("{theme.CONTENT_ID}")?.focus(); }}',
    )
    return link


def _current_path() -> str:
    request = ui.context.client.request
    return request.url.path if request is not None else ''


def _user_menu(user: UserInfo) -> None:
    with ui.button(icon='account_circle').props('flat round color=white') as button:
        button._props['aria-label'] = _('Account')
        button.tooltip(_('Account'))
        with ui.menu():
            with ui.column().classes('px-4 py-2 gap-0'):
                ui.label(user.display_name).classes('font-semibold')
                ui.label(user.email).classes('text-sm text-gray-700 dark:text-gray-300')
                ui.badge(_(user.role.value), color=theme.ROLE_COLORS[user.role.value]).classes('mt-1')
            ui.separator()
            ui.menu_item(_('Sign out'), on_click=sign_out)


def _ollama_indicator(services: Services) -> None:
    @ui.refreshable
    def indicator(statuses: list[HostStatus]) -> None:
        if not statuses:
            ui.chip(_('Ollama: checking'), icon='hourglass_empty', color='grey-8').props('dense text-color=white')
            return
        up = sum(s.ok for s in statuses)
        color = 'positive' if up == len(statuses) else 'warning' if up else 'negative'
        text = _('Ollama: up') if up == len(statuses) else _('Ollama: {up}/{total} up', up=up, total=len(statuses))
        chip = ui.chip(text, icon='circle', color=color).props('dense text-color=white')
        chip.tooltip(
            '\n'.join(
                _('{url}: up, {ms} ms', url=s.url, ms=i18n.number(s.latency_ms or 0))
                if s.ok
                else _('{url}: down', url=s.url)
                for s in statuses
            )
        )

    with ui.element('span').props('role=status aria-live=polite'):  # a change of Ollama's state is announced
        indicator(services.health.snapshot())
    services.health.changed.subscribe(lambda statuses: indicator.refresh(statuses))


def _ollama_banner(services: Services, user: UserInfo) -> None:
    @ui.refreshable
    def banner(statuses: list[HostStatus]) -> None:
        for status in (s for s in statuses if not s.ok):
            card = ui.card().classes('w-full bg-red-50 dark:bg-red-950 border border-red-300').props('flat role=alert')
            with card:
                with ui.row().classes('items-center gap-3 no-wrap'):
                    ui.icon('cloud_off', size='md').classes('text-negative')
                    with ui.column().classes('gap-0'):
                        ui.label(_('Ollama at {url} is not reachable.', url=status.url)).classes('font-semibold')
                        hint = (
                            _('Start Ollama on that machine (`ollama serve`) or fix the host in the settings.')
                            if user.at_least(Role.ADMIN)
                            else _('Models and chats will not work until it is back. Tell your instructor or admin.')
                        )
                        ui.label(hint).classes('text-sm')

    banner(services.health.snapshot())
    services.health.changed.subscribe(lambda statuses: banner.refresh(statuses))
