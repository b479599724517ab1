"""The tool editor: name, description, parameters (form editor or raw JSON schema), kind and its configuration."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from components.forms import error_label
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.i18n import N_, _
from services.tools.library import ToolDraft, ToolInfo
from services.wiring import Services

PARAM_TYPES = ['string', 'number', 'integer', 'boolean']
KINDS = {'static': N_('Static response'), 'http': N_('HTTP request'), 'builtin': N_('Built-in')}


def _form_rows(schema: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Editable rows for a simple schema (scalar properties), or None when only the JSON editor can show it."""
    required = set(schema.get('required') or [])
    rows = []
    for name, prop in (schema.get('properties') or {}).items():
        if prop.get('type', 'string') not in PARAM_TYPES or set(prop) - {'type', 'description'}:
            return None
        rows.append(
            {'name': name, 'type': prop.get('type', 'string'), 'description': prop.get('description', ''),
             'required': name in required}
        )  # fmt: skip
    return rows


def _schema(rows: list[dict[str, Any]]) -> dict[str, Any]:
    props = {}
    for row in rows:
        if not row['name']:
            continue
        props[row['name']] = {
            'type': row['type'],
            **({'description': row['description']} if row['description'] else {}),
        }
    return {'type': 'object', 'properties': props, 'required': [r['name'] for r in rows if r['name'] and r['required']]}


async def tool_editor(
    services: Services, user: UserInfo, tool: ToolInfo | None, on_saved: Callable[[ToolInfo], Awaitable[None] | None]
) -> None:
    schema = tool.parameters if tool else {'type': 'object', 'properties': {}, 'required': []}
    rows = _form_rows(schema) or []
    config = tool.config if tool else {}
    with ui.column().classes('w-full gap-3'):
        with ui.row().classes('w-full gap-3'):
            name = (
                ui.input(_('Name (like a function name)'), value=tool.name if tool else '')
                .props('outlined')
                .classes('w-72')
                .mark('tool-name')
            )
            kind = (
                ui.select({k: _(v) for k, v in KINDS.items()}, value=tool.kind if tool else 'static', label=_('Kind'))
                .props('outlined')
                .classes('w-56')
                .mark('tool-kind')
            )
            visibility = (
                ui.select(
                    {'private': _('Private'), 'workshop': _('Shared with a workshop'), 'public': _('Public')},
                    value=tool.visibility if tool else 'private',
                    label=_('Visibility'),
                )
                .props('outlined')
                .classes('w-56')
                .mark('tool-visibility')
            )
            workshop = ui.number(_('Workshop number'), value=tool.workshop_id if tool else None, format='%d').props(
                'outlined'
            )
            workshop.bind_visibility_from(visibility, 'value', backward=lambda v: v == 'workshop')
        description = (
            ui.textarea(_('Description (the model reads this to decide when to call the tool)'))
            .props('outlined autogrow')
            .classes('w-full')
            .mark('tool-description')
        )
        description.value = tool.description if tool else ''

        ui.label(_('Parameters')).classes('text-lg font-semibold')
        mode = ui.toggle(
            {'form': _('Form'), 'json': _('JSON schema')}, value='form' if _form_rows(schema) is not None else 'json'
        ).mark('param-mode')
        raw = (
            ui.textarea(_('Parameters as JSON schema'), value=json.dumps(schema, indent=2))
            .props('outlined autogrow')
            .classes('w-full font-mono')
            .mark('tool-parameters-json')
        )
        raw.bind_visibility_from(mode, 'value', backward=lambda v: v == 'json')
        form_area = ui.column().classes('w-full gap-1')
        form_area.bind_visibility_from(mode, 'value', backward=lambda v: v == 'form')

        @ui.refreshable
        def form() -> None:
            for index, row in enumerate(rows, start=1):
                with ui.row().classes('w-full items-center gap-2'):
                    ui.input(_('Name'), value=row['name']).props('outlined dense').classes('w-40').mark(
                        f'param-name-{index}'
                    ).on_value_change(lambda e, r=row: r.__setitem__('name', (e.value or '').strip()))
                    ui.select(PARAM_TYPES, value=row['type'], label=_('Type')).props('outlined dense').classes(
                        'w-32'
                    ).mark(f'param-type-{index}').on_value_change(lambda e, r=row: r.__setitem__('type', e.value))
                    ui.input(_('Description'), value=row['description']).props('outlined dense').classes('grow').mark(
                        f'param-description-{index}'
                    ).on_value_change(lambda e, r=row: r.__setitem__('description', e.value or ''))
                    ui.checkbox(_('required'), value=row['required']).mark(f'param-required-{index}').on_value_change(
                        lambda e, r=row: r.__setitem__('required', bool(e.value))
                    )
                    remove = ui.button(icon='close', on_click=lambda r=row: (rows.remove(r), form.refresh()))
                    remove.props('flat round dense').tooltip(_('Remove parameter'))
                    remove._props['aria-label'] = _('Remove parameter {index}', index=index)
            ui.button(
                _('Add parameter'),
                icon='add',
                on_click=lambda: (
                    rows.append({'name': '', 'type': 'string', 'description': '', 'required': True}),
                    form.refresh(),
                ),
            ).props('flat').mark('add-param')

        with form_area:
            form()

        def switch_mode(e) -> None:
            if e.value == 'json':
                raw.value = json.dumps(_schema(rows), indent=2)
                return
            try:
                parsed = _form_rows(json.loads(raw.value or '{}'))
            except ValueError:
                parsed = None
            if parsed is None:
                ui.notify(_('This schema has parts the form cannot show; keep editing it as JSON.'), type='warning')
                mode.value = 'json'
                return
            rows[:] = parsed
            form.refresh()

        mode.on_value_change(switch_mode)

        ui.label(_('Implementation')).classes('text-lg font-semibold')

        @ui.refreshable
        def config_area() -> None:
            if kind.value == 'builtin':
                options = {
                    b.key: _(
                        '{name}: {description}', name=_(b.label) if b.label else b.key, description=_(b.description)
                    )
                    for b in services.builtin_tools.all()
                }
                state['builtin'] = (
                    ui.select(options, value=config.get('builtin'), label=_('Built-in'))
                    .props('outlined')
                    .classes('w-full')
                    .mark('tool-builtin')
                )
                ui.label(_('A built-in tool has fixed parameters; they are filled in when you save.')).classes(
                    'text-sm text-gray-700 dark:text-gray-300'
                )
            elif kind.value == 'http':
                with ui.row().classes('w-full gap-3'):
                    state['method'] = (
                        ui.select(
                            ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
                            value=config.get('method', 'GET'),
                            label=_('Method'),
                        )
                        .props('outlined')
                        .classes('w-32')
                        .mark('http-method')
                    )
                    state['url'] = (
                        ui.input(
                            _('URL template, e.g. https://api.example.org/weather?city={city}'),
                            value=config.get('url', ''),
                        )
                        .props('outlined')
                        .classes('grow')
                        .mark('http-url')
                    )
                state['headers'] = (
                    ui.textarea(_('Headers (JSON object)'), value=json.dumps(config.get('headers') or {}))
                    .props('outlined autogrow')
                    .classes('w-full font-mono')
                    .mark('http-headers')
                )
                ui.label(
                    _(
                        'Only hosts an admin has allow-listed can be called; internal addresses are refused. '
                        'Arguments fill {name} placeholders; other arguments go in a JSON body for POST, PUT and '
                        'PATCH.'
                    )
                ).classes('text-sm text-gray-700 dark:text-gray-300')
            else:
                state['response'] = (
                    ui.textarea(_('Response (JSON)'), value=json.dumps(config.get('response', {'ok': True}), indent=2))
                    .props('outlined autogrow')
                    .classes('w-full font-mono')
                    .mark('static-response')
                )

        state: dict[str, Any] = {}
        config_area()
        kind.on_value_change(config_area.refresh)
        error = error_label()

        def fail(text: str) -> None:
            error.text = text
            error.set_visibility(True)

        async def save() -> None:
            error.set_visibility(False)
            try:
                parameters = _schema(rows) if mode.value == 'form' else json.loads(raw.value or '{}')
            except ValueError as exc:
                return fail(_('The parameters are not valid JSON: {error}.', error=exc))
            try:
                if kind.value == 'builtin':
                    cfg: dict[str, Any] = {'builtin': state['builtin'].value}
                elif kind.value == 'http':
                    cfg = {'method': state['method'].value, 'url': state['url'].value,
                           'headers': json.loads(state['headers'].value or '{}')}  # fmt: skip
                else:
                    cfg = {'response': json.loads(state['response'].value or 'null')}
            except ValueError as exc:
                return fail(_('The configuration is not valid JSON: {error}.', error=exc))
            draft = ToolDraft(
                name=name.value or '',
                description=description.value or '',
                parameters=parameters,
                kind=kind.value,
                config=cfg,
                visibility=visibility.value,
                workshop_id=int(workshop.value) if workshop.value else None,
            )
            try:
                saved = (
                    await services.tools.create(user.id, draft)
                    if tool is None
                    else await services.tools.update(user.id, tool.id or 0, draft)
                )
            except ServiceError as exc:
                return fail(_(exc.message))
            ui.notify(_('Tool {name} saved.', name=saved.name), type='positive')
            result = on_saved(saved)
            if result is not None:
                await result

        ui.button(_('Save tool'), icon='save', on_click=save).mark('save-tool')
