"""Admin: users, roles, passwords, deactivation, open sign-up and the ranges of model options."""

from __future__ import annotations

from nicegui import APIRouter, ui

from components.forms import confirm, error_label, guarded
from components.frame import frame
from pages.common import page_user
from services.core import i18n
from services.core.auth import Role, UserInfo
from services.core.errors import ServiceError
from services.core.i18n import _
from services.wiring import Services

PAGE_SIZE = 50


def role_options() -> dict[str, str]:
    """The roles as a select shows them, in the current language."""
    labels = {Role.ATTENDEE: _('Attendee'), Role.INSTRUCTOR: _('Instructor'), Role.ADMIN: _('Admin')}
    return {r.value: labels.get(r, r.value.title()) for r in Role}


def password_rule(services: Services) -> str:
    return _(
        'Password must be at least {count} characters and contain a letter and a digit.',
        count=services.auth.min_password_length,
    )


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/admin')

    @router.page('/users')
    async def users_page() -> None:
        admin = await page_user(services, Role.ADMIN)
        if admin is None:
            return
        auth = services.auth
        with frame(services, admin, _('Users')):
            with ui.row().classes('w-full items-center gap-4'):
                search = (
                    ui.input(_('Search by name or email'), on_change=lambda: user_list.refresh())
                    .props('clearable outlined dense debounce=300')
                    .classes('w-72')
                )
                ui.button(_('New user'), icon='person_add', on_click=lambda: _create_dialog(services, admin, on_done))
                ui.space()
                signup = ui.switch(_('Open sign-up'), value=await auth.signup_open())

                async def toggle_signup() -> None:
                    state = signup.value
                    if (
                        await guarded(lambda: auth.set_signup_open(admin.id, state)) is None
                        and await auth.signup_open() != state
                    ):
                        signup.set_value(not state)
                        return
                    ui.notify(_('Open sign-up is now on.') if state else _('Open sign-up is now off.'), type='positive')

                signup.on_value_change(toggle_signup)

            await _option_caps_card(services, admin)

            @ui.refreshable
            async def user_list() -> None:
                try:
                    users = await auth.list_users(admin.id, search.value or '')
                except ServiceError as exc:
                    ui.label(_(exc.message)).classes('text-negative')
                    return
                ui.label(_('{count} account(s)', count=len(users))).classes(
                    'text-sm text-gray-700 dark:text-gray-300'
                ).props('role=status')
                if not users:
                    ui.label(_('No accounts match this search.')).classes('text-gray-700 dark:text-gray-300')
                for user in users[:PAGE_SIZE]:
                    _user_row(services, admin, user, on_done)
                if len(users) > PAGE_SIZE:
                    ui.label(_('Showing the first {count}; search to narrow the list.', count=PAGE_SIZE)).classes(
                        'text-sm'
                    )

            async def on_done() -> None:
                user_list.refresh()

            with ui.column().classes('w-full gap-1'):
                await user_list()

    return router


def cap_labels() -> dict[str, str]:
    return {
        'num_ctx': _('num_ctx (context tokens)'),
        'num_predict': _('num_predict (reply tokens)'),
        'top_k': 'top_k',
        'temperature': 'temperature',
    }


async def _option_caps_card(services: Services, admin: UserInfo) -> None:
    """The highest value of each capped option a model call may ask for (not destructive: saved without asking)."""
    caps = services.option_caps
    current = await caps.current()
    with ui.expansion(_('Ranges of model options'), icon='tune').classes('w-full').props('dense').mark('option-caps'):
        ui.label(
            _(
                'The highest value a model call may ask for, for everyone, on every path (playground, conversations, '
                'prompts, tools, the API and the OpenAI gateway). A higher value is refused with this range. '
                'Host-level options (num_gpu, num_thread, num_batch, use_mmap, ...) and keep_alive are for '
                'instructors and admins only.'
            )
        ).classes('text-sm text-gray-700 dark:text-gray-300')
        with ui.row().classes('w-full items-center gap-2'):
            fields = {}
            for name, label in cap_labels().items():
                default = getattr(caps.defaults, name)
                field = ui.number(label, value=getattr(current, name), step=0.1 if name == 'temperature' else 1)
                field.props('outlined dense').classes('w-48').mark(f'cap-{name}')
                field.tooltip(_('Default: {value}', value=i18n.number(default)))
                fields[name] = field

            async def save() -> None:
                values = {name: field.value for name, field in fields.items()}
                saved = await guarded(
                    lambda: caps.set(admin.id, values), success=_('The ranges of model options are saved.')
                )
                if saved is not None:
                    for name, field in fields.items():
                        field.set_value(getattr(saved, name))

            ui.button(_('Save ranges'), icon='save', on_click=save).mark('caps-save')


def _user_row(services: Services, admin: UserInfo, user: UserInfo, on_done) -> None:
    auth = services.auth
    with ui.card().classes('w-full py-2').props('flat bordered'), ui.row().classes('w-full items-center gap-4'):
        with ui.column().classes('gap-0 min-w-[16rem]'):
            ui.label(user.display_name).classes('font-semibold')
            ui.label(user.email).classes('text-sm text-gray-700 dark:text-gray-300')
        if not user.is_active:
            ui.badge(_('deactivated'), color='grey-8')
        ui.space()

        async def change_role(e) -> None:
            if e.value == user.role.value:
                return
            if (
                await guarded(
                    lambda: auth.set_role(admin.id, user.id, Role(e.value)),
                    success=_('{name} is now {role}.', name=user.display_name, role=_(e.value)),
                )
                is None
            ):
                role.set_value(user.role.value)
                return
            await on_done()

        role = (
            ui.select(role_options(), value=user.role.value, on_change=change_role)
            .props('dense outlined')
            .classes('w-36')
            .mark(f'role-{user.email}')
        )
        role._props['aria-label'] = _('Role of {email}', email=user.email)
        reset = ui.button(icon='key', on_click=lambda: _password_dialog(services, admin, user)).props('flat round')
        reset.mark(f'reset-{user.email}').tooltip(_('Reset password'))
        reset._props['aria-label'] = _('Reset the password of {name}', name=user.display_name)

        async def toggle_active() -> None:
            name = user.display_name
            if user.is_active:
                title, action = _('Deactivate {name}?', name=name), _('Deactivate')
                text = _('They will be signed out and cannot sign in until reactivated.')
                done = _('{name} deactivated.')
            else:
                title, action = _('Reactivate {name}?', name=name), _('Reactivate')
                text, done = _('They will be able to sign in again.'), _('{name} reactivated.')
            if not await confirm(title, text, action=action, color='negative' if user.is_active else 'primary'):
                return
            if (
                await guarded(
                    lambda: auth.set_active(admin.id, user.id, not user.is_active),
                    success=done.format(name=name),
                )
                is not None
            ):
                await on_done()

        active = ui.button(icon='block' if user.is_active else 'check_circle', on_click=toggle_active)
        active.props('flat round').mark(f'active-{user.email}')
        active.tooltip(_('Deactivate') if user.is_active else _('Reactivate'))
        active._props['aria-label'] = (
            _('Deactivate {name}', name=user.display_name)
            if user.is_active
            else _('Reactivate {name}', name=user.display_name)
        )


def _password_dialog(services: Services, admin: UserInfo, user: UserInfo) -> None:
    with ui.dialog() as dialog, ui.card().classes('w-96 gap-3'):
        ui.label(_('New password for {name}', name=user.display_name)).classes('text-lg font-semibold')
        password = (
            ui.input(_('New password'), password=True, password_toggle_button=True)
            .classes('w-full')
            .props('outlined autofocus')
            .mark('reset-password')
        )
        ui.label(password_rule(services)).classes('text-xs text-gray-700 dark:text-gray-300')
        error = error_label()

        async def save() -> None:
            try:
                await services.auth.reset_password(admin.id, user.id, password.value)
            except ServiceError as exc:
                error.text = _(exc.message)
                error.set_visibility(True)
                return
            ui.notify(_('Password of {name} was reset.', name=user.display_name), type='positive')
            dialog.close()

        password.on('keydown.enter', save)
        with ui.row().classes('w-full justify-end'):
            ui.button(_('Cancel'), on_click=dialog.close).props('flat')
            ui.button(_('Set password'), on_click=save)
    dialog.open()


def _create_dialog(services: Services, admin: UserInfo, on_done) -> None:
    with ui.dialog() as dialog, ui.card().classes('w-96 gap-3'):
        ui.label(_('New user')).classes('text-lg font-semibold')
        name = ui.input(_('Display name')).classes('w-full').props('outlined autofocus').mark('new-name')
        email = ui.input(_('Email')).classes('w-full').props('outlined type=email').mark('new-email')
        password = (
            ui.input(_('Password'), password=True, password_toggle_button=True)
            .classes('w-full')
            .props('outlined')
            .mark('new-password')
        )
        ui.label(password_rule(services)).classes('text-xs text-gray-700 dark:text-gray-300')
        role = ui.select(role_options(), value=Role.ATTENDEE.value, label=_('Role')).classes('w-full').props('outlined')
        error = error_label()

        async def save() -> None:
            try:
                user = await services.auth.create_user(
                    admin.id, email.value, name.value, password.value, Role(role.value)
                )
            except ServiceError as exc:
                error.text = _(exc.message)
                error.set_visibility(True)
                return
            ui.notify(_('Account for {name} created.', name=user.display_name), type='positive')
            dialog.close()
            await on_done()

        with ui.row().classes('w-full justify-end'):
            ui.button(_('Cancel'), on_click=dialog.close).props('flat')
            ui.button(_('Create'), on_click=save).mark('new-create')
    dialog.open()
