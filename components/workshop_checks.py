"""Exercise checks of workshop steps in the UI: the instructor's editor (a dialog per step), the attendee's list of what
is still missing, and the dashboard's panel of class-wide failure reasons."""

from __future__ import annotations

import json
from typing import Any

from nicegui import ui

from components.forms import confirm, error_label, guarded
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.i18n import N_, _, _n
from services.wiring import Services
from services.workshops import checks as workshop_checks
from services.workshops.types import StepInfo

INPUTS: dict[str, tuple[str, str]] = {  # setting -> (label, hint)
    'pattern': (N_('Regular expression the output must match'), N_(r'searched anywhere in the output, e.g. ^\d+$')),
    'schema': (N_('JSON schema the output must fit'), N_('e.g. {"type": "object", "required": ["answer"]}')),
    'document': (N_('Document name the answer must cite'), N_('as listed in the knowledge base, e.g. handbook.md')),
    'tool': (N_('Tool name'), N_('e.g. calculator')),
    'arguments': (
        N_('Arguments must match (optional regular expression)'),
        N_('matched against the JSON of the arguments'),
    ),
    'base': (N_('Base model'), N_('e.g. llama3.2')),
    'phrase': (N_('The system prompt contains'), N_('case does not matter')),
    'min': (N_('Hit rate to reach (0 to 1)'), N_('e.g. 0.8')),
    'k': (N_('At most k passages (optional)'), N_('the top-k of the RAG system')),
}
STATE_ICONS = {
    True: ('check_circle', 'positive'),
    False: ('cancel', 'negative'),
    None: ('radio_button_unchecked', 'grey'),
}


def describe(check: dict[str, Any]) -> str:
    """What the check asks for, in the reader's language."""
    return _(workshop_checks.describe(check))


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + '…'


def open_editor(services: Services, user: UserInfo, workshop_id: int, step: StepInfo) -> None:
    """The checks of one step: listed with edit and delete, and a form to add (or edit) one."""
    ws = services.workshops
    editing: dict[str, Any] = {'id': None}
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-2xl gap-2'):
        ui.label(_('Checks of step {number}: {title}', number=step.position + 1, title=step.title)).classes(
            'text-lg font-semibold'
        )
        ui.label(
            _(
                'Checks look at what attendees produce. The step completes automatically once all its checks pass '
                '(its completion rule is then not used); attendees see what is still missing.'
            )
        ).classes('text-sm text-gray-700 dark:text-gray-300')
        if not step.checks:
            ui.label(_('No checks yet. Add the first one below.')).classes('text-gray-700 dark:text-gray-300').mark(
                'no-checks'
            )
        for check in step.checks:
            with ui.row().classes('w-full items-center gap-2 no-wrap'):
                ui.icon('rule', color='primary').props('aria-hidden=true')
                ui.label(describe(check)).classes('grow break-all').mark('check-item')

                def edit(c: dict[str, Any] = check) -> None:
                    editing['id'] = c['id']
                    kind.value = c['kind']
                    for name in INPUTS:
                        value = c.get(name, '')
                        inputs[name].value = json.dumps(value, indent=2) if name == 'schema' else str(value)
                    save.text = _('Save changes')

                async def delete(c: dict[str, Any] = check) -> None:
                    if await confirm(
                        _('Delete this check?'), _('What attendees passed of it is forgotten.'), action=_('Delete')
                    ):
                        await guarded(lambda: ws.delete_check(user.id, workshop_id, step.id, c['id']))
                        ui.navigate.reload()

                edit_button = ui.button(icon='edit', on_click=edit).props('flat round dense').mark('check-edit')
                edit_button._props['aria-label'] = _('Edit check')
                edit_button.tooltip(_('Edit check'))
                delete_button = ui.button(icon='delete', on_click=delete).props('flat round dense').mark('check-delete')
                delete_button._props['aria-label'] = _('Delete check')
                delete_button.tooltip(_('Delete check'))
        ui.separator()
        kinds = {key: _(label) for key, label in workshop_checks.kind_options().items()}
        kind = ui.select(kinds, value='output_regex', label=_('Kind of check'))
        kind.props('outlined dense').classes('w-full').mark('check-kind')
        inputs: dict[str, Any] = {}
        for name, (label, hint) in INPUTS.items():
            element = ui.textarea(_(label)) if name == 'schema' else ui.input(_(label))
            element.props('outlined dense').classes('w-full font-mono').mark(f'check-{name}')
            element._props['hint'] = _(hint)
            inputs[name] = element

        def show_fields() -> None:
            wanted = workshop_checks.FIELDS.get(kind.value or '', ())
            for name, element in inputs.items():
                element.set_visibility(name in wanted)

        kind.on_value_change(show_fields)
        show_fields()
        error = error_label().mark('check-error')

        async def submit() -> None:
            wanted = workshop_checks.FIELDS.get(kind.value or '', ())
            spec = {'kind': kind.value, **{name: inputs[name].value for name in wanted}}
            try:
                await ws.save_check(user.id, workshop_id, step.id, spec, editing['id'])
            except ServiceError as exc:
                error.text = _(exc.message)
                error.set_visibility(True)
                return
            dialog.close()
            ui.notify(_('Check saved.'), type='positive')
            ui.navigate.reload()

        for name in ('pattern', 'document', 'tool', 'arguments', 'base', 'phrase', 'min', 'k'):
            inputs[name].on('keydown.enter', submit)
        with ui.row().classes('w-full justify-end'):
            ui.button(_('Close'), on_click=dialog.close).props('flat')
            save = ui.button(_('Add check'), icon='add', on_click=submit).mark('check-save')
    dialog.open()


def attendee_checks(checks: list[dict[str, Any]], results: dict[str, dict[str, Any]]) -> None:
    """On the attendee's step: each check, passed, failed (with what is still missing) or not tried yet."""
    with ui.column().classes('w-full gap-1').mark('step-checks'):
        passed = sum(1 for c in checks if results.get(c['id'], {}).get('passed'))
        ui.label(_('Checks: {passed} of {total} passed', passed=passed, total=len(checks))).classes('font-semibold')
        for check in checks:
            outcome = results.get(check['id'])
            icon, color = STATE_ICONS[outcome['passed'] if outcome else None]
            with ui.row().classes('w-full items-start gap-2 no-wrap'):
                ui.icon(icon, color=color).classes('mt-0.5').props('aria-hidden=true')
                with ui.column().classes('gap-0 min-w-0'):
                    ui.label(describe(check)).classes('break-all')
                    if outcome is None:
                        ui.label(_('Not tried yet.')).classes('text-sm text-gray-700 dark:text-gray-300')
                    elif outcome['passed']:
                        ui.label(_('Passed.')).classes('text-sm text-green-800 dark:text-green-300')
                    else:
                        ui.label(_('Still missing: {reason}', reason=_(outcome['reason']))).classes(
                            'text-sm text-red-700 dark:text-red-300'
                        )
                    link = workshop_checks.link(check)
                    if outcome is None or not outcome['passed']:
                        ui.link(_('Open {page}', page=link.strip('/')), link).classes(
                            'text-sm text-blue-700 dark:text-blue-300 underline'
                        )


class CheckSummary:
    """The dashboard's panel: per check, how many attendees passed, failed or have not tried, and why they failed."""

    def __init__(self, summary: list[dict[str, Any]]) -> None:
        self.box = ui.column().classes('w-full gap-1').mark('check-summary')
        self.show(summary)

    def show(self, summary: list[dict[str, Any]]) -> None:
        self.box.clear()
        if not summary:
            return
        with self.box:
            ui.label(_('Exercise checks')).classes('text-lg font-semibold')
            for item in summary:
                with ui.card().classes('w-full gap-1 py-2').props('flat bordered'):
                    with ui.row().classes('w-full items-center gap-2'):
                        ui.label(_('Step {number} · {check}', number=item['step'], check=item['label'])).classes(
                            'font-medium break-all'
                        )
                        ui.space()
                        ui.badge(_('{count} passed', count=item['passed']), color='green-9')
                        ui.badge(
                            _('{count} failed', count=item['failed']), color='negative' if item['failed'] else 'grey-8'
                        )
                        ui.badge(_('{count} not tried', count=item['untried']), color='grey-8')
                    for reason in item['reasons']:
                        count, why = reason['count'], _(reason['reason'])
                        ui.label(_n('{count} attendee: {reason}', '{count} attendees: {reason}', count, count=count,
                                    reason=why)).classes('text-sm').mark('check-reason')  # fmt: skip
