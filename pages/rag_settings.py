"""Retrieval settings of a RAG system (mode, fusion, candidates, reranking): in the create form and, for its owner,
on the RAG system's page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from components.forms import guarded
from components.knowledge_parts import MUTED, translated
from services.core.auth import UserInfo
from services.core.i18n import N_, _
from services.knowledge.rag import RagInfo
from services.wiring import Services

MODES = {'dense': N_('Dense (vectors)'), 'keyword': N_('Keyword (BM25)'), 'hybrid': N_('Hybrid (both, fused)')}
FUSIONS = {'rrf': N_('Reciprocal rank fusion'), 'weighted': N_('Weighted scores')}


def describe(rag: RagInfo) -> str:
    """One line: how a RAG system retrieves."""
    parts = [_(MODES[rag.retrieval_mode])]
    if rag.retrieval_mode == 'hybrid':
        if rag.fusion == 'rrf':
            parts.append(f'RRF k={rag.rrf_k}')
        else:
            parts.append(_('weighted {weight} dense', weight=f'{rag.dense_weight:g}'))
    if rag.rerank:
        parts.append(_('reranked by {model} (top {count})', model=rag.rerank_model or rag.chat_model,
                       count=rag.rerank_candidates))  # fmt: skip
    return ' · '.join(parts)


def retrieval_controls(rag: RagInfo | None = None) -> Callable[[], dict[str, Any]]:
    """The controls (in the current context); returns a function reading their values as RagSystem fields."""
    with ui.row().classes('items-center'):
        mode = ui.select(translated(MODES), value=rag.retrieval_mode if rag else 'dense', label=_('Retrieval'))
        mode.classes('w-48').mark('rag-mode')
        candidates = ui.number(_('Candidates per retriever'), value=rag.candidates if rag else 10, min=1, max=100)
        candidates.classes('w-44').mark('rag-candidates')
        fusion = ui.select(translated(FUSIONS), value=rag.fusion if rag else 'rrf', label=_('Fusion')).classes('w-52')
        fusion.mark('rag-fusion')
        rrf_k = ui.number(_('RRF k'), value=rag.rrf_k if rag else 60, min=1, max=1000).classes('w-24').mark('rag-rrf-k')
        weight = ui.number(_('Dense weight'), value=rag.dense_weight if rag else 0.5, min=0, max=1, step=0.1)
        weight.classes('w-28').mark('rag-dense-weight')
    with ui.row().classes('items-center'):
        rerank = ui.switch(_('Rerank with an LLM'), value=rag.rerank if rag else False).mark('rag-rerank')
        rerank_model = ui.input(_('Reranking model (empty: the chat model)'), value=rag.rerank_model if rag else '')
        rerank_model.classes('w-64').mark('rag-rerank-model')
        rerank_candidates = ui.number(_('Candidates to rerank'), value=rag.rerank_candidates if rag else 10, min=1,
                                      max=100).classes('w-40').mark('rag-rerank-candidates')  # fmt: skip
    fusion.bind_visibility_from(mode, 'value', backward=lambda m: m == 'hybrid')
    rrf_k.bind_visibility_from(mode, 'value', backward=lambda m: m == 'hybrid')
    weight.bind_visibility_from(mode, 'value', backward=lambda m: m == 'hybrid')
    rerank_model.bind_visibility_from(rerank, 'value')
    rerank_candidates.bind_visibility_from(rerank, 'value')

    def values() -> dict[str, Any]:
        return {
            'retrieval_mode': mode.value, 'fusion': fusion.value, 'rrf_k': int(rrf_k.value or 60),
            'dense_weight': float(weight.value if weight.value is not None else 0.5),
            'candidates': int(candidates.value or 10), 'rerank': bool(rerank.value),
            'rerank_model': rerank_model.value or '', 'rerank_candidates': int(rerank_candidates.value or 10),
        }  # fmt: skip

    return values


def settings_section(services: Services, user: UserInfo, rag: RagInfo, on_saved: Callable[[RagInfo], None]) -> None:
    """The owner changes how the system retrieves (the others see it in the line above the question)."""
    if not rag.can_edit:
        return
    with ui.expansion(_('Retrieval settings'), icon='tune').classes('w-full').mark('rag-settings'):
        ui.label(
            _(
                'Dense search compares meanings (embeddings); keyword search (BM25) matches exact words, codes and '
                'names; hybrid runs both and fuses the rankings. A reranker rates the candidates for the question.'
            )
        ).classes(f'text-sm {MUTED}')
        values = retrieval_controls(rag)

        async def save() -> None:
            info = await guarded(lambda: services.rag.update(user.id, rag.id, **values()), success=_('Settings saved.'))
            if info:
                on_saved(info)

        ui.button(_('Save settings'), on_click=save).mark('rag-settings-save')
