"""The audit log (/admin/audit, admins): security-relevant actions, filterable by user, action, outcome and date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nicegui import APIRouter, ui

from components.frame import frame
from pages.common import page_user
from services.core import i18n
from services.core.audit import ACTION_LABELS, ACTIONS, OUTCOMES
from services.core.auth import Role
from services.core.errors import ServiceError
from services.core.i18n import _
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
        with frame(services, admin, _('Audit log')):
            with ui.row().classes('w-full items-center gap-4'):
                who = (
                    ui.input(_('User email contains'), on_change=lambda: reload())
                    .props('outlined dense clearable debounce=300')
                    .classes('w-64')
                    .mark('audit-user')
                )
                action = (
                    ui.select(
                        {'': _('Any action'), **{a: _action(a) for a in ACTIONS}},
                        value='',
                        label=_('Action'),
                        on_change=lambda: reload(),
                    )
                    .props('outlined dense')
                    .classes('w-48')
                    .mark('audit-action')
                )
                outcome = (
                    ui.select(
                        {'': _('Any outcome'), **{o: _(label) for o, label in OUTCOMES.items()}},
                        value='',
                        label=_('Outcome'),
                        on_change=lambda: reload(),
                    )
                    .props('outlined dense')
                    .classes('w-36')
                    .mark('audit-outcome')
                )
                since = (
                    ui.input(_('From (YYYY-MM-DD)'), on_change=lambda: reload())
                    .props('outlined dense type=date')
                    .mark('audit-since')
                )
                until = (
                    ui.input(_('To (YYYY-MM-DD)'), on_change=lambda: reload())
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
                    ui.label(_('Dates look like 2026-11-26.')).classes('text-negative')
                    return
                except ServiceError as exc:
                    ui.label(_(exc.message)).classes('text-negative')
                    return
                if not records:
                    ui.label(_('No entries match these filters.')).classes('text-gray-700 dark:text-gray-300')
                    return
                first = state['offset'] + 1
                shown = _('{first}–{last} of {total}', first=first, last=first + len(records) - 1, total=total)
                ui.label(shown).classes('text-sm text-gray-700 dark:text-gray-300').props('role=status')
                rows = [
                    {
                        'id': r.id,
                        'when': f'{i18n.day(r.created_at)} {r.created_at:%H:%M:%S}',
                        'user': r.user_email or '—',
                        'action': r.action,  # the code (what the filter and exports use); the table shows its label
                        'action_label': _action(r.action),
                        'outcome': r.outcome,
                        'outcome_label': _(OUTCOMES[r.outcome]) if r.outcome in OUTCOMES else r.outcome,
                        'target': r.target or '',
                        'ip': r.ip or '',
                        'details': ', '.join(f'{k}={v}' for k, v in r.details.items() if v is not None),
                    }
                    for r in records
                ]
                labels = {
                    'when': _('When'),
                    'user': _('User'),
                    'action_label': _('Action'),
                    'outcome_label': _('Outcome'),
                    'target': _('Target'),
                    'ip': _('IP'),
                    'details': _('Details'),
                }
                columns = [{'name': k, 'label': label, 'field': k, 'align': 'left'} for k, label in labels.items()]
                table = ui.table(columns=columns, rows=rows, row_key='id').props('dense flat bordered wrap-cells')
                table.classes('w-full').mark('audit-table')._props['aria-label'] = _('Audit log')
                with ui.row().classes('gap-2'):

                    def move(delta: int) -> None:
                        state['offset'] = max(0, state['offset'] + delta)
                        entries.refresh()

                    ui.button(_('Newer'), on_click=lambda: move(-PAGE_SIZE)).props('flat').set_enabled(
                        state['offset'] > 0
                    )
                    ui.button(_('Older'), on_click=lambda: move(PAGE_SIZE)).props('flat').set_enabled(
                        state['offset'] + PAGE_SIZE < total
                    )

            await entries()

    return router


def _action(code: str) -> str:
    label = ACTION_LABELS.get(code)
    return _(label) if label else code.replace('_', ' ')


def _day(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value.strip(), '%Y-%m-%d').replace(tzinfo=UTC)
