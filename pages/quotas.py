"""Quotas (/quotas, instructors and admins): request and token limits per user or per workshop."""

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
        with frame(services, user, 'Quotas'):
            ui.label(
                'Limit how many model calls and tokens one attendee may use, per day (resets at midnight UTC) or per '
                'workshop session. A workshop quota applies to each of its attendees separately. An attendee over a '
                'limit gets a clear message saying which limit and when it resets.'
            ).classes('text-gray-600 dark:text-gray-300')

            @ui.refreshable
            async def quota_list() -> None:
                try:
                    quotas = await services.quotas.list_quotas(user.id)
                except ServiceError as exc:
                    ui.label(exc.message).classes('text-negative')
                    return
                if not quotas:
                    ui.label('No quotas yet: nobody is limited.').classes('text-gray-500')
                for quota in quotas:
                    _quota_row(services, user, quota, quota_list.refresh)

            _quota_form(services, user, lambda: quota_list.refresh())
            ui.label('Current quotas').classes('text-lg font-semibold mt-2')
            with ui.column().classes('w-full gap-1'):
                await quota_list()

    return router


def _quota_form(services: Services, user: UserInfo, on_done) -> None:
    with ui.card().classes('w-full max-w-3xl gap-2'):
        ui.label('Set a quota').classes('text-lg font-semibold')
        with ui.row().classes('w-full items-start gap-4'):
            scope = ui.toggle({'user': 'One user', 'workshop': 'A workshop'}, value='user').mark('quota-scope')
            email = ui.input('User email').props('outlined dense type=email').classes('w-64').mark('quota-email')
            workshop = (
                ui.number('Workshop id', min=1, precision=0).props('outlined dense').classes('w-36').mark('quota-ws')
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

        async def submit() -> None:
            error.set_visibility(False)
            with loading(save):
                try:
                    await services.quotas.set_quota(
                        user.id,
                        user_email=(email.value or '').strip() or None if scope.value == 'user' else None,
                        workshop_id=int(workshop.value) if scope.value == 'workshop' and workshop.value else None,
                        period=period.value,
                        max_requests=int(requests.value) if requests.value is not None else None,
                        max_tokens=int(tokens.value) if tokens.value is not None else None,
                    )
                except ServiceError as exc:
                    error.text = exc.message
                    error.set_visibility(True)
                    return
            ui.notify('Quota saved.', type='positive')
            on_done()


def _quota_row(services: Services, user: UserInfo, quota: QuotaInfo, refresh) -> None:
    with ui.card().classes('w-full py-2').props('flat bordered'), ui.row().classes('w-full items-center gap-4'):
        title = f'Workshop {quota.workshop_id}' if quota.workshop_id is not None else quota.user_email or '?'
        ui.label(title).classes('font-semibold min-w-[14rem]')
        limits = []
        if quota.max_requests is not None:
            limits.append(f'{quota.max_requests:,} requests')
        if quota.max_tokens is not None:
            limits.append(f'{quota.max_tokens:,} tokens')
        period = 'per day' if quota.period == 'day' else 'per session'
        ui.label(f'{" and ".join(limits)} {period}')
        ui.space()
        if quota.period == 'session' and quota.workshop_id is not None:
            workshop_id = quota.workshop_id

            async def new_session() -> None:
                if await confirm(
                    f'Start a new session for workshop {workshop_id}?',
                    'Per-session usage of its attendees starts again from zero.',
                    action='Start',
                    color='primary',
                ):
                    await guarded(lambda: services.quotas.start_session(user.id, workshop_id), success='New session.')
                    refresh()

            ui.button('New session', icon='restart_alt', on_click=new_session).props('flat dense')

        async def remove() -> None:
            if not await confirm(f'Remove the quota of {title}?', 'They will no longer be limited.', action='Remove'):
                return
            await guarded(lambda: services.quotas.delete_quota(user.id, quota.id), success='Quota removed.')
            refresh()

        ui.button(icon='delete', on_click=remove).props('flat round').mark(f'quota-delete-{title}').tooltip('Remove')
