"""The evaluation section of a RAG system page: question sets, runs, side-by-side comparison."""

from __future__ import annotations

import json

from nicegui import ui

from components.forms import guarded, loading
from services.core.auth import UserInfo
from services.knowledge.evaluation import EvalReport
from services.knowledge.rag import RagInfo
from services.wiring import Services

EXAMPLE = json.dumps(
    [{'question': 'What is this document about?', 'expected_document': 'notes.md', 'expected_keywords': ['llama']}],
    indent=2,
)


def _fmt(value: float | None) -> str:
    return '–' if value is None else f'{value:.2f}'


def report_table(report: EvalReport) -> None:
    ui.label(
        f'{report.rag_name}: hit rate@{report.k} {_fmt(report.hit_rate)} · MRR {_fmt(report.mrr)} · '
        f'nDCG@{report.k} {_fmt(report.ndcg)} · keyword match {_fmt(report.keyword_match)}'
    ).classes('font-semibold').mark('eval-summary')
    rows = [
        {
            'question': r.question,
            'expected': r.expected_document or '',
            'hit': '–' if r.hit is None else ('yes' if r.hit else 'no'),
            'rr': _fmt(r.reciprocal_rank),
            'keywords': _fmt(r.keyword_match),
        }
        for r in report.results
    ]
    columns = [{'name': k, 'label': k, 'field': k, 'align': 'left'} for k in ('question', 'expected', 'hit', 'rr')]
    columns.append({'name': 'keywords', 'label': 'keywords', 'field': 'keywords', 'align': 'left'})
    ui.table(columns=columns, rows=rows).props('dense flat').classes('w-full')


METRICS = (('hit_rate', 'hit@k'), ('mrr', 'MRR'), ('ndcg', 'nDCG@k'))


def modes_comparison(reports: list[EvalReport]) -> None:
    """The same question set retrieved with each mode: a table and a bar chart of hit@k, MRR and nDCG@k."""
    k = reports[0].k if reports else 0
    ui.label(f'Retrieval modes on the same {len(reports[0].results) if reports else 0} question(s), top-{k}').classes(
        'font-semibold'
    )
    columns = [{'name': 'mode', 'label': 'mode', 'field': 'mode', 'align': 'left'}]
    columns += [{'name': key, 'label': label, 'field': key} for key, label in METRICS]
    columns.append({'name': 'ms', 'label': 'ms per question', 'field': 'ms'})
    rows = [
        {'mode': r.mode, **{key: _fmt(getattr(r, key)) for key, _ in METRICS}, 'ms': f'{r.latency_ms or 0:.0f}'}
        for r in reports
    ]
    ui.table(columns=columns, rows=rows, row_key='mode').props('dense flat').classes('w-full').mark('eval-modes-table')
    ui.echart({
        'aria': {'enabled': True},
        'tooltip': {'trigger': 'axis'},
        'legend': {'data': [label for _, label in METRICS]},
        'xAxis': {'type': 'category', 'data': [r.mode for r in reports]},
        'yAxis': {'type': 'value', 'min': 0, 'max': 1},
        'series': [
            {'name': label, 'type': 'bar', 'data': [getattr(r, key) or 0 for r in reports]} for key, label in METRICS
        ],
    }).classes('w-full h-72').mark('eval-modes-chart')  # fmt: skip
    for note in dict.fromkeys(n for r in reports for n in r.notes):
        ui.label(note).classes('text-xs text-warning')


async def evaluation_section(services: Services, user: UserInfo, rag: RagInfo) -> None:
    with ui.expansion('Evaluation', icon='fact_check').classes('w-full').mark('evaluation'):
        ui.label(
            'A question set lists questions with the document that should be retrieved and/or keywords the answer '
            'should contain (JSON list).'
        ).classes('text-sm text-gray-500')
        name = ui.input('Set name', value='Questions').classes('w-64')
        questions = ui.textarea('Questions (JSON)', value=EXAMPLE).props('autogrow outlined').classes('w-full')
        questions.mark('eval-questions')
        sets = await services.evals.list_sets(user.id, rag.id)
        others = [r for r in await services.rag.list_systems(user.id) if r.id != rag.id]
        with ui.row().classes('items-center'):
            chosen = ui.select({s.id: f'{s.name} ({len(s.questions)})' for s in sets}, label='Question set',
                               value=sets[-1].id if sets else None).classes('w-64').mark('eval-set')  # fmt: skip
            other = ui.select({r.id: r.name for r in others}, label='Compare with', clearable=True).classes('w-64')
        results = ui.row().classes('w-full no-wrap items-start')

        async def save() -> None:
            try:
                items = json.loads(questions.value or '[]')
            except json.JSONDecodeError as exc:
                ui.notify(f'The questions are not valid JSON (line {exc.lineno}): {exc.msg}.', type='negative')
                return
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                ui.notify('Give a JSON list of objects with "question".', type='negative')
                return
            info = await guarded(lambda: services.evals.create_set(user.id, rag.id, name.value or '', items))
            if info:
                chosen.options[info.id] = f'{info.name} ({len(info.questions)})'
                chosen.update()
                chosen.set_value(info.id)
                ui.notify('Question set saved.', type='positive')

        async def run() -> None:
            if chosen.value is None:
                ui.notify('Save a question set first.', type='warning')
                return
            with loading(button):
                if other.value:
                    reports = await guarded(lambda: services.evals.compare(user.id, chosen.value, rag.id, other.value))
                else:
                    single = await guarded(lambda: services.evals.run(user.id, chosen.value))
                    reports = (single,) if single else None
            if not reports:
                return
            results.clear()
            with results:
                for report in reports:
                    with ui.column().classes('grow'):
                        report_table(report)

        async def compare_modes() -> None:
            if chosen.value is None:
                ui.notify('Save a question set first.', type='warning')
                return
            with loading(modes_button):
                reports = await guarded(lambda: services.evals.compare_modes(user.id, chosen.value, rag.id))
            if reports:
                results.clear()
                with results, ui.column().classes('w-full'):
                    modes_comparison(reports)

        with ui.row():
            ui.button('Save set', on_click=save).props('outline').mark('eval-save')
            button = ui.button('Run evaluation', icon='play_arrow', on_click=run).mark('eval-run')
            modes_button = ui.button('Compare retrieval modes', icon='bar_chart', on_click=compare_modes)
            modes_button.props('outline').mark('eval-modes')
