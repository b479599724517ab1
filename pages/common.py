"""Helpers shared by page modules: who is signed in, and where a sign-in may lead. (How errors and work in
progress reach the user is `components.forms`: `guarded`, `loading`.)"""

from __future__ import annotations

import logging

from nicegui import app, ui

from components import i18n as i18n_ui
from services.core.auth import Role, UserInfo, safe_next
from services.core.i18n import _
from services.wiring import Services

log = logging.getLogger(__name__)

__all__ = ['page_user', 'safe_next', 'session_user_id']


def session_user_id() -> int | None:
    return app.storage.user.get('user_id')


async def page_user(services: Services, role: Role = Role.ATTENDEE) -> UserInfo | None:
    """The signed-in user, re-read from the database. Redirects or explains when there is none or the role is short."""
    user = await services.auth.get_user(session_user_id())
    i18n_ui.use(user.language if user is not None else None)
    if user is None:
        app.storage.user.pop('user_id', None)
        ui.navigate.to('/login')
        return None
    if not user.at_least(role):
        ui.label(_('This page needs the {role} role.', role=_(role.value))).classes('text-xl m-8')
        ui.link(_('Back to the home page'), '/').classes('mx-8')
        return None
    return user
