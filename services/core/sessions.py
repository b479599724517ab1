"""Browser sign-in sessions (issue 14 items 2 and 11).

A browser is signed in while its NiceGUI user storage (keyed by the browser id in the signed session cookie) holds a
`user_id`. Every sign-in gives the browser a NEW browser id (`sign_in`, on an HTTP request, so the new cookie is
set): an id planted in the browser before the sign-in (session fixation) never becomes signed in. A sign-in that
happens in a page event (a websocket message cannot set a cookie) ends with a one-time ticket (`ticket_url`) that
the browser redeems at /auth/complete. `end_for_user` signs one account out of every browser this process knows and
sends its open pages to /login, then drops those pages' clients so their timers and live feeds stop sending anything.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote

log = logging.getLogger(__name__)

CLOSE_DELAY_SECONDS = 1.0  # time for the navigation message to reach the browser before its client is dropped
TICKET_SECONDS = 60.0  # a sign-in ticket must be redeemed this soon after the sign-in


@dataclass(frozen=True, slots=True)
class Ticket:
    user_id: int
    next: str
    expires: float


_tickets: dict[str, Ticket] = {}


DEVICE_COOKIE = 'owp_device'  # a remembered device of an attendee who joined by code (services.workshops.identity)


def ticket_url(user_id: int, next: str = '/', *, via: str = '/auth/complete') -> str:
    """Where a page event sends the browser after a successful sign-in: /auth/complete (or another route that redeems
    tickets, `via`) with a one-time ticket."""
    now = time.monotonic()
    for key in [k for k, t in _tickets.items() if t.expires < now]:
        del _tickets[key]
    ticket = secrets.token_urlsafe(32)
    _tickets[ticket] = Ticket(user_id, next, now + TICKET_SECONDS)
    return f'{via}?ticket={quote(ticket)}'


def redeem(ticket: str) -> Ticket | None:
    """The sign-in a ticket stands for, once; None when unknown, used or expired."""
    found = _tickets.pop(ticket or '', None)
    return found if found and found.expires >= time.monotonic() else None


async def sign_in(request, user_id: int) -> None:
    """Sign the browser of this HTTP request in as `user_id` under a NEW browser id (the response sets the new
    session cookie); the old id's storage is signed out."""
    from nicegui import app

    old = app.storage._users.get(request.session.get('id', ''))
    if old is not None:
        old.pop('user_id', None)
    browser_id = str(uuid.uuid4())
    await app.storage._create_user_storage(browser_id)
    request.session['id'] = browser_id
    app.storage._users[browser_id]['user_id'] = user_id


async def sign_out(request) -> None:
    """End this browser's sign-in on the server and give it a new, anonymous browser id."""
    from nicegui import app

    old = app.storage._users.get(request.session.get('id', ''))
    if old is not None:
        old.clear()
    browser_id = str(uuid.uuid4())
    await app.storage._create_user_storage(browser_id)
    request.session['id'] = browser_id


def _browser_id(client) -> str | None:
    try:
        return client.request.session.get('id')
    except (AssertionError, RuntimeError):  # no request (never happens for pages) or no session middleware
        return None


def end_for_user(user_id: int, *, rotate: bool = False) -> int:
    """Sign `user_id` out of every browser and close its open pages; returns how many pages were closed.

    With `rotate` (a role change) the open pages are sent through a fresh sign-in ticket instead of to /login: the
    person stays signed in there, under a new session id, and the old id grants nothing (neither old nor new role).
    """
    from nicegui import Client, app  # the UI layer's storage: imported here so services load without it

    browsers = set()
    for browser_id, storage in list(app.storage._users.items()):
        if storage.get('user_id') == user_id:
            storage.pop('user_id', None)
            browsers.add(browser_id)
    closed = []
    for client in list(Client.instances.values()):
        if _browser_id(client) in browsers:
            client.open(ticket_url(user_id, '/') if rotate else '/login')
            closed.append(client)
    if closed:
        loop = asyncio.get_running_loop()
        loop.call_later(CLOSE_DELAY_SECONDS, _drop, closed)
    log.info('user %s signed out of %d browser(s), %d open page(s) closed', user_id, len(browsers), len(closed))
    return len(closed)


def hand_over(from_user_id: int, to_user_id: int, next: str = '/') -> int:
    """Two accounts of one person were merged: browsers signed in as `from_user_id` are signed out, and its open pages
    go on as `to_user_id` through a fresh sign-in ticket (a new session id). Returns how many pages were handed over."""
    from nicegui import Client, app

    browsers = set()
    for browser_id, storage in list(app.storage._users.items()):
        if storage.get('user_id') == from_user_id:
            storage.pop('user_id', None)
            browsers.add(browser_id)
    pages = [c for c in list(Client.instances.values()) if _browser_id(c) in browsers]
    for client in pages:
        client.open(ticket_url(to_user_id, next))
    log.info('user %s merged into %s: %d open page(s) handed over', from_user_id, to_user_id, len(pages))
    return len(pages)


def _drop(clients: list) -> None:
    from nicegui import Client

    for client in clients:
        if client.id in Client.instances:
            try:
                client.delete()
            except KeyError:
                pass
