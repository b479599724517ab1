"""Running a prompt: a form generated from the variable types, side-by-side streaming runs, ratings, and batches from
CSV with a results table and CSV download."""

from __future__ import annotations

import asyncio
from typing import Any

from nicegui import ui

from components.chat_view import waiting_text
from components.forms import error_label, guarded
from components.prompt_editor import chat_model_names
from services.core import i18n
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.i18n import _
from services.models.errors import OllamaError
from services.prompts.library import PromptDetail
from services.prompts.runs import BatchResult, RunInfo, batch_csv
from services.prompts.templates import Variable, as_text
from services.wiring import Services


def variable_input(variable: Variable) -> ui.element:
    """The input element for one variable, chosen by its type."""
    label = variable.label or variable.name.replace('_', ' ')
    default = variable.default
    if variable.type == 'long_text':
        element = ui.textarea(label, value=default or '').props('outlined autogrow')
    elif variable.type == 'number':
        element = ui.number(label, value=default).props('outlined')
    elif variable.type == 'choice':
        element = ui.select(variable.choices, value=default, label=label).props('outlined')
    elif variable.type == 'yes_no':
        element = ui.switch(label, value=bool(default))
    else:
        element = ui.input(label, value=default or '').props('outlined')
    return element.classes('w-full').mark(f'var-{variable.name}')


def _metrics_text(run: RunInfo) -> str:
    m = run.metrics
    parts = [
        _('{seconds} s', seconds=i18n.number(m['latency_ms'] / 1000, 2)) if m.get('latency_ms') is not None else ''
    ]
    if m.get('first_token_ms') is not None:
        parts.append(_('first token {ms} ms', ms=i18n.number(m['first_token_ms'], 0)))
    if m.get('output_tokens'):
        parts.append(_('{count} tokens', count=i18n.number(m['output_tokens'])))
    if m.get('tokens_per_s'):
        parts.append(_('{rate} tok/s', rate=i18n.number(m['tokens_per_s'])))
    return ' · '.join(p for p in parts if p)


def rating_widget(services: Services, user: UserInfo, run: RunInfo) -> None:
    async def rate(e) -> None:
        value = int(e.value) if e.value else None
        await guarded(lambda: services.prompt_runs.rate(user.id, run.id, value), success=_('Rating saved.'))

    rating = ui.rating(value=run.rating or 0, max=5, size='sm', on_change=rate).mark(f'rate-{run.id}')
    rating._props['aria-label'] = _('Rating')


async def run_tab(services: Services, user: UserInfo, detail: PromptDetail) -> None:
    version = detail.current
    models = await chat_model_names(services, user.id)
    inputs: dict[str, ui.element] = {}
    with ui.column().classes('w-full gap-2'):
        if not version.variables:
            ui.label(_('This prompt has no variables.')).classes('text-sm text-gray-700 dark:text-gray-300')
        with ui.grid().classes('w-full gap-3 grid-cols-1 md:grid-cols-2'):
            for variable in version.variables:
                inputs[variable.name] = variable_input(variable)
        with ui.row().classes('w-full items-center gap-3'):
            default = [version.default_model] if version.default_model else []
            chosen = (
                ui.select(
                    sorted({*models, *default}),
                    value=default,
                    multiple=True,
                    label=_('Models (pick several to compare side by side)'),
                )
                .props('outlined use-chips')
                .classes('grow')
                .mark('run-models')
            )
            button = ui.button(_('Run'), icon='play_arrow').mark('run')
        error = error_label()
        results = ui.row().classes('w-full gap-3 items-stretch no-wrap overflow-x-auto')
        results._props.update({'role': 'region', 'aria-live': 'polite', 'aria-label': _('Results')})

    @ui.refreshable
    async def past_runs() -> None:
        runs = await guarded(lambda: services.prompt_runs.runs(user.id, detail.id, limit=20)) or []
        if not runs:
            ui.label(_('No runs yet.')).classes('text-sm text-gray-700 dark:text-gray-300')
        for run in runs:
            with (
                ui.expansion(
                    _(
                        'v{version} · {model} · {when}',
                        version=run.version,
                        model=run.model,
                        when=i18n.moment(run.created_at),
                    )
                )
                .classes('w-full')
                .props('dense')
            ):
                ui.label(run.user_prompt).classes('text-sm whitespace-pre-wrap text-gray-700 dark:text-gray-300')
                if run.error:
                    ui.label(_(run.error)).classes('text-negative')
                else:
                    ui.markdown(run.output)
                with ui.row().classes('items-center gap-3'):
                    ui.label(_metrics_text(run)).classes('text-xs text-gray-700 dark:text-gray-300')
                    rating_widget(services, user, run)

    async def run_one(model: str, values: dict[str, Any]) -> None:
        with results, ui.card().classes('min-w-[18rem] flex-1').props('flat bordered'):
            ui.label(model).classes('font-semibold')
            spinner = ui.spinner(size='sm')
            output = ui.markdown('').classes('w-full').mark(f'output-{model}')
            footer = ui.row().classes('items-center gap-3')
        text = ''
        try:

            def waiting(ahead: int) -> None:
                output.set_content(f'_{waiting_text(ahead)}_')

            async for event in services.prompt_runs.stream_run(user.id, detail.id, values, model, on_wait=waiting):
                if event.kind == 'delta':
                    text += event.text
                    output.set_content(text)
                elif event.run is not None:
                    run = event.run
                    with footer:
                        if run.error:
                            ui.label(_(run.error)).classes('text-negative')
                        ui.label(_metrics_text(run)).classes('text-xs text-gray-700 dark:text-gray-300')
                        rating_widget(services, user, run)
        except (ServiceError, OllamaError) as exc:
            with footer:
                ui.label(_(exc.message)).classes('text-negative')
        finally:
            spinner.set_visibility(False)

    async def run_all() -> None:
        error.set_visibility(False)
        values = {}
        for name, element in inputs.items():
            value = element.value  # type: ignore[attr-defined]
            if value is not None and value != '':
                values[name] = value
        picked = list(chosen.value or [])
        if not picked:
            error.text = _('Pick at least one model.')
            error.set_visibility(True)
            return
        if len(picked) > 4:
            error.text = _('Compare at most 4 models at once.')
            error.set_visibility(True)
            return
        try:  # template errors once, before any model is called
            await services.prompt_runs.prepare(user.id, detail.id, values, picked[0])
        except ServiceError as exc:
            error.text = _(exc.message)
            error.set_visibility(True)
            return
        results.clear()
        button.disable()
        try:
            await asyncio.gather(*(run_one(model, values) for model in picked))
        finally:
            button.enable()
        past_runs.refresh()

    button.on_click(run_all)
    for element in inputs.values():
        element.on('keydown.ctrl.enter', run_all)
    ui.label(_('Your earlier runs')).classes('text-lg font-semibold mt-4')
    await past_runs()


async def batch_tab(services: Services, user: UserInfo, detail: PromptDetail) -> None:
    version = detail.current
    names = [v.name for v in version.variables]
    models = await chat_model_names(services, user.id)
    state: dict[str, Any] = {'result': None}
    with ui.column().classes('w-full gap-2'):
        ui.label(
            _(
                'One row per run; the first row names the variables ({variables}). At most {count} rows. '
                'Missing columns use the defaults.',
                variables=', '.join(names) or _('none'),
                count=services.prompt_runs.max_batch_rows,
            )
        ).classes('text-sm text-gray-700 dark:text-gray-300')
        csv_text = (
            ui.textarea('CSV', value=','.join(names) + '\n')
            .props('outlined autogrow')
            .classes('w-full font-mono')
            .mark('batch-csv')
        )

        async def uploaded(e) -> None:
            try:
                csv_text.value = (await e.file.read()).decode('utf-8-sig')
            except UnicodeDecodeError:
                ui.notify(_('The file is not UTF-8 text. Save it as "CSV UTF-8".'), type='negative')

        # Quasar's uploader draws an unnamed "add" button around its file input: a named button opens it instead
        upload = ui.upload(auto_upload=True, max_file_size=1_000_000, on_upload=uploaded)
        upload.props('accept=.csv,text/csv').classes('hidden').mark('batch-upload')
        ui.button(_('Upload a CSV file'), icon='upload_file', on_click=lambda: upload.run_method('pickFiles')).props(
            'outline'
        ).mark('batch-pick')
        with ui.row().classes('w-full items-center gap-3'):
            model = (
                ui.select(
                    sorted({*models, *([version.default_model] if version.default_model else [])}),
                    value=version.default_model or None,
                    label=_('Model'),
                )
                .props('outlined dense')
                .classes('w-72')
                .mark('batch-model')
            )
            button = ui.button(_('Run batch'), icon='playlist_play').mark('run-batch')
            progress = ui.label('').classes('text-sm text-gray-700 dark:text-gray-300').props('role=status')
        error = error_label()
        table_area = ui.column().classes('w-full')

    def show(result: BatchResult) -> None:
        table_area.clear()
        with table_area:
            with ui.row().classes('items-center gap-3'):
                ui.label(_('{count} rows, {failed} failed', count=len(result.runs), failed=result.failed)).classes(
                    'font-semibold'
                )
                ui.button(
                    _('Download CSV'),
                    icon='download',
                    on_click=lambda: ui.download.content(batch_csv(result).encode(), 'batch-results.csv', 'text/csv'),
                ).props('outline').mark('download-csv')
            columns = [{'name': n, 'label': n, 'field': n, 'align': 'left'} for n in result.variables]
            columns += [
                {
                    'name': 'output',
                    'label': _('Output'),
                    'field': 'output',
                    'align': 'left',
                    'style': 'white-space: normal',
                },
                {'name': 'latency', 'label': _('Seconds'), 'field': 'latency'},
            ]
            rows = [
                {
                    'id': run.id,
                    **{n: as_text(run.values.get(n, '')) for n in result.variables},
                    'output': run.error or run.output,
                    'latency': round((run.metrics.get('latency_ms') or 0) / 1000, 2),
                }
                for run in result.runs
            ]
            ui.table(columns=columns, rows=rows, row_key='id').classes('w-full').props('dense wrap-cells').mark(
                'batch-table'
            )

    async def run_batch() -> None:
        error.set_visibility(False)
        try:
            rows = await services.prompt_runs.parse_csv(user.id, detail.id, csv_text.value or '')
        except ServiceError as exc:
            error.text = _(exc.message)
            error.set_visibility(True)
            return
        button.disable()
        progress.text = _('{done} of {total} done…', done=0, total=len(rows))

        def on_progress(done: int, total: int) -> None:
            progress.text = _('{done} of {total} done…', done=done, total=total)

        try:
            result = await services.prompt_runs.run_batch(
                user.id, detail.id, rows, model.value or '', on_progress=on_progress
            )
        except (ServiceError, OllamaError) as exc:
            progress.text = ''
            error.text = _(exc.message)
            error.set_visibility(True)
            return
        finally:
            button.enable()
        progress.text = _('Done.')
        state['result'] = result
        show(result)

    button.on_click(run_batch)
