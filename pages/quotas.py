"""Quotas (/quotas): request and token limits for the attendees of a workshop (its instructors and admins), and for
a single person (admins only: such a quota applies everywhere). Instructors see and pick only their own workshops."""

from __future__ import annotations

from nicegui import APIRouter, ui

from components.forms import confirm, error_label, guarded, loading
from components.frame import frame
from pages.common import page_user
from services.core.auth import Role, UserInfo
from services.core.errors import ServiceError
from services.core.quotas import QuotaInfo
from services.wiring import Services


def create_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.page('/quotas')
    async def quotas_page() -> None:
        user = await page_user(services, Role.INSTRUCTOR)
        if user is None:
            return
        admin = user.role == Role.ADMIN
        with frame(services, user, 'Quotas'):
            ui.label(
                'Limit how many model calls and tokens each attendee of a workshop may use, per day (resets at '
                'midnight UTC) or per workshop session. A workshop quota applies to each of its attendees separately. '
                'An attendee over a limit gets a clear message saying which limit and when it resets.'
            ).classes('text-gray-600 dark:text-gray-300')
            ui.label(
                'As an admin you see every quota and can also limit a single person, on every path and in every '
                'workshop.'
                if admin
                else 'You see and set the quotas of the workshops you run (as owner or co-instructor). A quota for a '
                'single person applies everywhere, so only admins set those.'
            ).classes('text-sm text-gray-500')

            @ui.refreshable
            async def quota_list() -> None:
                try:
                    quotas = await services.quotas.list_quotas(user.id)
                except ServiceError as exc:
                    ui.label(exc.message).classes('text-negative')
                    return
                if not quotas:
                    ui.label(
                        'No quotas yet: nobody is limited.' if admin else 'No quotas on your workshops yet.'
                    ).classes('text-gray-500')
                for quota in quotas:
                    _quota_row(services, user, quota, quota_list.refresh)

            try:
                workshops = dict(await services.quotas.workshops(user.id))
            except ServiceError as exc:
                ui.label(exc.message).classes('text-negative')
                return
            if workshops or admin:
                _quota_form(services, user, workshops, lambda: quota_list.refresh())
            else:
                ui.label(
                    'You run no workshop yet. Create one on the Workshops page (or ask its owner to add you as a '
                    'co-instructor); then you can limit its attendees here.'
                ).classes('text-gray-500').mark('quota-no-workshops')
            ui.label('Current quotas').classes('text-lg font-semibold mt-2')
            with ui.column().classes('w-full gap-1'):
                await quota_list()

    return router


def _quota_form(services: Services, user: UserInfo, workshops: dict[int, str], on_done) -> None:
    admin = user.role == Role.ADMIN
    choices = {wid: f'{title} (#{wid})' for wid, title in workshops.items()}
    with ui.card().classes('w-full max-w-3xl gap-2'):
        ui.label('Set a quota').classes('text-lg font-semibold')
        with ui.row().classes('w-full items-start gap-4'):
            scopes = {'workshop': 'A workshop', 'user': 'One person (admins)'} if admin else {'workshop': 'A workshop'}
            scope = ui.toggle(scopes, value='workshop').mark('quota-scope')
            scope.set_visibility(admin)
            email = ui.input('User email').props('outlined dense type=email').classes('w-64').mark('quota-email')
            workshop = (
                ui.select(choices, value=next(iter(choices), None), label='Workshop')
                .props('outlined dense')
                .classes('w-64')
                .mark('quota-ws')
            )
            period = (
                ui.select({'day': 'Per day', 'session': 'Per session'}, value='day', label='Period')
                .props('outlined dense')
                .classes('w-36')
                .mark('quota-period')
            )
        email.bind_visibility_from(scope, 'value', value='user')
        workshop.bind_visibility_from(scope, 'value', value='workshop')
        with ui.row().classes('w-full items-start gap-4'):
            requests = (
                ui.number('Max requests', min=0, precision=0).props('outlined dense').classes('w-40').mark('quota-req')
            )
            tokens = (
                ui.number('Max tokens', min=0, precision=0).props('outlined dense').classes('w-40').mark('quota-tokens')
            )
            save = ui.button('Save quota', icon='save', on_click=lambda: submit()).mark('quota-save')
        error = error_label()

        def show(message: str) -> None:
            error.text = message
            error.set_visibility(True)

        async def submit() -> None:
            error.set_visibility(False)
            for_user = scope.value == 'user'
            if for_user and not (email.value or '').strip():
                show('Type the email of the person to limit.')
                return
            if not for_user and workshop.value is None:
                show('Pick a workshop.' if choices else 'There is no workshop to limit yet.')
                return
            with loading(save):
                try:
                    await services.quotas.set_quota(
                        user.id,
                        user_email=(email.value or '').strip() if for_user else None,
                        workshop_id=None if for_user else int(workshop.value),
                        period=period.value,
                        max_requests=int(requests.value) if requests.value is not None else None,
                        max_tokens=int(tokens.value) if tokens.value is not None else None,
                    )
                except ServiceError as exc:
                    show(exc.message)
                    return
            ui.notify('Quota saved.', type='positive')
            on_done()


def _quota_row(services: Services, user: UserInfo, quota: QuotaInfo, refresh) -> None:
    with ui.card().classes('w-full py-2').props('flat bordered'), ui.row().classes('w-full items-center gap-4'):
        if quota.workshop_id is not None:
            title = f'Workshop {quota.workshop_title or quota.workshop_id}'
        else:
            title = quota.user_email or '?'
        ui.label(title).classes('font-semibold min-w-[14rem]')
        limits = []
        if quota.max_requests is not None:
            limits.append(f'{quota.max_requests:,} requests')
        if quota.max_tokens is not None:
            limits.append(f'{quota.max_tokens:,} tokens')
        period = 'per day' if quota.period == 'day' else 'per session'
        ui.label(f'{" and ".join(limits)} {period}' + ('' if quota.workshop_id is not None else ' (everywhere)'))
        ui.space()
        if quota.period == 'session' and quota.workshop_id is not None:
            workshop_id = quota.workshop_id

            async def new_session() -> None:
                if await confirm(
                    f'Start a new session for {title}?',
                    'Per-session usage of its attendees starts again from zero.',
                    action='Start',
                    color='primary',
                ):
                    await guarded(lambda: services.quotas.start_session(user.id, workshop_id), success='New session.')
                    refresh()

            ui.button('New session', icon='restart_alt', on_click=new_session).props('flat dense').mark(
                f'quota-session-{quota.id}'
            )

        async def remove() -> None:
            if not await confirm(f'Remove the quota of {title}?', 'They will no longer be limited.', action='Remove'):
                return
            await guarded(lambda: services.quotas.delete_quota(user.id, quota.id), success='Quota removed.')
            refresh()

        ui.button(icon='delete', on_click=remove).props('flat round').mark(f'quota-delete-{title}').tooltip('Remove')
