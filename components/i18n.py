"""The language of each browser tab: the person's choice, else their browser's; and the switch to change it.

`services.core.i18n` translates; this module tells it whose language applies. A tab's language is fixed when its
page is built (`use()` from `pages.common.page_user` for a signed-in person, or lazily from the browser for the
sign-in and join pages) and kept with the NiceGUI client, so event handlers and live refreshes of that tab speak
the same language. The page's `<html lang>` and Quasar's own texts (table pagination, date pickers) follow it.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from weakref import WeakKeyDictionary

from nicegui import Client, app, ui
from nicegui.context import context

from services.core import i18n
from services.core.i18n import LANGUAGES, _

_languages: WeakKeyDictionary[Client, str] = WeakKeyDictionary()
QUASAR = {'en': 'en-GB', 'de': 'de-DE'}


def browser_language(client: Client) -> str:
    """The language this browser chose before (kept in its storage), else the first shipped one it accepts."""
    try:
        chosen = app.storage.user.get('lang')
    except RuntimeError:  # no storage for this request (a prefetch, a test client without a session)
        chosen = None
    if chosen in LANGUAGES:
        return chosen
    request = client.request
    return i18n.negotiate(request.headers.get('accept-language') if request is not None else None)


def _resolve() -> str:
    client = context.client
    language = _languages.get(client)
    if language is None:
        language = browser_language(client)
        use(language, client)
    return language


def use(language: str | None, client: Client | None = None) -> None:
    """Serve this tab (the current client) in `language` (None or unknown: the browser's)."""
    client = client or context.client
    if language not in LANGUAGES:
        language = browser_language(client)
    _languages[client] = language
    if not client.has_socket_connection:  # still building: the page's <html lang> and Quasar's texts follow
        page = copy.copy(client.page)
        page.language = QUASAR[language]
        client.page = page


def switcher(
    on_choose: Callable[[str], Awaitable[None] | None] | None = None, *, color: str = 'white', show_name: bool = False
) -> ui.button:
    """A menu of the shipped languages, each named in itself; choosing one keeps it for this browser (and calls
    `on_choose`, which stores it with the account) and reloads the page in it. `show_name`: the button says the
    current language (the sign-in pages); otherwise it is an icon (the header)."""
    current = i18n.current()

    async def choose(language: str) -> None:
        app.storage.user['lang'] = language
        if on_choose is not None:
            result = on_choose(language)
            if result is not None:
                await result
        ui.navigate.reload()

    button = ui.button(LANGUAGES[current] if show_name else '', icon='translate')
    button.props(f'flat no-caps color={color}' + ('' if show_name else ' round')).mark('language')
    button._props['aria-label'] = _('Language: {language}', language=LANGUAGES[current])
    with button:
        ui.tooltip(_('Language'))
        with ui.menu():
            for code, name in LANGUAGES.items():
                item = ui.menu_item(name, on_click=lambda code=code: choose(code))
                item.props(f'lang={code}' + (' active' if code == current else ''))
    return button


i18n.set_resolver(_resolve)
