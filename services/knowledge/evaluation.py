"""Evaluation of RAG systems: question sets with expected source documents and/or answer keywords.

Per question: hit@k (the expected document is among the kept passages), reciprocal rank (1 / rank of the first
passage from the expected document), nDCG@k (1 / log2(1 + that rank): one relevant document, so the ideal DCG is 1),
keyword match (share of expected keywords found in the answer).
Overall: hit rate@k, MRR, mean nDCG@k and mean keyword match over the questions that have that expectation.

`compare_modes` scores the same question set with dense, keyword, hybrid and hybrid + rerank retrieval side by side
(retrieval only: the lesson is which passages each mode finds).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from models import EvalRun, EvalSet
from services.core import actions
from services.core.activity import ActivityService
from services.core.auth import AuthService
from services.core.errors import InvalidInput, NotFound
from services.core.i18n import N_
from services.knowledge.rag import RagService, Retrieval
from services.knowledge.retrievers import RetrievalSettings
from services.models.callers import Purpose

MAX_QUESTIONS = 200


@dataclass(kw_only=True, slots=True)
class QuestionResult:
    question: str
    expected_document: str | None
    expected_keywords: list[str]
    retrieved: list[str]
    hit: bool | None
    reciprocal_rank: float | None
    keyword_match: float | None
    answer: str = ''
    ndcg: float | None = None


@dataclass(kw_only=True, slots=True)
class EvalReport:
    set_id: int
    rag_id: int
    rag_name: str
    k: int
    hit_rate: float | None
    mrr: float | None
    keyword_match: float | None
    results: list[QuestionResult] = field(default_factory=list)
    run_id: int | None = None
    ndcg: float | None = None
    mode: str = ''  # the retrieval settings' label when modes are compared
    latency_ms: float | None = None  # mean retrieval time per question (mode comparison)
    notes: list[str] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class EvalSetInfo:
    id: int
    rag_id: int
    name: str
    questions: list[dict[str, Any]]


def normalise_questions(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in questions:
        question = ' '.join(str(item.get('question', '')).split())
        if not question:
            continue
        keywords = item.get('expected_keywords') or []
        if isinstance(keywords, str):
            keywords = [k.strip() for k in keywords.split(',')]
        out.append(
            {
                'question': question[:2000],
                'expected_document': (str(item.get('expected_document') or '').strip() or None),
                'expected_keywords': [k for k in (str(k).strip() for k in keywords) if k][:20],
            }
        )
    if not out:
        raise InvalidInput(N_('Add at least one question.'))
    if len(out) > MAX_QUESTIONS:
        raise InvalidInput(N_('A question set holds at most {MAX_QUESTIONS} questions.', MAX_QUESTIONS=MAX_QUESTIONS))
    return out


def score_question(item: dict[str, Any], retrieval: Retrieval, answer: str) -> QuestionResult:
    names = [p.document_name for p in retrieval.kept]
    expected = item.get('expected_document')
    hit = rr = ndcg = None
    if expected:
        wanted = expected.lower()
        ranks = [i for i, name in enumerate(names, 1) if name.lower() == wanted]
        hit = bool(ranks)
        rr = 1 / ranks[0] if ranks else 0.0
        ndcg = 1 / math.log2(1 + ranks[0]) if ranks else 0.0
    keywords = item.get('expected_keywords') or []
    match = None
    if keywords:
        lowered = answer.lower()
        match = sum(1 for k in keywords if k.lower() in lowered) / len(keywords)
    return QuestionResult(
        question=item['question'],
        expected_document=expected,
        expected_keywords=keywords,
        retrieved=names,
        hit=hit,
        reciprocal_rank=rr,
        keyword_match=match,
        answer=answer,
        ndcg=ndcg,
    )


def _mean(values: list[float | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return round(sum(present) / len(present), 4) if present else None


def summarise(results: list[QuestionResult]) -> dict[str, float | None]:
    return {
        'hit_rate': _mean([None if r.hit is None else float(r.hit) for r in results]),
        'mrr': _mean([r.reciprocal_rank for r in results]),
        'ndcg': _mean([r.ndcg for r in results]),
        'keyword_match': _mean([r.keyword_match for r in results]),
    }


class EvalService:
    def __init__(self, auth: AuthService, rag: RagService, activity: ActivityService) -> None:
        self.auth = auth
        self.rag = rag
        self.activity = activity

    async def create_set(self, actor_id: int, rag_id: int, name: str, questions: list[dict[str, Any]]) -> EvalSetInfo:
        await self.rag.get(actor_id, rag_id)  # NotFound for someone else's private RAG system
        name = ' '.join((name or '').split()) or 'Question set'
        row = await EvalSet.create(
            owner_id=actor_id, rag_id=rag_id, name=name[:120], questions=normalise_questions(questions)
        )
        return EvalSetInfo(id=row.id, rag_id=rag_id, name=row.name, questions=row.questions)

    async def _set(self, actor_id: int, set_id: int) -> EvalSet:
        await self.auth.require(actor_id)
        row = await EvalSet.get_or_none(id=set_id, owner_id=actor_id)
        if row is None:
            raise NotFound(N_('Question set not found.'))
        return row

    async def list_sets(self, actor_id: int, rag_id: int) -> list[EvalSetInfo]:
        await self.rag.get(actor_id, rag_id)
        rows = await EvalSet.filter(rag_id=rag_id, owner_id=actor_id).order_by('id')
        return [EvalSetInfo(id=r.id, rag_id=rag_id, name=r.name, questions=r.questions) for r in rows]

    async def delete_set(self, actor_id: int, set_id: int) -> None:
        await (await self._set(actor_id, set_id)).delete()

    async def run(self, actor_id: int, set_id: int, rag_id: int | None = None, *, answers: bool = True) -> EvalReport:
        """Evaluate the set against its RAG system (or another one, to compare configurations on the same set)."""
        row = await self._set(actor_id, set_id)
        rag = await self.rag.get(actor_id, rag_id or row.rag_id)  # type: ignore[attr-defined]
        started = time.perf_counter()
        results = []
        for item in row.questions:
            if answers:
                retrieval, answer, _ = await self.rag.answer(
                    actor_id, rag.id, item['question'], purpose=Purpose.EVALUATION
                )
            else:
                retrieval = await self.rag.retrieve(actor_id, rag.id, item['question'], purpose=Purpose.EVALUATION)
                answer = ''
            results.append(score_question(item, retrieval, answer))
        summary = summarise(results)
        run = await EvalRun.create(
            eval_set_id=row.id,
            rag_id=rag.id,
            summary=summary,
            results=[{k: getattr(r, k) for k in QuestionResult.__slots__} for r in results],
        )
        await self.activity.record(
            actor_id,
            actions.RAG_EVAL,
            model=rag.chat_model,
            latency_ms=(time.perf_counter() - started) * 1000,
            rag_id=rag.id,
            set_id=row.id,
            k=rag.top_k,
            questions=len(results),
            **summary,
        )
        return EvalReport(
            set_id=row.id, rag_id=rag.id, rag_name=rag.name, k=rag.top_k, results=results, run_id=run.id, **summary
        )

    async def compare(self, actor_id: int, set_id: int, rag_a: int, rag_b: int, *, answers: bool = True):
        return await self.run(actor_id, set_id, rag_a, answers=answers), await self.run(
            actor_id, set_id, rag_b, answers=answers
        )

    async def compare_modes(self, actor_id: int, set_id: int, rag_id: int | None = None) -> list[EvalReport]:
        """The question set scored with each retrieval mode on the same RAG system (its knowledge bases, top-k,
        candidates and fusion settings): dense, keyword (BM25), hybrid, hybrid + rerank. Retrieval only."""
        row = await self._set(actor_id, set_id)
        rag = await self.rag.get(actor_id, rag_id or row.rag_id)  # type: ignore[attr-defined]
        base = rag.settings
        modes = [
            RetrievalSettings(**{**_fields(base), 'mode': 'dense', 'rerank': False}),
            RetrievalSettings(**{**_fields(base), 'mode': 'keyword', 'rerank': False}),
            RetrievalSettings(**{**_fields(base), 'mode': 'hybrid', 'rerank': False}),
            RetrievalSettings(**{**_fields(base), 'mode': 'hybrid', 'rerank': True}),
        ]
        started = time.perf_counter()
        reports = []
        for settings in modes:
            results, notes, seconds = [], [], 0.0
            for item in row.questions:
                retrieval = await self.rag.retrieve(
                    actor_id, rag.id, item['question'], purpose=Purpose.EVALUATION, settings=settings
                )
                seconds += retrieval.latency_ms
                notes += [n for n in retrieval.notes if n not in notes and not n.startswith('Nothing passed')]
                results.append(score_question(item, retrieval, ''))
            summary = summarise(results)
            reports.append(EvalReport(
                set_id=row.id, rag_id=rag.id, rag_name=rag.name, k=rag.top_k, results=results, mode=settings.label,
                latency_ms=round(seconds / max(1, len(results)), 1), notes=notes, **summary,
            ))  # fmt: skip
        await self.activity.record(
            actor_id, actions.RAG_EVAL, model=rag.chat_model, latency_ms=(time.perf_counter() - started) * 1000,
            rag_id=rag.id, set_id=row.id, k=rag.top_k, questions=len(row.questions),
            modes={r.mode: {'hit_rate': r.hit_rate, 'mrr': r.mrr, 'ndcg': r.ndcg} for r in reports},
        )  # fmt: skip
        return reports


def _fields(settings: RetrievalSettings) -> dict[str, Any]:
    return {key: getattr(settings, key) for key in RetrievalSettings.__slots__}
