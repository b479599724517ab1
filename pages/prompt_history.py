"""A prompt's version history: view, diff two versions (unified or side by side), roll back, mark current."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from components.code_block import code_block
from components.forms import guarded
from services.core import i18n
from services.core.auth import UserInfo
from services.core.i18n import _
from services.prompts.library import PromptDetail, VersionDiff
from services.wiring import Services

DIFF_COLORS = {'replace': 'bg-amber-100 dark:bg-amber-900', 'delete': 'bg-red-100 dark:bg-red-900',
               'insert': 'bg-green-100 dark:bg-green-900', 'equal': ''}  # fmt: skip


async def history_tab(
    services: Services, user: UserInfo, detail: PromptDetail, reload: Callable[[], Awaitable[None]]
) -> None:
    numbers = [v.number for v in detail.versions]
    with ui.column().classes('w-full gap-1'):
        for version in detail.versions:
            with ui.card().classes('w-full py-1').props('flat bordered'):
                with ui.row().classes('w-full items-center gap-3'):
                    ui.label(_('Version {number}', number=version.number)).classes('font-semibold')
                    if version.number == detail.current_version:
                        ui.badge(_('current'), color='positive')
                    ui.label(version.message or _('(no message)')).classes('text-sm')
                    ui.space()
                    ui.label(i18n.moment(version.created_at)).classes('text-xs text-gray-700 dark:text-gray-300')
                    if detail.can_edit and version.number != detail.current_version:
                        _actions(services, user, detail, version.number, reload)
                with ui.expansion(_('Show')).props('dense').classes('w-full'):
                    if version.system_template:
                        ui.label(_('System')).classes('text-xs text-gray-700 dark:text-gray-300')
                        ui.label(version.system_template).classes('font-mono text-sm whitespace-pre-wrap')
                    ui.label(_('User')).classes('text-xs text-gray-700 dark:text-gray-300')
                    ui.label(version.user_template).classes('font-mono text-sm whitespace-pre-wrap')
                    ui.label(
                        _(
                            'Variables: {variables} · model: {model}',
                            variables=', '.join(f'{v.name} ({v.type})' for v in version.variables) or _('none'),
                            model=version.default_model or _('none'),
                        )
                    ).classes('text-xs text-gray-700 dark:text-gray-300')

    ui.label(_('Compare versions')).classes('text-lg font-semibold mt-4')
    if len(numbers) < 2:
        ui.label(_('Save a second version to compare.')).classes('text-sm text-gray-700 dark:text-gray-300')
        return
    with ui.row().classes('items-center gap-3'):
        left = ui.select(numbers, value=numbers[1], label=_('From')).props('outlined dense').classes('w-28')
        right = ui.select(numbers, value=numbers[0], label=_('To')).props('outlined dense').classes('w-28')
        mode = ui.toggle({'unified': _('Unified'), 'side': _('Side by side')}, value='unified').mark('diff-mode')
        compare = ui.button(_('Compare'), icon='compare_arrows').mark('compare')
    area = ui.column().classes('w-full')

    async def show() -> None:
        diff = await guarded(lambda: services.prompts.diff(user.id, detail.id, int(left.value), int(right.value)))
        if diff is None:
            return
        area.clear()
        with area:
            if mode.value == 'unified':
                code_block(diff.unified, language='diff').classes('w-full').mark('diff-unified')
            else:
                _side_by_side(diff)

    compare.on_click(show)
    mode.on_value_change(show)


def _actions(services: Services, user: UserInfo, detail: PromptDetail, number: int, reload) -> None:
    async def make_current() -> None:
        if await guarded(
            lambda: services.prompts.set_current(user.id, detail.id, number),
            success=_('Version {number} is current.', number=number),
        ):
            await reload()

    async def rollback() -> None:
        if await guarded(
            lambda: services.prompts.rollback(user.id, detail.id, number),
            success=_('Rolled back: a new version with the content of version {number}.', number=number),
        ):
            await reload()

    ui.button(_('Make current'), on_click=make_current).props('flat dense').mark(f'make-current-{number}')
    ui.button(_('Roll back to this'), icon='undo', on_click=rollback).props('flat dense').mark(f'rollback-{number}')


def _side_by_side(diff: VersionDiff) -> None:
    with ui.grid(columns=2).classes('w-full gap-0 font-mono text-sm').mark('diff-side'):
        ui.label(_('Version {number}', number=diff.a)).classes('font-semibold p-1')
        ui.label(_('Version {number}', number=diff.b)).classes('font-semibold p-1')
        for tag, old, new in diff.rows:
            color = DIFF_COLORS.get(tag, '')
            ui.label(old).classes(f'whitespace-pre-wrap px-1 {color if old or tag == "delete" else ""}')
            ui.label(new).classes(f'whitespace-pre-wrap px-1 {color if new or tag == "insert" else ""}')
