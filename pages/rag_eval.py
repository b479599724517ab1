"""The evaluation section of a RAG system page: question sets, runs, side-by-side comparison."""

from __future__ import annotations

import json

from nicegui import ui

from components.forms import guarded, loading
from components.knowledge_parts import MUTED, PRIMARY_TEXT, WARNING_TEXT
from services.core import i18n
from services.core.auth import UserInfo
from services.core.i18n import N_, _, _n
from services.knowledge.evaluation import EvalReport
from services.knowledge.rag import RagInfo
from services.wiring import Services

EXAMPLE = json.dumps(
    [{'question': 'What is this document about?', 'expected_document': 'notes.md', 'expected_keywords': ['llama']}],
    indent=2,
)


def _fmt(value: float | None) -> str:
    return '–' if value is None else i18n.number(value, 2)


def report_table(report: EvalReport) -> None:
    ui.label(
        _('{name}: hit rate@{k} {hit_rate} · MRR {mrr} · nDCG@{k} {ndcg} · keyword match {keywords}',
          name=report.rag_name, k=report.k, hit_rate=_fmt(report.hit_rate), mrr=_fmt(report.mrr),
          ndcg=_fmt(report.ndcg), keywords=_fmt(report.keyword_match))
    ).classes('font-semibold').mark('eval-summary')  # fmt: skip
    rows = [
        {
            'question': r.question,
            'expected': r.expected_document or '',
            'hit': '–' if r.hit is None else (_('yes') if r.hit else _('no')),
            'rr': _fmt(r.reciprocal_rank),
            'keywords': _fmt(r.keyword_match),
        }
        for r in report.results
    ]
    columns = [{'name': k, 'label': _(k), 'field': k, 'align': 'left'} for k in COLUMNS]
    ui.table(columns=columns, rows=rows).props('dense flat').classes('w-full')


COLUMNS = (N_('question'), N_('expected'), N_('hit'), N_('rr'), N_('keywords'))
METRICS = (('hit_rate', 'hit@k'), ('mrr', 'MRR'), ('ndcg', 'nDCG@k'))


def modes_comparison(reports: list[EvalReport]) -> None:
    """The same question set retrieved with each mode: a table and a bar chart of hit@k, MRR and nDCG@k."""
    k = reports[0].k if reports else 0
    count = len(reports[0].results) if reports else 0
    title = _n('Retrieval modes on the same {count} question(s), top-{k}',
               'Retrieval modes on the same {count} question(s), top-{k}', count, count=count, k=k)  # fmt: skip
    ui.label(title).classes('font-semibold')
    columns = [{'name': 'mode', 'label': _('mode'), 'field': 'mode', 'align': 'left'}]
    columns += [{'name': key, 'label': label, 'field': key} for key, label in METRICS]
    columns.append({'name': 'ms', 'label': _('ms per question'), 'field': 'ms'})
    rows = [
        {'mode': _(r.mode), **{key: _fmt(getattr(r, key)) for key, _label in METRICS},
         'ms': i18n.number(r.latency_ms or 0, 0)}
        for r in reports
    ]  # fmt: skip
    ui.table(columns=columns, rows=rows, row_key='mode').props('dense flat').classes('w-full').mark('eval-modes-table')
    chart = ui.echart({
        'title': {'text': title, 'show': False},
        'aria': {'enabled': True},
        'tooltip': {'trigger': 'axis'},
        'legend': {'data': [label for _key, label in METRICS]},
        'xAxis': {'type': 'category', 'data': [_(r.mode) for r in reports]},
        'yAxis': {'type': 'value', 'min': 0, 'max': 1},
        'series': [
            {'name': label, 'type': 'bar', 'data': [getattr(r, key) or 0 for r in reports]} for key, label in METRICS
        ],
    }).classes('w-full h-72').mark('eval-modes-chart')  # fmt: skip
    chart._props['role'] = 'img'
    chart._props['aria-label'] = _(
        'Bar chart of hit@k, MRR and nDCG@k per retrieval mode; the table above has the same scores.'
    )
    for note in dict.fromkeys(n for r in reports for n in r.notes):
        ui.label(_(note)).classes(f'text-xs {WARNING_TEXT}')


async def evaluation_section(services: Services, user: UserInfo, rag: RagInfo) -> None:
    with ui.expansion(_('Evaluation'), icon='fact_check').classes('w-full').mark('evaluation'):
        ui.label(
            _(
                'A question set lists questions with the document that should be retrieved and/or keywords the answer '
                'should contain (JSON list).'
            )
        ).classes(f'text-sm {MUTED}')
        name = ui.input(_('Set name'), value=_('Questions')).classes('w-64')
        questions = ui.textarea(_('Questions (JSON)'), value=EXAMPLE).props('autogrow outlined').classes('w-full')
        questions.mark('eval-questions')
        sets = await services.evals.list_sets(user.id, rag.id)
        others = [r for r in await services.rag.list_systems(user.id) if r.id != rag.id]
        with ui.row().classes('items-center'):
            chosen = ui.select({s.id: f'{s.name} ({len(s.questions)})' for s in sets}, label=_('Question set'),
                               value=sets[-1].id if sets else None).classes('w-64').mark('eval-set')  # fmt: skip
            other = ui.select({r.id: r.name for r in others}, label=_('Compare with'), clearable=True).classes('w-64')
        results = ui.row().classes('w-full no-wrap items-start').props('aria-live=polite')

        async def save() -> None:
            try:
                items = json.loads(questions.value or '[]')
            except json.JSONDecodeError as exc:
                ui.notify(
                    _('The questions are not valid JSON (line {line}): {error}.', line=exc.lineno, error=exc.msg),
                    type='negative',
                )
                return
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                ui.notify(_('Give a JSON list of objects with "question".'), type='negative')
                return
            info = await guarded(lambda: services.evals.create_set(user.id, rag.id, name.value or '', items))
            if info:
                chosen.options[info.id] = f'{info.name} ({len(info.questions)})'
                chosen.update()
                chosen.set_value(info.id)
                ui.notify(_('Question set saved.'), type='positive')

        async def run() -> None:
            if chosen.value is None:
                ui.notify(_('Save a question set first.'), type='warning')
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
                ui.notify(_('Save a question set first.'), type='warning')
                return
            with loading(modes_button):
                reports = await guarded(lambda: services.evals.compare_modes(user.id, chosen.value, rag.id))
            if reports:
                results.clear()
                with results, ui.column().classes('w-full'):
                    modes_comparison(reports)

        with ui.row():
            ui.button(_('Save set'), on_click=save).props('outline').classes(PRIMARY_TEXT).mark('eval-save')
            button = ui.button(_('Run evaluation'), icon='play_arrow', on_click=run).mark('eval-run')
            modes_button = ui.button(_('Compare retrieval modes'), icon='bar_chart', on_click=compare_modes)
            modes_button.props('outline').classes(PRIMARY_TEXT).mark('eval-modes')
