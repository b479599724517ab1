"""The prompt editor: name, sharing, system and user templates, typed variables, default model and options.
Every save creates a new version."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from components.forms import error_label
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.i18n import _
from services.prompts.library import PromptDetail, PromptDraft
from services.prompts.templates import VARIABLE_TYPES, placeholders
from services.wiring import Services


async def chat_model_names(services: Services, user_id: int) -> list[str]:
    """The models this user may run prompts and tool conversations with (the catalogue's one model list)."""
    return await services.catalogue.model_names(user_id, 'chat')


async def prompt_editor(
    services: Services,
    user: UserInfo,
    detail: PromptDetail | None,
    on_saved: Callable[[PromptDetail], Awaitable[None] | None],
) -> None:
    current = detail.current if detail else None
    variables: list[dict[str, Any]] = [dict(v) for v in current.variables_spec()] if current else []
    models = await chat_model_names(services, user.id)

    with ui.column().classes('w-full gap-3'):
        with ui.row().classes('w-full gap-3'):
            name = (
                ui.input(_('Name'), value=detail.name if detail else '')
                .props('outlined')
                .classes('grow')
                .mark('prompt-name')
            )
            tags = (
                ui.input(_('Tags (comma separated)'), value=', '.join(detail.tags) if detail else '')
                .props('outlined')
                .classes('w-72')
                .mark('prompt-tags')
            )
        description = (
            ui.textarea(_('Description'), value=detail.description if detail else '')
            .props('outlined autogrow')
            .classes('w-full')
            .mark('prompt-description')
        )
        with ui.row().classes('w-full items-center gap-3'):
            visibility = (
                ui.select(
                    {'private': _('Private'), 'workshop': _('Shared with a workshop'), 'public': _('Public')},
                    value=detail.visibility if detail else 'private',
                    label=_('Visibility'),
                )
                .props('outlined dense')
                .classes('w-60')
                .mark('prompt-visibility')
            )
            workshop = (
                ui.number(_('Workshop number'), value=detail.workshop_id if detail else None, format='%d')
                .props('outlined dense')
                .classes('w-48')
                .mark('prompt-workshop')
            )
            workshop.bind_visibility_from(visibility, 'value', backward=lambda v: v == 'workshop')
        ui.label(_('Write {{name}} where a variable goes. Nothing in a template is ever executed.')).classes(
            'text-sm text-gray-700 dark:text-gray-300'
        )
        system = (
            ui.textarea(_('System template (optional)'), value=current.system_template if current else '')
            .props('outlined autogrow')
            .classes('w-full font-mono')
            .mark('system-template')
        )
        user_template = (
            ui.textarea(_('User template'), value=current.user_template if current else '')
            .props('outlined autogrow')
            .classes('w-full font-mono')
            .mark('user-template')
        )

        @ui.refreshable
        def variable_rows() -> None:
            if not variables:
                ui.label(_('No variables. Use {{name}} in a template, then "Detect variables".')).classes(
                    'text-sm text-gray-700 dark:text-gray-300'
                )
            for index, variable in enumerate(variables, start=1):
                _variable_row(index, variable, variables, variable_rows.refresh)

        async def detect() -> None:
            used = placeholders(system.value or '', user_template.value or '')
            known = {v['name'] for v in variables}
            added = [n for n in used if n not in known]
            variables.extend({'name': n, 'type': 'text', 'default': None} for n in added)
            unused = [v['name'] for v in variables if v['name'] not in used]
            await variable_rows.refresh()
            text = _('Added {names}.', names=', '.join(added)) if added else _('No new variables.')
            if unused:
                text = _('{text} Not used in the templates: {names}.', text=text, names=', '.join(unused))
            ui.notify(text)

        with ui.row().classes('items-center gap-2'):
            ui.label(_('Variables')).classes('text-lg font-semibold')
            ui.button(_('Detect variables'), icon='search', on_click=detect).props('flat').mark('detect-variables')
            ui.button(
                _('Add variable'),
                icon='add',
                on_click=lambda: (variables.append({'name': '', 'type': 'text'}), variable_rows.refresh()),
            ).props('flat')
        with ui.column().classes('w-full gap-1'):
            variable_rows()

        with ui.row().classes('w-full gap-3'):
            model = (
                ui.select(
                    models,
                    value=current.default_model if current and current.default_model else None,
                    label=_('Default model'),
                    new_value_mode='add-unique',
                    with_input=True,
                    clearable=True,
                )
                .props('outlined dense')
                .classes('w-72')
                .mark('default-model')
            )
            options = (
                ui.input(
                    _('Options (JSON)'), value=json.dumps(current.options) if current and current.options else '{}'
                )
                .props('outlined dense')
                .classes('grow font-mono')
                .mark('prompt-options')
            )
        message = (
            ui.input(_('What changed? (optional version message)'))
            .props('outlined dense')
            .classes('w-full')
            .mark('version-message')
        )
        error = error_label()

        async def save() -> None:
            error.set_visibility(False)
            try:
                parsed_options = json.loads(options.value or '{}')
            except ValueError:
                error.text = _('Options must be JSON, like {"temperature": 0.7}.')
                error.set_visibility(True)
                return
            draft = PromptDraft(
                name=name.value or '',
                description=description.value or '',
                tags=tags.value or '',
                visibility=visibility.value,
                workshop_id=int(workshop.value) if workshop.value else None,
                system_template=system.value or '',
                user_template=user_template.value or '',
                variables=[v for v in variables if v.get('name')],
                default_model=model.value or '',
                options=parsed_options,
            )
            try:
                if detail is None:
                    saved = await services.prompts.create(user.id, draft, message.value or '')
                else:
                    saved = await services.prompts.save(user.id, detail.id, draft, message.value or '')
            except ServiceError as exc:
                error.text = _(exc.message)
                error.set_visibility(True)
                return
            ui.notify(_('Saved version {number}.', number=saved.current_version), type='positive')
            result = on_saved(saved)
            if result is not None:
                await result

        ui.button(_('Save') if detail is None else _('Save as new version'), icon='save', on_click=save).mark(
            'save-prompt'
        )


def _variable_row(index: int, variable: dict[str, Any], variables: list[dict[str, Any]], refresh) -> None:
    with ui.row().classes('w-full items-center gap-2'):
        ui.input(_('Name'), value=variable.get('name', '')).props('outlined dense').classes('w-44').mark(
            f'var-name-{index}'
        ).on_value_change(lambda e: variable.__setitem__('name', (e.value or '').strip()))

        def set_type(e) -> None:
            variable['type'] = e.value
            refresh()

        ui.select(
            {key: _(label) for key, label in VARIABLE_TYPES.items()},
            value=variable.get('type', 'text'),
            label=_('Type'),
            on_change=set_type,
        ).props('outlined dense').classes('w-36').mark(f'var-type-{index}')
        default = variable.get('default')
        if variable.get('type') == 'yes_no':
            ui.switch(_('Default: yes'), value=bool(default)).mark(f'var-default-{index}').on_value_change(
                lambda e: variable.__setitem__('default', e.value)
            )
        else:
            ui.input(_('Default'), value='' if default is None else str(default)).props('outlined dense').classes(
                'w-44'
            ).mark(f'var-default-{index}').on_value_change(
                lambda e: variable.__setitem__('default', e.value if e.value != '' else None)
            )
        if variable.get('type') == 'choice':
            ui.input(_('Choices (comma separated)'), value=', '.join(variable.get('choices') or [])).props(
                'outlined dense'
            ).classes('grow').mark(f'var-choices-{index}').on_value_change(
                lambda e: variable.__setitem__('choices', [c.strip() for c in (e.value or '').split(',') if c.strip()])
            )

        def remove() -> None:
            variables.remove(variable)
            refresh()

        remove_button = ui.button(icon='close', on_click=remove).props('flat round dense').tooltip(_('Remove variable'))
        remove_button._props['aria-label'] = _('Remove variable {index}', index=index)
