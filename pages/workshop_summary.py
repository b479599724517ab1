"""The summary of a workshop and its export (CSV, JSON) through authenticated routes."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import Response
from nicegui import APIRouter, ui

from components.frame import frame
from pages.common import page_user, session_user_id
from pages.workshop_attend import LINK_CLASSES, STATE_COLORS, STATE_LABELS
from services.core import actions, i18n
from services.core.auth import Role
from services.core.errors import ServiceError
from services.core.i18n import N_, _
from services.wiring import Services
from services.workshops.report import summary, to_csv, to_json

COLUMN_LABELS = {  # the attendees table: field -> its column's label
    'name': N_('name'),
    'steps_done': N_('steps done'),
    'requests': N_('requests'),
    'tokens': N_('tokens'),
    'avg_latency_ms': N_('avg latency ms'),
    'errors': N_('errors'),
    'last_seen': N_('last seen'),
}


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/workshops')

    @router.page('/{workshop_id}/summary')
    async def summary_page(workshop_id: int) -> None:
        user = await page_user(services, Role.INSTRUCTOR)
        if user is None:
            return
        try:
            data = await summary(services.workshops, user.id, workshop_id)
        except ServiceError as exc:
            with frame(services, user, _('Summary')):
                ui.label(_(exc.message)).classes('text-red-700 dark:text-red-300')
            return
        w = data['workshop']
        with frame(services, user, _('Summary · {title}', title=w['title'])):
            with ui.row().classes('items-center gap-4'):
                ui.badge(_(STATE_LABELS.get(w['state'], w['state'])), color=STATE_COLORS.get(w['state'], 'grey-8'))
                people, hands = len(data['attendees']), w['raised_hands']
                head = _('{attendees} attendee(s) · {hands} raised hand(s)', attendees=people, hands=hands)
                ui.label(head).mark('sum-head')
                base = f'/workshops/{workshop_id}/export'
                ui.button(_('Export CSV'), icon='download', on_click=lambda: ui.download.from_url(f'{base}.csv'))
                ui.button(_('Export JSON'), icon='download', on_click=lambda: ui.download.from_url(f'{base}.json'))
                ui.link(_('Timeline replay and certificates'), f'/workshops/{workshop_id}/timeline').classes(
                    LINK_CLASSES
                )
            ui.label(_('Steps')).classes('text-lg font-semibold')
            total = len(data['attendees']) or 1
            for s in data['steps']:
                with ui.row().classes('w-full items-center gap-2'):
                    ui.label(s['title']).classes('w-64')
                    bar = ui.linear_progress(s['done'] / total, show_value=False).classes('w-64')
                    bar._props['aria-label'] = _('{title}: {done} of {total} done', title=s['title'], done=s['done'],
                                                 total=len(data['attendees']))  # fmt: skip
                    ui.label(f'{s["done"]}/{len(data["attendees"])}')
            ui.label(_('Attendees')).classes('text-lg font-semibold')
            columns = [
                {'name': k, 'label': _(label), 'field': k, 'sortable': True, 'align': 'left'}
                for k, label in COLUMN_LABELS.items()
            ]
            rows = [{**a, 'id': a['user_id']} for a in data['attendees']]
            ui.table(columns=columns, rows=rows, row_key='id').props('dense flat bordered').classes('w-full').mark(
                'sum-attendees'
            )
            ui.label(_('Models')).classes('text-lg font-semibold')
            if not data['models']:
                ui.label(_('No model was used in this workshop.')).classes('text-gray-700 dark:text-gray-300')
            for name, usage in data['models'].items():
                ui.label(
                    _(
                        '{name}: {requests} request(s), {tokens} token(s), avg {latency} ms, {errors} error(s)',
                        name=name,
                        requests=i18n.number(usage['requests']),
                        tokens=i18n.number(usage['tokens']),
                        latency=i18n.number(usage['avg_latency_ms'] or 0),
                        errors=i18n.number(usage['errors']),
                    )
                )

    async def export(workshop_id: int, fmt: str) -> Response:
        user_id = session_user_id()
        try:
            data = await summary(services.workshops, user_id, workshop_id)
        except ServiceError as exc:
            raise HTTPException(status_code=exc.status_code, detail=exc.message) from exc
        await services.activity.record(user_id, actions.WORKSHOP_EXPORT, workshop_id=workshop_id, format=fmt)
        name = f'workshop-{workshop_id}'
        if fmt == 'csv':
            return Response(to_csv(data), media_type='text/csv; charset=utf-8',
                            headers={'Content-Disposition': f'attachment; filename="{name}.csv"'})  # fmt: skip
        return Response(to_json(data), media_type='application/json',
                        headers={'Content-Disposition': f'attachment; filename="{name}.json"'})  # fmt: skip

    @router.get('/{workshop_id}/export.csv', include_in_schema=False)
    async def export_csv(workshop_id: int) -> Response:
        return await export(workshop_id, 'csv')

    @router.get('/{workshop_id}/export.json', include_in_schema=False)
    async def export_json(workshop_id: int) -> Response:
        return await export(workshop_id, 'json')

    return router
