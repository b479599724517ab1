"""Tools: the list (built-ins and yours/shared), the editor and the console that calls a tool with arguments."""

from __future__ import annotations

import json
from typing import Any

from nicegui import APIRouter, ui

from components.code_block import code_block
from components.code_dialog import code_button
from components.forms import confirm, guarded
from components.frame import frame
from components.tool_editor import tool_editor
from pages.common import page_user
from services.core import i18n
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.i18n import N_, _
from services.tools.library import ToolInfo
from services.wiring import Services

KIND_ICONS = {'builtin': 'memory', 'http': 'language', 'static': 'description'}
KIND_NAMES = {'builtin': N_('builtin'), 'http': N_('http'), 'static': N_('static')}
VISIBILITY_NAMES = {'private': N_('private'), 'workshop': N_('workshop'), 'public': N_('public')}


def example_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    samples = {'string': '', 'number': 1, 'integer': 1, 'boolean': True, 'array': [], 'object': {}}
    return {k: samples.get(v.get('type', 'string'), '') for k, v in (schema.get('properties') or {}).items()}


def tool_console(services: Services, user: UserInfo, tool: ToolInfo) -> None:
    """Call the tool with JSON arguments and show the result (or the error) and the timing."""
    with ui.card().classes('w-full').props('flat bordered'):
        ui.label(_('Console')).classes('text-lg font-semibold')
        args = (
            ui.textarea(_('Arguments (JSON)'), value=json.dumps(example_arguments(tool.parameters), indent=2))
            .props('outlined autogrow')
            .classes('w-full font-mono')
            .mark('console-args')
        )
        call = ui.button(_('Call'), icon='play_arrow').mark('console-call')
        status = ui.label('').mark('console-status').props('role=status')
        output = ui.column().classes('w-full')

        async def run() -> None:
            try:
                arguments = json.loads(args.value or '{}')
            except ValueError as exc:
                status.text = _('The arguments are not valid JSON: {error}.', error=exc)
                status.classes(replace='text-negative')
                return
            call.disable()
            try:
                result = await guarded(lambda: services.tools.execute(user.id, tool.ref, arguments))
            finally:
                call.enable()
            if result is None:
                return
            output.clear()
            if result.ok:
                status.text = _('OK in {ms} ms', ms=i18n.number(result.duration_ms, 0))
                status.classes(replace='text-positive')
                with output:
                    text = result.result if isinstance(result.result, str) else json.dumps(result.result, indent=2)
                    code_block(text).classes('w-full').mark('console-result')
            else:
                status.text = _(
                    'Failed in {ms} ms: {error}',
                    ms=i18n.number(result.duration_ms, 0),
                    error=_(result.error) if result.error else '',
                )
                status.classes(replace='text-negative')

        call.on_click(run)
        args.on('keydown.ctrl.enter', run)


def create_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.page('/tools')
    async def tool_list() -> None:
        user = await page_user(services)
        if user is None:
            return
        with frame(services, user, _('Tools')):
            ui.label(
                _(
                    'Tools are declarative: a name, a description, JSON-schema parameters and a built-in, HTTP or '
                    'static implementation. No code you write runs on the server.'
                )
            ).classes('text-gray-600 dark:text-gray-300')
            with ui.row().classes('gap-3'):
                ui.button(_('New tool'), icon='add', on_click=lambda: ui.navigate.to('/tools/new')).mark('new-tool')
                ui.button(_('Tool chat'), icon='handyman', on_click=lambda: ui.navigate.to('/tools/chat')).props(
                    'outline'
                )
            tools = await guarded(lambda: services.tools.available(user.id)) or []
            ui.label(_('Built-in')).classes('text-lg font-semibold')
            for tool in [t for t in tools if t.id is None]:
                _tool_card(tool, f'/tools/builtin/{tool.name}', user)
            ui.label(_('Yours and shared with you')).classes('text-lg font-semibold')
            mine = [t for t in tools if t.id is not None]
            if not mine:
                ui.label(_('No tools yet. Start with a static response to learn the loop.')).classes(
                    'text-gray-700 dark:text-gray-300'
                )
            for tool in mine:
                _tool_card(tool, f'/tools/{tool.id}', user)

    @router.page('/tools/new')
    async def new_tool() -> None:
        user = await page_user(services)
        if user is None:
            return
        with frame(services, user, _('New tool')):
            await tool_editor(services, user, None, lambda t: ui.navigate.to(f'/tools/{t.id}'))

    @router.page('/tools/builtin/{key}')
    async def builtin_tool(key: str) -> None:
        user = await page_user(services)
        if user is None:
            return
        tool = next((t for t in services.tools.builtin_infos() if t.name == key), None)
        with frame(services, user, _('Built-in tool: {name}', name=key) if tool else _('Tool')):
            if tool is None:
                ui.label(_('No such built-in tool.'))
                return
            ui.label(_(tool.description))
            code_block(json.dumps(tool.parameters, indent=2)).classes('w-full')
            code_button(lambda: services.scripts.tools.script(user.id, tool.ref))
            tool_console(services, user, tool)

    @router.page('/tools/{tool_id}')
    async def tool_page(tool_id: int) -> None:
        user = await page_user(services)
        if user is None:
            return
        try:
            tool = await services.tools.get(user.id, tool_id)
        except ServiceError as exc:
            with frame(services, user, _('Tool')):
                ui.label(_(exc.message)).classes('text-lg')
                ui.link(_('Back to the tools'), '/tools')
            return
        with frame(services, user, _('Tool: {name}', name=tool.name)):
            code_button(lambda: services.scripts.tools.script(user.id, tool.ref))
            tool_console(services, user, tool)
            if tool.can_edit:
                with ui.expansion(_('Edit'), icon='edit', value=False).classes('w-full').mark('edit-tool'):
                    await tool_editor(services, user, tool, lambda _saved: ui.navigate.reload())

                async def delete() -> None:
                    if not await confirm(
                        _('Delete the tool {name}?', name=tool.name), _('Conversations can no longer call it.')
                    ):
                        return

                    async def act() -> bool:
                        await services.tools.delete(user.id, tool_id)
                        return True

                    if await guarded(act, success=_('Tool deleted.')):
                        ui.navigate.to('/tools')

                ui.button(_('Delete tool'), icon='delete', color='negative', on_click=delete).props('flat').mark(
                    'delete-tool'
                )
            else:
                ui.label(_('By {owner}. {description}', owner=tool.owner_name, description=tool.description)).classes(
                    'text-sm text-gray-700 dark:text-gray-300'
                )

    return router


def _tool_card(tool: ToolInfo, link: str, user: UserInfo) -> None:
    with ui.card().classes('w-full py-2').props('flat bordered'), ui.row().classes('w-full items-center gap-3'):
        ui.icon(KIND_ICONS.get(tool.kind, 'build')).classes('text-primary').props('aria-hidden=true')
        ui.link(tool.name, link).classes('font-semibold')
        ui.badge(_(KIND_NAMES.get(tool.kind, tool.kind)), color='grey-8')
        if tool.id is not None:
            ui.badge(_(VISIBILITY_NAMES.get(tool.visibility, tool.visibility)), color='grey-8')
        ui.label(_(tool.description) if tool.id is None else tool.description).classes(
            'text-sm text-gray-700 dark:text-gray-300 grow'
        )
        if tool.id is not None and tool.owner_id != user.id:
            ui.label(_('by {owner}', owner=tool.owner_name)).classes('text-xs text-gray-700 dark:text-gray-300')
