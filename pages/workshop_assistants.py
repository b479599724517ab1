"""Assistants on the pages (issue 18 item 4): adding them on the manage page, the assistant's own workshop page, and
the private message to one attendee from the dashboard.

Pages only render and call the workshop service, which decides who may do what (`_staff`, `_manage`).
"""

from __future__ import annotations

from nicegui import ui

from components.forms import confirm, guarded
from pages.workshop_attend import STATE_COLORS, STATE_LABELS
from services.core.auth import UserInfo
from services.core.i18n import _
from services.wiring import Services
from services.workshops.live import LiveWorkshop
from services.workshops.types import WorkshopInfo


def assistants_card(services: Services, user: UserInfo, info: WorkshopInfo) -> None:
    """Managers add assistants by email and remove them."""
    ws = services.workshops
    with ui.card().classes('grow gap-2').props('flat bordered').mark('assistants'):
        ui.label(_('Assistants')).classes('font-semibold')
        ui.label(
            _(
                'Assistants see the dashboard, claim and resolve raised hands and message one attendee. They cannot '
                'end the workshop or change its settings, steps, pacing or quotas.'
            )
        ).classes('text-sm text-gray-700 dark:text-gray-300')
        if not info.assistants:
            ui.label(_('No assistants yet.')).classes('text-sm text-gray-700 dark:text-gray-300')
        for helper in info.assistants:
            with ui.row().classes('items-center'):
                ui.label(f'{helper["name"]} ({helper["email"]})').mark(f'assistant-{helper["user_id"]}')

                async def remove(uid: int = helper['user_id'], name: str = helper['name']) -> None:
                    if await confirm(
                        _('Remove {name} as assistant?', name=name),
                        _('They lose the dashboard at once.'),
                        action=_('Remove'),
                    ):
                        await guarded(lambda: ws.remove_assistant(user.id, info.id, uid))
                        ui.navigate.reload()

                remove_button = ui.button(icon='close', on_click=remove).props('flat round dense')
                remove_button._props['aria-label'] = _('Remove {name}', name=helper['name'])
                remove_button.tooltip(_('Remove {name}', name=helper['name']))
        email = ui.input(_('Assistant email')).props('outlined dense autocomplete=off').mark('assistant-email')

        async def add() -> None:
            added = await guarded(lambda: ws.add_assistant(user.id, info.id, email.value or ''))
            if added is not None:
                ui.notify(_('{name} assists this workshop now.', name=added['name']), type='positive')
                ui.navigate.reload()

        email.on('keydown.enter', add)
        ui.button(_('Add assistant'), icon='person_add', on_click=add).props('flat').mark('assistant-add')


def assistant_home(info: WorkshopInfo) -> None:
    """/workshops/{id} for an assistant: what the role is and the way to the dashboard."""
    with ui.row().classes('w-full items-center gap-3'):
        ui.badge(_(STATE_LABELS.get(info.state, info.state)), color=STATE_COLORS.get(info.state, 'grey-8'))
        ui.label(_('You assist this workshop, run by {name}.', name=info.owner_name)).mark('assisting')
        if info.join_code:
            ui.label(_('Join code {code}', code=info.join_code)).classes('font-mono')
    ui.label(_('On the dashboard you can claim and resolve raised hands and send a message to one attendee.')).classes(
        'text-sm text-gray-700 dark:text-gray-300'
    )
    if info.state == 'live':
        ui.button(
            _('Open dashboard'),
            icon='monitor_heart',
            on_click=lambda: ui.navigate.to(f'/workshops/{info.id}/dashboard'),
        ).mark('assistant-dashboard')
    else:
        ui.label(_('The dashboard opens while the workshop is live.')).classes('text-gray-700 dark:text-gray-300')


def message_box(services: Services, user: UserInfo, workshop_id: int, live: LiveWorkshop) -> None:
    """Send a private message to one attendee (managers and assistants)."""
    ws = services.workshops
    people = {a.user_id: a.name for a in live.attendees.values()}
    with ui.row().classes('w-full items-center gap-2').mark('message-box'):
        who = ui.select(people, label=_('Message to'), with_input=True).props('outlined dense').classes('w-56')
        who.mark('message-to')
        text = ui.input(_('Private message (only this attendee sees it)')).props('outlined dense').classes('grow')
        text.mark('message-text')

        def refresh_people(payload: dict) -> None:
            if 'rows' in payload and len(live.attendees) != len(who.options):
                who.set_options({a.user_id: a.name for a in live.attendees.values()}, value=who.value)

        async def send() -> None:
            if who.value is None:
                ui.notify(_('Pick the attendee to message.'), type='warning')
                return
            name = who.options.get(who.value) if isinstance(who.options, dict) else None
            if await guarded(lambda: ws.message_attendee(user.id, workshop_id, int(who.value), text.value or '')):
                text.value = ''
                ui.notify(_('Sent to {name}.', name=name) if name else _('Sent to the attendee.'), type='positive')

        text.on('keydown.enter', send)
        ui.button(_('Send'), icon='send', on_click=send).props('flat').mark('message-send')
    live.changed.subscribe(refresh_people)


__all__ = ['assistant_home', 'assistants_card', 'message_box']
