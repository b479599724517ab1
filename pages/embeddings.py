"""Embeddings playground: similarity heatmaps, comparing two models, nearest neighbours in a knowledge base."""

from __future__ import annotations

from nicegui import APIRouter, ui

from components.forms import guarded
from components.frame import frame
from components.knowledge_parts import MUTED, model_names
from pages.common import page_user
from services.core import i18n
from services.core.i18n import _
from services.knowledge.embeddings import SimilarityMatrix
from services.wiring import Services

EXAMPLE = 'Llamas carry packs in the Andes.\nAlpacas are kept for their wool.\nThe stock market fell today.'


def heatmap(result: SimilarityMatrix) -> ui.echart:
    labels = [s if len(s) <= 24 else s[:22] + '…' for s in result.sentences]
    data = [[j, i, value] for i, row in enumerate(result.matrix) for j, value in enumerate(row)]
    chart = ui.echart({
        'title': {'text': f'{result.model} ({result.dimension}-d)', 'textStyle': {'fontSize': 13}},
        'aria': {'enabled': True},
        'tooltip': {'position': 'top'},
        'grid': {'left': 160, 'bottom': 90, 'top': 40},
        'xAxis': {'type': 'category', 'data': labels, 'axisLabel': {'rotate': 30}},
        'yAxis': {'type': 'category', 'data': labels},
        'visualMap': {'min': -1, 'max': 1, 'calculable': True, 'orient': 'horizontal', 'left': 'center', 'bottom': 0},
        'series': [{'type': 'heatmap', 'data': data, 'label': {'show': True, 'formatter': '{@[2]}'}}],
    }).classes('w-full h-96')  # fmt: skip
    chart._props['role'] = 'img'
    chart._props['aria-label'] = _(
        'Cosine similarity of each pair of sentences with {model} ({dimension}-d)',
        model=result.model,
        dimension=result.dimension,
    )
    return chart


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/embeddings')

    @router.page('')
    async def embeddings_page() -> None:
        user = await page_user(services)
        if user is None:
            return
        with frame(services, user, _('Embeddings')):
            models = await model_names(services, user.id, 'embedding')
            ui.label(_('Embed a few sentences: similar meanings get a cosine similarity close to 1.')).classes(MUTED)
            sentences = ui.textarea(_('Sentences, one per line'), value=EXAMPLE).props('outlined autogrow')
            sentences.classes('w-full').mark('sentences')
            with ui.row().classes('items-center'):
                first = ui.select(
                    models, value=models[0] if models else None, label=_('Model'), new_value_mode='add-unique'
                )
                first.classes('w-64').mark('model-a')
                second = ui.select(models, value=None, label=_('Compare with (optional)'), new_value_mode='add-unique',
                                   clearable=True).classes('w-64').mark('model-b')  # fmt: skip
                go = ui.button(_('Compare similarities'), icon='grid_on').mark('embed-run')
            charts = ui.row().classes('w-full no-wrap').props('aria-live=polite')

            async def run() -> None:
                lines = (sentences.value or '').splitlines()
                names = [m for m in (first.value, second.value) if m]
                results = []
                for model in names or ['']:
                    result = await guarded(lambda m=model: services.embeddings.similarity(user.id, m, lines))
                    if result is None:
                        return
                    results.append(result)
                charts.clear()
                with charts:
                    for result in results:
                        with ui.column().classes('grow'):
                            heatmap(result)
                            ui.label(f'{i18n.number(result.latency_ms, 0)} ms').classes(f'text-xs {MUTED}').mark(
                                'embed-done'
                            )

            go.on_click(run)
            sentences.on('keydown.ctrl.enter', run)

            ui.separator()
            ui.label(_('Nearest neighbours in a knowledge base')).classes('text-lg font-semibold')
            kbs = await services.knowledge.list_kbs(user.id)
            if not kbs:
                ui.label(_('No knowledge base yet: create one under Knowledge.')).classes(MUTED)
                return
            with ui.row().classes('items-center w-full'):
                kb = ui.select({k.id: k.name for k in kbs}, value=kbs[0].id, label=_('Knowledge base')).classes('w-64')
                query = ui.input(_('Sentence')).classes('grow').mark('nn-query')
                k = ui.number('k', value=5, min=1, max=50).classes('w-20')
                find = ui.button(_('Find'), icon='search').mark('nn-run')
            found = ui.column().classes('w-full gap-1').props('aria-live=polite')

            async def neighbours() -> None:
                hits = await guarded(
                    lambda: services.embeddings.neighbours(user.id, kb.value, query.value or '', int(k.value or 5))
                )
                found.clear()
                if hits is None:
                    return
                with found:
                    if not hits:
                        ui.label(_('Nothing found: has the knowledge base been ingested?')).classes(MUTED)
                    for hit in hits:
                        with ui.row().classes('items-start w-full no-wrap border-b py-1'):
                            ui.badge(f'{hit.score:.3f}', color='blue-grey-8')
                            ui.label(f'{hit.document_name} #{hit.index}').classes(f'text-xs {MUTED} w-40')
                            ui.label(hit.text[:400]).classes('text-sm')

            find.on_click(neighbours)
            query.on('keydown.enter', neighbours)

    return router
