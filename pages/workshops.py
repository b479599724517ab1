"""Workshops: the list, creating one, and /workshops/{id} (the manage page for instructors, the attendee view else)."""

from __future__ import annotations

from datetime import datetime

from nicegui import APIRouter, ui

from components.forms import confirm, error_label, guarded
from components.frame import frame
from components.preflight import PreflightPanel
from components.workshop_checks import describe as describe_check
from components.workshop_checks import open_editor as open_check_editor
from pages.common import page_user
from pages.workshop_assistants import assistant_home, assistants_card
from pages.workshop_attend import LINK_CLASSES, STATE_COLORS, STATE_LABELS, attendee_view
from pages.workshop_identity import merge_card
from pages.workshop_pacing import pacing_card
from pages.workshop_templates import export_controls, import_buttons
from services.core.auth import Role, UserInfo
from services.core.errors import ServiceError
from services.core.i18n import N_, _, _n
from services.wiring import Services
from services.workshops.pacing import Pace
from services.workshops.rules import RESOURCE_KINDS, rule_options
from services.workshops.types import WorkshopInfo

RESOURCE_LABELS = {'prompt': N_('prompt'), 'tool': N_('tool'), 'knowledge': N_('knowledge'), 'rag': N_('rag')}


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/workshops')

    @router.page('/')
    async def list_page() -> None:
        user = await page_user(services)
        if user is None:
            return
        with frame(services, user, _('Workshops')):
            workshops = await services.workshops.list_for(user.id)
            with ui.row().classes('w-full items-center gap-2'):
                if user.at_least(Role.INSTRUCTOR):
                    ui.button(_('New workshop'), icon='add', on_click=lambda: _create_dialog(services, user)).mark(
                        'new-workshop'
                    )
                    import_buttons(services, user)
                ui.link(_('Join a workshop with a code'), '/join').classes(LINK_CLASSES)
            if not workshops:
                hint = (
                    _(
                        'No workshops yet. Create one (or start from the ready template), add steps, start it and '
                        'share its join code.'
                    )
                    if user.at_least(Role.INSTRUCTOR)
                    else _('You have not joined a workshop yet. Ask your instructor for the join code.')
                )
                ui.label(hint).classes('text-gray-700 dark:text-gray-300')
            for w in workshops:
                with ui.link(target=f'/workshops/{w.id}').classes('w-full no-underline text-inherit'):
                    with ui.card().classes('w-full hover:shadow-lg').props('flat bordered'):
                        with ui.row().classes('w-full items-center gap-3'):
                            ui.label(w.title).classes('text-lg font-semibold')
                            ui.badge(_(STATE_LABELS.get(w.state, w.state)), color=STATE_COLORS.get(w.state, 'grey-8'))
                            ui.space()
                            if w.can_manage:
                                ui.label(_('code {code}', code=w.join_code)).classes('font-mono')
                            ui.label(
                                _n(
                                    '{count} attendee(s)',
                                    '{count} attendee(s)',
                                    w.attendee_count,
                                    count=w.attendee_count,
                                )
                            ).classes('text-sm text-gray-700 dark:text-gray-300')

    @router.page('/{workshop_id}')
    async def workshop_page(workshop_id: int) -> None:
        user = await page_user(services)
        if user is None:
            return
        try:
            info = await services.workshops.get(user.id, workshop_id)
            staff = info.can_manage or info.assisting
            view = None if staff else await services.workshops.attendee_view(user.id, workshop_id)
            pace = await services.workshops.pace_of(user.id, workshop_id) if info.can_manage else Pace()
        except ServiceError as exc:
            with frame(services, user, _('Workshop')):
                ui.label(_(exc.message)).classes('text-red-700 dark:text-red-300')
                ui.link(_('Back to your workshops'), '/workshops').classes(LINK_CLASSES)
            return
        with frame(services, user, info.title):
            if view is not None:
                attendee_view(services, user, view)
            elif info.assisting:
                assistant_home(info)
            else:
                _manage(services, user, info, pace)
                await merge_card(services, user.id, workshop_id)

    return router


def _create_dialog(services: Services, user: UserInfo) -> None:
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg gap-3'):
        ui.label(_('New workshop')).classes('text-lg font-semibold')
        title = ui.input(_('Title')).props('outlined autofocus').classes('w-full').mark('ws-title')
        description = ui.textarea(_('Description (markdown)')).props('outlined').classes('w-full')
        description.mark('ws-description')
        error = error_label()

        async def create() -> None:
            try:
                info = await services.workshops.create(user.id, title.value, description.value or '')
            except ServiceError as exc:
                error.text = _(exc.message)
                error.set_visibility(True)
                return
            dialog.close()
            ui.navigate.to(f'/workshops/{info.id}')

        title.on('keydown.enter', create)
        with ui.row().classes('w-full justify-end'):
            ui.button(_('Cancel'), on_click=dialog.close).props('flat')
            ui.button(_('Create'), on_click=create).mark('ws-create')
    dialog.open()


def _manage(services: Services, user: UserInfo, info: WorkshopInfo, pace: Pace) -> None:
    ws = services.workshops
    wid = info.id

    async def reload() -> None:
        ui.navigate.reload()

    with ui.row().classes('w-full items-center gap-3'):
        ui.badge(_(STATE_LABELS.get(info.state, info.state)), color=STATE_COLORS.get(info.state, 'grey-8')).mark(
            'ws-state'
        )
        ui.label(_('Join code')).classes('text-sm text-gray-700 dark:text-gray-300')
        code = ui.label(info.join_code).classes('text-2xl font-mono font-bold tracking-widest').mark('ws-code')

        async def regenerate() -> None:
            new = await guarded(lambda: ws.regenerate_code(user.id, wid), success=_('New join code created.'))
            if new:
                code.text = new

        regen = ui.button(icon='refresh', on_click=regenerate).props('flat round').tooltip(_('New join code'))
        regen._props['aria-label'] = _('New join code')
        regen.mark('ws-regen')
        ui.space()
        if info.state == 'draft':

            async def start() -> None:
                await guarded(lambda: ws.start(user.id, wid), success=_('The workshop is live.'))
                await reload()

            ui.button(_('Start workshop'), icon='play_arrow', on_click=start).mark('ws-start')
        if info.state == 'live':
            ui.button(
                _('Open dashboard'),
                icon='monitor_heart',
                on_click=lambda: ui.navigate.to(f'/workshops/{wid}/dashboard'),
            )
        ui.button(_('Arena'), icon='sports_mma', on_click=lambda: ui.navigate.to(f'/workshops/{wid}/arena')).props(
            'flat'
        )
        ui.button(_('Gallery'), icon='collections', on_click=lambda: ui.navigate.to(f'/workshops/{wid}/gallery')).props(
            'flat'
        )
        if info.state != 'draft':
            ui.button(
                _('Summary'), icon='summarize', on_click=lambda: ui.navigate.to(f'/workshops/{wid}/summary')
            ).props('flat')
            ui.button(
                _('Timeline'), icon='timeline', on_click=lambda: ui.navigate.to(f'/workshops/{wid}/timeline')
            ).props('flat').mark('ws-timeline')

    preflight = PreflightPanel(services, user, wid)
    with ui.card().classes('w-full gap-2').props('flat bordered'):
        ui.label(_('Details')).classes('font-semibold')
        title = ui.input(_('Title'), value=info.title).props('outlined dense').classes('w-full')
        description = ui.textarea(_('Description (markdown)'), value=info.description)
        description.props('outlined').classes('w-full')
        with ui.row().classes('w-full gap-2'):
            starts = ui.input(_('Starts (YYYY-MM-DD HH:MM)'), value=_fmt(info.starts_at)).props('outlined dense')
            ends = ui.input(_('Ends (YYYY-MM-DD HH:MM)'), value=_fmt(info.ends_at)).props('outlined dense')
            stuck = ui.number(_('Stuck after (minutes)'), value=info.stuck_minutes, min=1, max=240)
            stuck.props('outlined dense')
        allowed = ui.input(
            _('Models attendees may use (comma separated; empty = all)'), value=', '.join(info.allowed_models)
        )
        allowed.props('outlined dense').classes('w-full')
        allowed._props['hint'] = _(
            'Held on every path (pages, API, gateway). Include the embedding models of the knowledge bases attendees '
            'use.'
        )
        may_share = ui.switch(
            _('Attendees may share their prompts, tools, knowledge bases and RAG systems with this workshop'),
            value=info.attendees_may_share,
        ).mark('ws-attendees-share')

        async def save() -> None:
            try:
                start_at, end_at = _parse(starts.value), _parse(ends.value)
            except ValueError:
                ui.notify(_('Dates must look like 2026-11-26 14:00.'), type='negative')
                return
            saved = await guarded(
                lambda: ws.update(
                    user.id,
                    wid,
                    title=title.value,
                    description=description.value,
                    starts_at=start_at,
                    ends_at=end_at,
                    stuck_minutes=int(stuck.value or 10),
                    allowed_models=(allowed.value or '').split(','),
                    attendees_may_share=bool(may_share.value),
                ),
                success=_('Saved.'),
            )
            if saved is not None:
                await preflight.check()  # the allowed models may have changed

        with ui.row().classes('w-full items-center'):
            ui.button(_('Save details'), on_click=save).mark('ws-save')
            ui.space()
            export_controls(services, user, wid)

    preflight.build()

    with ui.card().classes('w-full gap-2').props('flat bordered'):
        ui.label(_('Agenda')).classes('font-semibold')
        if not info.steps:
            ui.label(_('No steps yet. Add the first one below.')).classes('text-gray-700 dark:text-gray-300')
        for step in info.steps:
            with ui.row().classes('w-full items-center gap-2'):
                ui.label(f'{step.position + 1}. {step.title}').classes('font-medium')
                if step.rule_label and not step.checks:
                    ui.badge(_('auto: {rule}', rule=_(step.rule_label)), color='secondary')  # white on #0f766e: 5.5:1
                ui.space()
                ui.button(
                    _('Checks ({count})', count=len(step.checks)) if step.checks else _('Add checks'),
                    icon='rule',
                    on_click=lambda s=step: open_check_editor(services, user, wid, s),
                ).props('flat dense no-caps').mark(f'step-checks-{step.position}')
            for check in step.checks:
                ui.label(_('check: {check}', check=describe_check(check))).classes(
                    'text-xs text-gray-700 dark:text-gray-300 ml-6 break-all'
                )

                async def delete(step_id: int = step.id, name: str = step.title) -> None:
                    if await confirm(
                        _('Delete step "{name}"?', name=name),
                        _('Progress on this step is deleted too.'),
                        action=_('Delete'),
                    ):
                        await guarded(lambda: ws.delete_step(user.id, wid, step_id))
                        await reload()

                delete_button = (
                    ui.button(icon='delete', on_click=delete).props('flat round dense').tooltip(_('Delete step'))
                )
                delete_button._props['aria-label'] = _('Delete step')
        ui.separator()
        step_title = ui.input(_('Step title')).props('outlined dense').classes('w-full').mark('step-title')
        step_text = ui.textarea(_('Instructions (markdown)')).props('outlined').classes('w-full').mark('step-text')
        rules = {key: _(label) for key, label in rule_options().items()}
        step_rule = ui.select(rules, value='', label=_('Completes')).props('outlined dense').classes('w-96')
        step_rule.mark('step-rule')

        async def add_step() -> None:
            if await guarded(lambda: ws.add_step(user.id, wid, step_title.value, step_text.value, step_rule.value)):
                await reload()

        ui.button(_('Add step'), icon='add', on_click=add_step).mark('step-add')

    pacing_card(services, user, info, pace)

    with ui.row().classes('w-full gap-4 items-start'):
        with ui.card().classes('grow gap-2').props('flat bordered'):
            ui.label(_('Co-instructors')).classes('font-semibold')
            for co in info.co_instructors:
                with ui.row().classes('items-center'):
                    ui.label(f'{co["name"]} ({co["email"]})')

                    async def remove(uid: int = co['user_id']) -> None:
                        await guarded(lambda: ws.remove_co_instructor(user.id, wid, uid))
                        await reload()

                    remove_button = ui.button(icon='close', on_click=remove).props('flat round dense')
                    remove_button._props['aria-label'] = _('Remove {name}', name=co['name'])
                    remove_button.tooltip(_('Remove {name}', name=co['name']))
            email = ui.input(_('Instructor email')).props('outlined dense')

            async def add_co() -> None:
                if (
                    await guarded(lambda: ws.add_co_instructor(user.id, wid, email.value), success=_('Added.'))
                    is not None
                ):
                    await reload()

            ui.button(_('Add co-instructor'), on_click=add_co).props('flat')
        assistants_card(services, user, info)
        with ui.card().classes('grow gap-2').props('flat bordered'):
            ui.label(_('Shared with attendees')).classes('font-semibold')
            for res in info.resources:
                with ui.row().classes('items-center'):
                    ui.link(
                        _('{kind}: {label}', kind=_(RESOURCE_LABELS.get(res.kind, res.kind)), label=res.label), res.link
                    ).classes(LINK_CLASSES)

                    async def unshare(kind: str = res.kind, rid: int = res.resource_id) -> None:
                        await guarded(lambda: ws.remove_resource(user.id, wid, kind, rid))
                        await reload()

                    unshare_button = ui.button(icon='close', on_click=unshare).props('flat round dense')
                    unshare_button._props['aria-label'] = _('Stop sharing {name}', name=res.label)
                    unshare_button.tooltip(_('Stop sharing {name}', name=res.label))
            with ui.row().classes('items-center gap-2'):
                kind = (
                    ui.select(
                        {k: _(RESOURCE_LABELS.get(k, k)) for k in RESOURCE_KINDS}, value='prompt', label=_('Kind')
                    )
                    .props('outlined dense')
                    .classes('w-32')
                )
                rid = ui.number(_('Id'), min=1, precision=0).props('outlined dense').classes('w-24')
                label = ui.input(_('Label')).props('outlined dense')

            async def share() -> None:
                if not rid.value:
                    ui.notify(_('Enter the id of the prompt, tool, knowledge base or RAG system.'), type='warning')
                    return
                await guarded(lambda: ws.add_resource(user.id, wid, kind.value, int(rid.value), label.value or ''))
                await reload()

            ui.button(_('Share'), on_click=share).props('flat')

    if info.state == 'live':

        async def end() -> None:
            if await confirm(
                _('End the workshop?'), _('Attendees can no longer join, tick steps or raise hands.'), action=_('End')
            ):
                await guarded(lambda: ws.end(user.id, wid), success=_('The workshop has ended.'))
                await reload()

        ui.button(_('End workshop'), icon='stop', color='negative', on_click=end).props('outline').mark('ws-end')


def _fmt(value: datetime | None) -> str:
    return value.strftime('%Y-%m-%d %H:%M') if value else ''


def _parse(text: str | None) -> datetime | None:
    text = (text or '').strip()
    return datetime.strptime(text, '%Y-%m-%d %H:%M').astimezone() if text else None
