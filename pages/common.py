"""Helpers shared by page modules: who is signed in, and how errors reach the user."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from nicegui import app, ui

from services.core.auth import Role, UserInfo
from services.core.errors import NotAuthenticated, ServiceError
from services.models.errors import OllamaError
from services.wiring import Services

log = logging.getLogger(__name__)


def session_user_id() -> int | None:
    return app.storage.user.get('user_id')


async def page_user(services: Services, role: Role = Role.ATTENDEE) -> UserInfo | None:
    """The signed-in user, re-read from the database. Redirects or explains when there is none or the role is short."""
    user = await services.auth.get_user(session_user_id())
    if user is None:
        app.storage.user.pop('user_id', None)
        ui.navigate.to('/login')
        return None
    if not user.at_least(role):
        ui.label(f'This page needs the {role.value} role.').classes('text-xl m-8')
        ui.link('Back to the home page', '/').classes('mx-8')
        return None
    return user


async def guarded(action: Callable[[], Awaitable[Any]], *, success: str | None = None) -> Any:
    """Run a service call from a UI event; show service errors as notifications instead of crashing the page."""
    try:
        result = await action()
    except NotAuthenticated as exc:
        ui.notify(exc.message, type='warning')
        ui.navigate.to('/login')
        return None
    except (ServiceError, OllamaError) as exc:
        ui.notify(exc.message, type='negative', multi_line=True)
        return None
    if success:
        ui.notify(success, type='positive')
    return result


@contextmanager
def loading(button: ui.button) -> Iterator[None]:
    """Show the button's spinner while the block runs (and stop it however the block ends)."""
    button.props('loading')
    try:
        yield
    finally:
        button.props(remove='loading')


def safe_next(target: str | None) -> str:
    """Only same-site paths are allowed as a post-login destination."""
    if not target or not target.startswith('/') or target.startswith('//') or '\\' in target:
        return '/'
    return target
