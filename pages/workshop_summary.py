"""The summary of a workshop and its export (CSV, JSON) through authenticated routes."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import Response
from nicegui import APIRouter, ui

from components.frame import frame
from pages.common import page_user, session_user_id
from services.core import actions
from services.core.auth import Role
from services.core.errors import ServiceError
from services.wiring import Services
from services.workshops.report import summary, to_csv, to_json


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
            with frame(services, user, 'Summary'):
                ui.label(exc.message).classes('text-negative')
            return
        w = data['workshop']
        with frame(services, user, f'Summary · {w["title"]}'):
            with ui.row().classes('items-center gap-4'):
                ui.badge(w['state'])
                ui.label(f'{len(data["attendees"])} attendee(s) · {w["raised_hands"]} raised hand(s)').mark('sum-head')
                base = f'/workshops/{workshop_id}/export'
                ui.button('Export CSV', icon='download', on_click=lambda: ui.download.from_url(f'{base}.csv'))
                ui.button('Export JSON', icon='download', on_click=lambda: ui.download.from_url(f'{base}.json'))
                ui.link('Timeline replay and certificates', f'/workshops/{workshop_id}/timeline')
            ui.label('Steps').classes('text-lg font-semibold')
            total = len(data['attendees']) or 1
            for s in data['steps']:
                with ui.row().classes('w-full items-center gap-2'):
                    ui.label(s['title']).classes('w-64')
                    ui.linear_progress(s['done'] / total, show_value=False).classes('w-64')
                    ui.label(f'{s["done"]}/{len(data["attendees"])}')
            ui.label('Attendees').classes('text-lg font-semibold')
            columns = [
                {'name': k, 'label': k.replace('_', ' '), 'field': k, 'sortable': True, 'align': 'left'}
                for k in ('name', 'steps_done', 'requests', 'tokens', 'avg_latency_ms', 'errors', 'last_seen')
            ]
            rows = [{**a, 'id': a['user_id']} for a in data['attendees']]
            ui.table(columns=columns, rows=rows, row_key='id').props('dense flat bordered').classes('w-full').mark(
                'sum-attendees'
            )
            ui.label('Models').classes('text-lg font-semibold')
            if not data['models']:
                ui.label('No model was used in this workshop.').classes('text-gray-500')
            for name, usage in data['models'].items():
                ui.label(
                    f'{name}: {usage["requests"]} request(s), {usage["tokens"]} token(s), '
                    f'avg {usage["avg_latency_ms"] or 0} ms, {usage["errors"]} error(s)'
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
