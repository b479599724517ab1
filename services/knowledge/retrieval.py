"""One retrieval of a RAG system: retrievers per mode, fusion, optional reranking, and the reasons shown.

`RagService` calls `run` after its permission checks. The passages come back with how each was found (dense rank and
score, keyword rank and BM25 score, fused score, rerank score) and why it was kept or dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from llama_index.core.schema import NodeWithScore, QueryBundle

from models import KnowledgeBase
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.knowledge.bases import KnowledgeService, collection_name
from services.knowledge.retrievers import (
    DenseRetriever,
    HybridRetriever,
    KeywordRetriever,
    LLMReranker,
    RetrievalSettings,
    Source,
)
from services.knowledge.vector_databases import VectorDatabaseService
from services.models.callers import Caller, Purpose
from services.models.calls import ModelCalls


@dataclass(kw_only=True, slots=True)
class Retrieved:
    number: int  # the citation number when kept, else 0
    chunk_id: int
    document_id: int
    document_name: str
    kb_id: int
    index: int
    text: str
    score: float  # the score of the final order: similarity (dense), BM25 (keyword), fused (hybrid) or rerank
    kept: bool
    reason: str  # why it was kept or dropped (rank within top-k, below threshold, beyond top-k)
    metadata: dict[str, Any] = field(default_factory=dict)
    dense_rank: int | None = None
    dense_score: float | None = None
    keyword_rank: int | None = None
    keyword_score: float | None = None
    fused_score: float | None = None
    rerank_score: float | None = None

    @property
    def found_by(self) -> str:
        both = self.dense_rank is not None and self.keyword_rank is not None
        return 'both' if both else 'dense' if self.dense_rank is not None else 'keyword'


@dataclass(kw_only=True, slots=True)
class Retrieval:
    question: str
    query: str
    passages: list[Retrieved]
    top_k: int
    threshold: float
    latency_ms: float
    notes: list[str] = field(default_factory=list)
    mode: str = 'dense'  # the settings' label, e.g. "hybrid (rrf) + rerank"

    @property
    def kept(self) -> list[Retrieved]:
        return [p for p in self.passages if p.kept]


def _how(p: Retrieved) -> str:
    parts = []
    if p.dense_rank is not None:
        parts.append(f'dense #{p.dense_rank} ({p.dense_score:.3f})')
    if p.keyword_rank is not None:
        parts.append(f'keyword #{p.keyword_rank} (BM25 {p.keyword_score:.2f})')
    if p.fused_score is not None:
        parts.append(f'fused {p.fused_score:.4f}')
    if p.rerank_score is not None:
        parts.append(f'rerank {p.rerank_score:g}')
    return ' · '.join(parts)


async def run(
    *,
    knowledge: KnowledgeService,
    stores: VectorDatabaseService,
    calls: ModelCalls,
    caller: Caller,
    kbs: list[KnowledgeBase],
    rag: Any,  # the RagSystem row
    settings: RetrievalSettings,
    question: str,
    query: str,
    purpose: Purpose,
) -> Retrieval:
    started = time.perf_counter()
    notes: list[str] = []
    sources: list[Source] = []
    for kb in kbs:
        if kb.dimension is None:
            notes.append(N_('"{name}" has not been ingested yet.', name=kb.name))
            continue
        store, name = await stores.store_for(kb), kb.collection or collection_name(kb.id)
        sources.append(Source(kb_id=kb.id, store=store, metric=kb.metric, collection=name, keyword=kb.keyword_index))
        if settings.mode != 'dense' and not kb.keyword_index:
            notes.append(
                N_(
                    '"{name}" has no keyword index yet: re-index it on its knowledge base page (no re-embedding '
                    'needed). Only dense search covers it.',
                    name=kb.name,
                )
            )
    limit = max(settings.candidates, rag.top_k)
    doc_ids = list(rag.document_ids) or None
    dense = keyword = None
    if settings.mode != 'keyword':
        vector = await _embed(calls, caller, purpose, rag, kbs, query, notes)
        dense = DenseRetriever(sources, vector, limit, doc_ids)
    if settings.mode != 'dense':
        keyword = KeywordRetriever(sources, limit, doc_ids)
    retriever = HybridRetriever(dense, keyword, settings) if dense and keyword else dense or keyword
    bundle = QueryBundle(query_str=query)
    nodes: list[NodeWithScore] = await retriever.aretrieve(bundle) if sources else []
    chunks = await knowledge.chunks_by_id([int(n.node.node_id) for n in nodes])
    nodes = [n for n in nodes if int(n.node.node_id) in chunks]  # a chunk deleted since it was indexed: skipped
    for item in nodes:
        item.node.set_content(chunks[int(item.node.node_id)].text)
    reranked = 0
    if settings.rerank and nodes:
        reranked = min(settings.rerank_candidates, len(nodes))
        # a generation: counted against the person's quota like an answer (an evaluation's as the evaluation's)
        rerank_purpose = Purpose.RAG_ASK if purpose == Purpose.RAG_RETRIEVAL else purpose
        reranker = LLMReranker(calls=calls, caller=caller, purpose=rerank_purpose,
                               model=settings.rerank_model or rag.chat_model)  # fmt: skip
        nodes = await reranker.apostprocess_nodes(nodes[:reranked], bundle) + nodes[reranked:]
        if reranker.note:
            notes.append(reranker.note)
    passages: list[Retrieved] = []
    number = 0
    for rank, item in enumerate(nodes, 1):
        chunk, meta = chunks[int(item.node.node_id)], item.node.metadata
        p = Retrieved(
            number=0, chunk_id=chunk.id, document_id=chunk.document_id, document_name=chunk.document_name,
            kb_id=meta['kb_id'], index=chunk.index, text=chunk.text, score=round(item.score or 0.0, 4), kept=False,
            reason='', metadata=chunk.metadata, dense_rank=meta.get('dense_rank'), dense_score=meta.get('dense_score'),
            keyword_rank=meta.get('keyword_rank'), keyword_score=meta.get('keyword_score'),
            fused_score=meta.get('fused_score') if settings.mode == 'hybrid' else None,
            rerank_score=meta.get('rerank_score'),
        )  # fmt: skip
        how = _how(p)
        if reranked and rank > reranked:
            p.reason = N_('not reranked (only the first {reranked} candidates are) · {how}', reranked=reranked, how=how)
        elif rank > rag.top_k:
            p.reason = N_('rank {rank} is beyond top-k {top_k} · {how}', rank=rank, top_k=rag.top_k, how=how)
        elif settings.mode == 'dense' and (p.dense_score or 0.0) < rag.threshold:
            p.reason = N_(
                'score {dense_score:.3f} is below the threshold {threshold:.2f}',
                dense_score=p.dense_score,
                threshold=rag.threshold,
            )
        else:
            number += 1
            p.kept, p.number = True, number
            threshold = N_(' ≥ {threshold:.2f}', threshold=rag.threshold) if settings.mode == 'dense' else ''
            p.reason = N_(
                'rank {rank} of top-k {top_k}, score {score:.3f}{threshold} · {how}',
                rank=rank,
                top_k=rag.top_k,
                score=p.score,
                threshold=threshold,
                how=how,
            )
        passages.append(p)
    if not any(p.kept for p in passages):
        notes.append(N_('Nothing passed top-k and the threshold: lower the threshold or add documents.'))
    return Retrieval(
        question=question, query=query, passages=passages, top_k=rag.top_k, threshold=rag.threshold,
        latency_ms=(time.perf_counter() - started) * 1000, notes=notes, mode=settings.label,
    )  # fmt: skip


async def _embed(
    calls: ModelCalls, caller: Caller, purpose: Purpose, rag: Any, kbs: list[KnowledgeBase], query: str, notes: list
) -> list[float]:
    reply = await calls.embed(caller, purpose, model=rag.embedding_model, inputs=[query])
    vector = list(reply.embeddings[0])
    for kb in kbs:
        if kb.dimension is None:
            continue
        if kb.dimension != len(vector):
            raise InvalidInput(
                N_(
                    'The knowledge base "{name}" holds {dimension}-dimensional vectors from '
                    '{embedding_model}, but {embedding_model2} produces {count}-dimensional ones. Use '
                    '{embedding_model} as the embedding model of this RAG system (or re-embed the '
                    'knowledge base).',
                    name=kb.name,
                    dimension=kb.dimension,
                    embedding_model=kb.embedding_model,
                    embedding_model2=rag.embedding_model,
                    count=len(vector),
                )
            )
        if kb.embedding_model != rag.embedding_model:
            notes.append(
                N_(
                    '"{name}" was embedded with {embedding_model}; scores may be meaningless.',
                    name=kb.name,
                    embedding_model=kb.embedding_model,
                )
            )
    return vector
