"""Attendees who keep who they are: signing in with a resume code or a remembered device, the resume code on the
attendee page, and merging two attendees who are the same person (on the workshop's manage page)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from nicegui import APIRouter, ui

from components.forms import confirm, error_label, guarded, loading
from services.core import actions, i18n, sessions
from services.core.auth import safe_next
from services.core.errors import ServiceError
from services.core.i18n import _
from services.core.middleware import is_public
from services.wiring import Services

DEVICE_DAYS = 180


def create_router(services: Services) -> APIRouter:
    router = APIRouter()
    identity = services.workshops.identity

    @router.get('/auth/attendee', include_in_schema=False)
    async def attendee_sign_in(request: Request, ticket: str = '') -> Response:
        """Like /auth/complete, and an attendee who joined by code gets this browser remembered."""
        found = sessions.redeem(ticket)
        if found is None:
            return RedirectResponse('/join', status_code=303)
        await sessions.sign_in(request, found.user_id)
        response = RedirectResponse(safe_next(found.next), status_code=303)
        old = request.cookies.get(sessions.DEVICE_COOKIE, '')
        token = await identity.remember_device(found.user_id, replaces=old)
        if token:
            response.set_cookie(
                sessions.DEVICE_COOKIE, token, max_age=DEVICE_DAYS * 86400, httponly=True, samesite='lax'
            )
        return response

    @router.get('/auth/device', include_in_schema=False)
    async def device_sign_in(request: Request, next: str = '/join') -> Response:
        """A remembered device signs its attendee back in (after the session ended, e.g. the browser was closed)."""
        target = safe_next(next)
        user_id = await identity.device_user(request.cookies.get(sessions.DEVICE_COOKIE, ''))
        if user_id is None:
            fallback = target if is_public(urlsplit(target).path) else f'/login?next={quote(target, safe="")}'
            response = RedirectResponse(fallback, status_code=303)
            response.delete_cookie(sessions.DEVICE_COOKIE)
            return response
        await sessions.sign_in(request, user_id)
        workshop_id = await identity.rejoin(user_id)
        if target == '/join' and workshop_id is not None:  # back into the workshop, not to the join form
            target = f'/workshops/{workshop_id}'
        await services.activity.record(user_id, actions.WORKSHOP_RESUME, workshop_id=workshop_id, via='device')
        return RedirectResponse(target, status_code=303)

    return router


async def device_redirect(services: Services, request: Request, signed_in: bool) -> Response | None:
    """On /join: a browser that is not signed in but remembers an attendee goes through /auth/device first (an
    unknown or expired device gets the join form: no redirect loop when its cookie cannot be removed)."""
    token = request.cookies.get(sessions.DEVICE_COOKIE, '')
    if signed_in or not token or await services.workshops.identity.device_user(token) is None:
        return None
    target = request.url.path + (f'?{request.url.query}' if request.url.query else '')
    return RedirectResponse(f'/auth/device?next={quote(target, safe="")}', status_code=303)


def resume_form(services: Services, address: str) -> None:
    """The 'I have a resume code' tab of /join."""

    async def submit() -> None:
        error.set_visibility(False)
        with loading(button):
            try:
                result = await services.workshops.identity.resume(code.value or '', client_address=address)
            except ServiceError as exc:
                error.text = _(exc.message)
                error.set_visibility(True)
                return
        ui.navigate.to(sessions.ticket_url(result.user_id, f'/workshops/{result.workshop_id}', via='/auth/attendee'))

    ui.label(_('Joined before on another device? Type the resume code shown on your workshop page.')).classes(
        'text-sm text-gray-700 dark:text-gray-300'
    )
    code = (
        ui.input(_('Resume code'), placeholder=_('XXXX-XXXX-XXXX'))
        .props('outlined autocomplete=off autocapitalize=characters')
        .classes('w-full font-mono')
        .mark('resume-code')
    )
    code.on('keydown.enter', submit)
    error = error_label().mark('resume-error')
    button = ui.button(_('Continue'), on_click=submit).classes('w-full').mark('resume-submit')


def resume_card(code: str) -> None:
    """On the attendee page: the personal resume code (only for attendees who joined by code)."""
    if not code:
        return
    with ui.card().classes('w-full').props('flat bordered'):
        with ui.row().classes('items-center gap-3'):
            ui.icon('key', color='primary').props('aria-hidden=true')
            ui.label(_('Your resume code')).classes('font-semibold')
            ui.label(code).classes('text-lg font-mono font-bold tracking-widest').mark('resume-code-shown')
        ui.label(
            _(
                'This browser remembers you. On another device, or if you are signed out, open /join, choose '
                '"I have a resume code" and type it: you come back as yourself, with your progress. Keep it private.'
            )
        ).classes('text-sm text-gray-700 dark:text-gray-300')


async def merge_card(services: Services, actor_id: int, workshop_id: int) -> None:
    """On the manage page: two attendees who are the same person become one (with a confirmation)."""
    identity = services.workshops.identity
    people = await identity.attendees(actor_id, workshop_id)
    with ui.card().classes('w-full gap-2').props('flat bordered'):
        ui.label(_('Merge attendees')).classes('font-semibold')
        if len(people) < 2:
            ui.label(_('Merging needs two attendees; this workshop has fewer.')).classes(
                'text-sm text-gray-700 dark:text-gray-300'
            )
            return
        ui.label(
            _(
                'Someone joined twice (another device, a closed browser)? Keep one attendee and merge the other into '
                'it: progress, raised hands and activity move to the one kept.'
            )
        ).classes('text-sm text-gray-700 dark:text-gray-300')
        options = {p['user_id']: _person(p) for p in people}
        with ui.row().classes('w-full items-center gap-2'):
            keep = ui.select(options, label=_('Keep')).props('outlined dense').classes('w-72').mark('merge-keep')
            drop = ui.select(options, label=_('Merge into it (goes away)')).props('outlined dense').classes('w-72')
            drop.mark('merge-drop')
            error = error_label().mark('merge-error')

            async def merge() -> None:
                error.set_visibility(False)
                if keep.value is None or drop.value is None or keep.value == drop.value:
                    error.text = _('Pick two different attendees: the one to keep and the one to merge into it.')
                    error.set_visibility(True)
                    return
                kept, gone = options[keep.value], options[drop.value]
                if not await confirm(
                    _('Merge these attendees?'),
                    _(
                        '{gone} is merged into {kept}: its progress, hands and activity move over, and it leaves the '
                        'workshop. Only do this for the same person. This cannot be undone.',
                        gone=gone,
                        kept=kept,
                    ),
                    action=_('Merge'),
                ):
                    return
                report = await guarded(lambda: identity.merge(actor_id, workshop_id, int(keep.value), int(drop.value)))
                if report is not None:
                    ui.notify(
                        _(
                            '{merged} merged into {kept}: {steps} step(s), {hands} hand(s), {activity} activity row(s) '
                            'moved.',
                            merged=report.merged,
                            kept=report.kept,
                            steps=report.steps,
                            hands=report.hands,
                            activity=report.activity,
                        ),
                        type='positive',
                    )
                    ui.navigate.reload()

            ui.button(_('Merge…'), icon='merge', on_click=merge).props('outline').mark('merge-submit')


def _person(p: dict[str, Any]) -> str:
    joined = i18n.clock(p['joined_at'].astimezone()) if isinstance(p['joined_at'], datetime) else ''
    return _(
        '{name} (joined {time}, {steps} step(s) done, #{number})',
        name=p['name'],
        time=joined,
        steps=p['steps_done'],
        number=p['user_id'],
    )
