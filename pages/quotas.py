"""Quotas (/quotas): request and token limits for the attendees of a workshop (its instructors and admins), and for
a single person (admins only: such a quota applies everywhere). Instructors see and pick only their own workshops."""

from __future__ import annotations

from nicegui import APIRouter, ui

from components.forms import confirm, error_label, guarded, loading
from components.frame import frame
from pages.common import page_user
from services.core import i18n
from services.core.auth import Role, UserInfo
from services.core.errors import ServiceError
from services.core.i18n import _
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
        with frame(services, user, _('Quotas')):
            ui.label(
                _(
                    'Limit how many model calls and tokens each attendee of a workshop may use, per day (resets at '
                    'midnight UTC) or per workshop session. A workshop quota applies to each of its attendees '
                    'separately. An attendee over a limit gets a clear message saying which limit and when it resets.'
                )
            ).classes('text-gray-700 dark:text-gray-300')
            ui.label(
                _(
                    'As an admin you see every quota and can also limit a single person, on every path and in every '
                    'workshop.'
                )
                if admin
                else _(
                    'You see and set the quotas of the workshops you run (as owner or co-instructor). A quota for a '
                    'single person applies everywhere, so only admins set those.'
                )
            ).classes('text-sm text-gray-700 dark:text-gray-300')

            @ui.refreshable
            async def quota_list() -> None:
                try:
                    quotas = await services.quotas.list_quotas(user.id)
                except ServiceError as exc:
                    ui.label(_(exc.message)).classes('text-negative')
                    return
                if not quotas:
                    ui.label(
                        _('No quotas yet: nobody is limited.') if admin else _('No quotas on your workshops yet.')
                    ).classes('text-gray-700 dark:text-gray-300')
                for quota in quotas:
                    _quota_row(services, user, quota, quota_list.refresh)

            try:
                workshops = dict(await services.quotas.workshops(user.id))
            except ServiceError as exc:
                ui.label(_(exc.message)).classes('text-negative')
                return
            if workshops or admin:
                _quota_form(services, user, workshops, lambda: quota_list.refresh())
            else:
                ui.label(
                    _(
                        'You run no workshop yet. Create one on the Workshops page (or ask its owner to add you as a '
                        'co-instructor); then you can limit its attendees here.'
                    )
                ).classes('text-gray-700 dark:text-gray-300').mark('quota-no-workshops')
            ui.label(_('Current quotas')).classes('text-lg font-semibold mt-2')
            with ui.column().classes('w-full gap-1'):
                await quota_list()

    return router


def _quota_form(services: Services, user: UserInfo, workshops: dict[int, str], on_done) -> None:
    admin = user.role == Role.ADMIN
    choices = {wid: _('{title} (#{number})', title=title, number=wid) for wid, title in workshops.items()}
    with ui.card().classes('w-full max-w-3xl gap-2'):
        ui.label(_('Set a quota')).classes('text-lg font-semibold')
        with ui.row().classes('w-full items-start gap-4'):
            scopes = {'workshop': _('A workshop')}
            if admin:
                scopes['user'] = _('One person (admins)')
            scope = ui.toggle(scopes, value='workshop').mark('quota-scope')
            scope._props['aria-label'] = _('Whom the quota limits')
            scope.set_visibility(admin)
            email = ui.input(_('User email')).props('outlined dense type=email').classes('w-64').mark('quota-email')
            workshop = (
                ui.select(choices, value=next(iter(choices), None), label=_('Workshop'))
                .props('outlined dense')
                .classes('w-64')
                .mark('quota-ws')
            )
            period = (
                ui.select({'day': _('Per day'), 'session': _('Per session')}, value='day', label=_('Period'))
                .props('outlined dense')
                .classes('w-36')
                .mark('quota-period')
            )
        email.bind_visibility_from(scope, 'value', value='user')
        workshop.bind_visibility_from(scope, 'value', value='workshop')
        with ui.row().classes('w-full items-start gap-4'):
            requests = (
                ui.number(_('Max requests'), min=0, precision=0)
                .props('outlined dense')
                .classes('w-40')
                .mark('quota-req')
            )
            tokens = (
                ui.number(_('Max tokens'), min=0, precision=0)
                .props('outlined dense')
                .classes('w-40')
                .mark('quota-tokens')
            )
            save = ui.button(_('Save quota'), icon='save', on_click=lambda: submit()).mark('quota-save')
        error = error_label()

        def show(message: str) -> None:
            error.text = message
            error.set_visibility(True)

        async def submit() -> None:
            error.set_visibility(False)
            for_user = scope.value == 'user'
            if for_user and not (email.value or '').strip():
                show(_('Type the email of the person to limit.'))
                return
            if not for_user and workshop.value is None:
                show(_('Pick a workshop.') if choices else _('There is no workshop to limit yet.'))
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
                    show(_(exc.message))
                    return
            ui.notify(_('Quota saved.'), type='positive')
            on_done()


def _quota_row(services: Services, user: UserInfo, quota: QuotaInfo, refresh) -> None:
    with ui.card().classes('w-full py-2').props('flat bordered'), ui.row().classes('w-full items-center gap-4'):
        if quota.workshop_id is not None:
            title = _('Workshop {title}', title=quota.workshop_title or quota.workshop_id)
        else:
            title = quota.user_email or '?'
        ui.label(title).classes('font-semibold min-w-[14rem]')
        ui.label(_limits(quota))
        ui.space()
        if quota.period == 'session' and quota.workshop_id is not None:
            workshop_id = quota.workshop_id

            async def new_session() -> None:
                if await confirm(
                    _('Start a new session for {title}?', title=title),
                    _('Per-session usage of its attendees starts again from zero.'),
                    action=_('Start'),
                    color='primary',
                ):
                    await guarded(
                        lambda: services.quotas.start_session(user.id, workshop_id), success=_('New session.')
                    )
                    refresh()

            ui.button(_('New session'), icon='restart_alt', on_click=new_session).props('flat dense').mark(
                f'quota-session-{quota.id}'
            )

        async def remove() -> None:
            if not await confirm(
                _('Remove the quota of {title}?', title=title), _('They will no longer be limited.'), action=_('Remove')
            ):
                return
            await guarded(lambda: services.quotas.delete_quota(user.id, quota.id), success=_('Quota removed.'))
            refresh()

        delete = ui.button(icon='delete', on_click=remove).props('flat round')
        delete.mark(f'quota-delete-{quota_marker(quota)}').tooltip(_('Remove'))
        delete._props['aria-label'] = _('Remove the quota of {title}', title=title)


def quota_marker(quota: QuotaInfo) -> str:
    """The marker of a quota's delete button (tests find it by it): the English title."""
    if quota.workshop_id is not None:
        return f'Workshop {quota.workshop_title or quota.workshop_id}'
    return quota.user_email or '?'


def _limits(quota: QuotaInfo) -> str:
    """'3 requests and 1,000 tokens per day' (' (everywhere)' for one person's quota), as one translated sentence."""
    values = {
        'requests': i18n.number(quota.max_requests or 0),
        'tokens': i18n.number(quota.max_tokens or 0),
    }
    has_requests, has_tokens = quota.max_requests is not None, quota.max_tokens is not None
    day = quota.period == 'day'
    if has_requests and has_tokens:
        text = (
            _('{requests} requests and {tokens} tokens per day', **values)
            if day
            else _('{requests} requests and {tokens} tokens per session', **values)
        )
    elif has_requests:
        text = _('{requests} requests per day', **values) if day else _('{requests} requests per session', **values)
    elif has_tokens:
        text = _('{tokens} tokens per day', **values) if day else _('{tokens} tokens per session', **values)
    else:
        text = _('per day') if day else _('per session')
    return text if quota.workshop_id is not None else _('{limits} (everywhere)', limits=text)
