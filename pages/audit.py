"""The audit log (/admin/audit, admins): security-relevant actions, filterable by user, action, outcome and date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nicegui import APIRouter, ui

from components.frame import frame
from pages.common import page_user
from services.core.audit import ACTIONS
from services.core.auth import Role
from services.core.errors import ServiceError
from services.wiring import Services

PAGE_SIZE = 50


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/admin')

    @router.page('/audit')
    async def audit_page() -> None:
        admin = await page_user(services, Role.ADMIN)
        if admin is None:
            return
        state = {'offset': 0}
        with frame(services, admin, 'Audit log'):
            with ui.row().classes('w-full items-center gap-4'):
                who = (
                    ui.input('User email contains', on_change=lambda: reload())
                    .props('outlined dense clearable debounce=300')
                    .classes('w-64')
                    .mark('audit-user')
                )
                action = (
                    ui.select(
                        {'': 'Any action', **{a: a.replace('_', ' ') for a in ACTIONS}},
                        value='',
                        label='Action',
                        on_change=lambda: reload(),
                    )
                    .props('outlined dense')
                    .classes('w-48')
                    .mark('audit-action')
                )
                outcome = (
                    ui.select(
                        {
                            '': 'Any outcome',
                            'ok': 'ok',
                            'refused': 'refused',
                            'failed': 'failed',
                            'started': 'started',
                            'cancelled': 'cancelled',
                        },
                        value='',
                        label='Outcome',
                        on_change=lambda: reload(),
                    )
                    .props('outlined dense')
                    .classes('w-36')
                    .mark('audit-outcome')
                )
                since = (
                    ui.input('From (YYYY-MM-DD)', on_change=lambda: reload())
                    .props('outlined dense type=date')
                    .mark('audit-since')
                )
                until = (
                    ui.input('To (YYYY-MM-DD)', on_change=lambda: reload())
                    .props('outlined dense type=date')
                    .mark('audit-until')
                )

            def reload() -> None:
                state['offset'] = 0
                entries.refresh()

            @ui.refreshable
            async def entries() -> None:
                try:
                    start = _day(since.value)
                    end = _day(until.value)
                    records, total = await services.audit.query(
                        admin.id,
                        user_search=who.value or '',
                        action=action.value or None,
                        outcome=outcome.value or None,
                        since=start,
                        until=end + timedelta(days=1) if end else None,
                        limit=PAGE_SIZE,
                        offset=state['offset'],
                    )
                except ValueError:
                    ui.label('Dates look like 2026-11-26.').classes('text-negative')
                    return
                except ServiceError as exc:
                    ui.label(exc.message).classes('text-negative')
                    return
                if not records:
                    ui.label('No entries match these filters.').classes('text-gray-500')
                    return
                first = state['offset'] + 1
                ui.label(f'{first}–{first + len(records) - 1} of {total}').classes('text-sm text-gray-500')
                rows = [
                    {
                        'id': r.id,
                        'when': f'{r.created_at:%Y-%m-%d %H:%M:%S}',
                        'user': r.user_email or '—',
                        'action': r.action,
                        'outcome': r.outcome,
                        'target': r.target or '',
                        'ip': r.ip or '',
                        'details': ', '.join(f'{k}={v}' for k, v in r.details.items() if v is not None),
                    }
                    for r in records
                ]
                columns = [
                    {'name': key, 'label': key.title(), 'field': key, 'align': 'left'}
                    for key in ('when', 'user', 'action', 'outcome', 'target', 'ip', 'details')
                ]
                ui.table(columns=columns, rows=rows, row_key='id').props('dense flat bordered wrap-cells').classes(
                    'w-full'
                ).mark('audit-table')
                with ui.row().classes('gap-2'):

                    def move(delta: int) -> None:
                        state['offset'] = max(0, state['offset'] + delta)
                        entries.refresh()

                    ui.button('Newer', on_click=lambda: move(-PAGE_SIZE)).props('flat').set_enabled(state['offset'] > 0)
                    ui.button('Older', on_click=lambda: move(PAGE_SIZE)).props('flat').set_enabled(
                        state['offset'] + PAGE_SIZE < total
                    )

            await entries()

    return router


def _day(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value.strip(), '%Y-%m-%d').replace(tzinfo=UTC)
