"""Browser sessions follow account changes at once (issue 14 item 11).

A browser is signed in while its NiceGUI user storage (keyed by the browser id in the signed session cookie) holds a
`user_id`. `end_for_user` signs one account out of every browser this process knows and sends its open pages to
/login, then drops those pages' clients so their timers and live feeds stop sending anything.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)

CLOSE_DELAY_SECONDS = 1.0  # time for the navigation message to reach the browser before its client is dropped


def _browser_id(client) -> str | None:
    try:
        return client.request.session.get('id')
    except (AssertionError, RuntimeError):  # no request (never happens for pages) or no session middleware
        return None


def end_for_user(user_id: int) -> int:
    """Sign `user_id` out of every browser and close its open pages; returns how many pages were closed."""
    from nicegui import Client, app, ui  # the UI layer's storage: imported here so services load without it

    browsers = set()
    for browser_id, storage in list(app.storage._users.items()):
        if storage.get('user_id') == user_id:
            storage.pop('user_id', None)
            browsers.add(browser_id)
    closed = []
    for client in list(Client.instances.values()):
        if _browser_id(client) in browsers:
            with client:
                ui.navigate.to('/login')
            closed.append(client)
    if closed:
        loop = asyncio.get_running_loop()
        loop.call_later(CLOSE_DELAY_SECONDS, _drop, closed)
    log.info('user %s signed out of %d browser(s), %d open page(s) closed', user_id, len(browsers), len(closed))
    return len(closed)


def _drop(clients: list) -> None:
    from nicegui import Client

    for client in clients:
        if client.id in Client.instances:
            try:
                client.delete()
            except KeyError:
                pass
