"""Small form helpers: inline errors, confirmations, service calls whose errors become notifications, button
spinners."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from nicegui import ui

from services.core.errors import NotAuthenticated, ServiceError
from services.core.i18n import _
from services.models.errors import OllamaError


def error_label() -> ui.label:
    """An inline error message, hidden until it has something to say (announced to screen readers)."""
    label = ui.label().classes('text-negative text-sm').props('role=alert')
    label.set_visibility(False)
    return label


def confirm(title: str, message: str, *, action: str | None = None, color: str = 'negative') -> ui.dialog:
    """A confirmation dialog; `await dialog` gives True when confirmed. The texts come translated from the caller
    (`action` defaults to 'Delete' in the tab's language). Quasar keeps the keyboard focus inside while it is open and
    gives it back to the button that opened it."""
    with ui.dialog() as dialog, ui.card().classes('gap-3'):
        ui.label(title).classes('text-lg font-semibold')
        ui.label(message)
        with ui.row().classes('w-full justify-end'):
            ui.button(_('Cancel'), on_click=lambda: dialog.submit(False)).props('flat')
            ui.button(action or _('Delete'), color=color, on_click=lambda: dialog.submit(True)).mark('confirm')
    return dialog


async def guarded(action: Callable[[], Awaitable[Any]], *, success: str | None = None) -> Any:
    """Run a service call from a UI event; show service errors as notifications instead of crashing the page (in the
    tab's language when the service marked its message with `N_`; otherwise as the service wrote it)."""
    try:
        result = await action()
    except NotAuthenticated as exc:
        ui.notify(_(exc.message), type='warning')
        ui.navigate.to('/login')
        return None
    except (ServiceError, OllamaError) as exc:
        ui.notify(_(exc.message), type='negative', multi_line=True)
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


# sign-out is a same-origin form POST (a GET link, from anywhere, must not sign people out)
SIGN_OUT_SCRIPT = (
    "const f = document.createElement('form'); f.method = 'post'; f.action = '/logout'; "
    'document.body.appendChild(f); f.submit();'
)


def sign_out() -> None:
    """Sign this browser out (from a page event): the browser POSTs /logout, which ends the session."""
    ui.run_javascript(SIGN_OUT_SCRIPT)


def sign_out_form() -> ui.button:
    return ui.button(_('Sign out'), on_click=sign_out).mark('sign-out')
