"""Sign-up, sign-in and sign-out."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from nicegui import APIRouter, app, ui

from components import i18n as i18n_ui
from components import theme
from components.forms import error_label, loading, sign_out_form
from pages.common import safe_next
from services.core import sessions
from services.core.auth import PASSWORD_RULE
from services.core.browser_guard import same_origin
from services.core.client_address import client_address
from services.core.errors import ServiceError
from services.core.i18n import _
from services.core.sso import configured_providers
from services.wiring import Services


def create_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.page('/login', title='Sign in')
    async def login(request: Request, next: str = '/') -> None:
        if await services.auth.get_user(app.storage.user.get('user_id')):
            ui.navigate.to(safe_next(next))
            return
        address = client_address(request)
        signup_open = await services.auth.signup_open()

        async def submit() -> None:
            error.set_visibility(False)
            with loading(button):
                try:
                    user = await services.auth.login(email.value, password.value, address)
                except ServiceError as exc:
                    error.text = _(exc.message)
                    error.set_visibility(True)
                    password.value = ''
                    return
            ui.navigate.to(sessions.ticket_url(user.id, safe_next(next)))

        with _auth_card(_('Sign in')):
            email = (
                ui.input(_('Email'))
                .props('type=email autocomplete=username autofocus outlined')
                .classes('w-full')
                .mark('email')
            )
            password = (
                ui.input(_('Password'), password=True, password_toggle_button=True)
                .props('autocomplete=current-password outlined')
                .classes('w-full')
                .mark('password')
            )
            error = error_label()
            sso_error = app.storage.user.pop('login_error', None)  # left by a refused single sign-on
            if sso_error:
                error.text = _(sso_error)
                error.set_visibility(True)
            email.on('keydown.enter', submit)
            password.on('keydown.enter', submit)
            button = ui.button(_('Sign in'), on_click=submit).classes('w-full').mark('submit')
            for provider in configured_providers(services.settings):
                target = f'/auth/{provider.name}/login?next={quote(safe_next(next), safe="")}'
                ui.button(
                    _('Sign in with {provider}', provider=provider.label),
                    icon='login',
                    on_click=lambda t=target: ui.navigate.to(t),
                ).props('outline').classes('w-full').mark(f'sso-{provider.name}')
            with ui.row().classes('w-full justify-between text-sm'):
                if signup_open:
                    ui.link(_('Create an account'), '/signup')
                ui.link(_('Join a workshop with a code'), '/join')

    @router.page('/signup', title='Create an account')
    async def signup() -> None:
        if not await services.auth.signup_open():
            with _auth_card(_('Sign-up is closed')):
                ui.label(
                    _(
                        'This platform does not take open sign-ups. Ask an admin or your instructor for an '
                        'account, or join a workshop with its code.'
                    )
                )
                ui.link(_('Sign in'), '/login')
            return

        async def submit() -> None:
            error.set_visibility(False)
            if password.value != confirm.value:
                error.text = _('The two passwords do not match.')
                error.set_visibility(True)
                return
            with loading(button):
                try:
                    user = await services.auth.signup(email.value, name.value, password.value)
                except ServiceError as exc:
                    error.text = _(exc.message)
                    error.set_visibility(True)
                    return
            ui.navigate.to(sessions.ticket_url(user.id, '/'))

        with _auth_card(_('Create an account')):
            name = (
                ui.input(_('Display name')).props('autocomplete=name autofocus outlined').classes('w-full').mark('name')
            )
            email = ui.input(_('Email')).props('type=email autocomplete=email outlined').classes('w-full').mark('email')
            password = (
                ui.input(_('Password'), password=True, password_toggle_button=True)
                .props('autocomplete=new-password outlined')
                .classes('w-full')
                .mark('password')
            )
            rule = _(PASSWORD_RULE, length=services.auth.min_password_length)
            ui.label(rule).classes('text-xs text-gray-700 dark:text-gray-300 -mt-2')
            confirm = (
                ui.input(_('Repeat password'), password=True)
                .props('autocomplete=new-password outlined')
                .classes('w-full')
                .mark('password-confirm')
            )
            error = error_label()
            confirm.on('keydown.enter', submit)
            button = ui.button(_('Create account'), on_click=submit).classes('w-full').mark('submit')
            ui.link(_('I already have an account'), '/login').classes('text-sm')

    @router.page('/logout', title='Sign out')
    def logout_page() -> None:
        # a GET (a link, maybe from another site) signs nobody out: it offers the form that does
        with _auth_card(_('Sign out')):
            ui.label(_('Sign out of this browser?'))
            sign_out_form()

    @router.post('/logout', include_in_schema=False)
    async def logout(request: Request) -> Response:
        if not same_origin(request.headers, request.headers.get('host', '')):
            return PlainTextResponse('Sign-out is only accepted from pages of this site.', status_code=403)
        await sessions.sign_out(request)
        response = RedirectResponse('/login', status_code=303)
        if device := request.cookies.get(sessions.DEVICE_COOKIE):  # signed out: this browser forgets the attendee
            await services.workshops.identity.forget_device(device)
            response.delete_cookie(sessions.DEVICE_COOKIE)
        return response

    @router.get('/auth/complete', include_in_schema=False)
    async def complete_sign_in(request: Request, ticket: str = '') -> Response:
        found = sessions.redeem(ticket)
        if found is None:
            return RedirectResponse('/login', status_code=303)
        await sessions.sign_in(request, found.user_id)
        return RedirectResponse(safe_next(found.next), status_code=303)

    return router


def _auth_card(title: str) -> ui.card:
    """The card of a sign-in page, under the product's name; above it the language choice, kept in this browser only
    (once signed in, the header's switcher keeps it with the account)."""
    theme.apply()
    ui.page_title(f'{title} · {theme.PRODUCT_NAME}')
    ui.dark_mode(app.storage.user.get('dark', False))
    with ui.row().classes('w-full justify-end px-4 pt-2'):
        i18n_ui.switcher(color='primary', show_name=True)
    with ui.column().classes('w-full items-center mt-8 px-4').props('role=main'):
        ui.label(theme.PRODUCT_NAME).classes('text-2xl font-semibold text-primary').props('role=heading aria-level=1')
        card = ui.card().classes('w-full max-w-sm gap-3 p-6')
        with card:
            ui.label(title).classes('text-xl font-semibold').props('role=heading aria-level=2')
    return card
