"""Retrieval as LlamaIndex sees it: retrievers that return `NodeWithScore`s, fusion, and a node postprocessor.

What attendees see on the RAG page maps onto LlamaIndex's concepts:
- `DenseRetriever` (vector search: the question's embedding against the chunk vectors in Milvus),
- `KeywordRetriever` (BM25 full-text search: Milvus' own BM25 function over the chunk texts),
- `HybridRetriever` (both, fused by reciprocal rank fusion or a weighted sum of normalised scores: what LlamaIndex's
  `QueryFusionRetriever` calls `reciprocal_rerank` and `relative_score`),
- `LLMReranker` (a `BaseNodePostprocessor`: a chat model scores each candidate for the question; the call goes
  through the platform's one model-call path on behalf of the person asking, so their limits apply).
Each node is a `TextNode` whose id is the chunk id and whose metadata records how it was found (dense and keyword
rank and score, fused score, rerank score): the RAG page shows them.

Why not LlamaIndex's own `MilvusVectorStore` and `QueryFusionRetriever` (see docs/knowledge.md): the vector store
integration opens a client of its own per store and calls it synchronously, while the platform shares one connection
per vector database (and Milvus Lite runs in a process of its own); `QueryFusionRetriever` resolves an LLM from the
global `Settings` (OpenAI by default) and fixes RRF's k at 60, and both would lose the per-retriever ranks shown.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.knowledge.vectors import VectorStore

MODES = ('dense', 'keyword', 'hybrid')
FUSIONS = ('rrf', 'weighted')
MAX_CANDIDATES = 100
RERANK_TEXT_CHARS = 1200  # of each passage, in the reranking prompt
RERANK_PROMPT = """Rate how well each numbered passage helps to answer the question, from 0 (not at all) to 10
(answers it). Reply with JSON only: the passage numbers as keys and the ratings as values, like {{"1": 7, "2": 0}}.

Question: {question}

Passages:
{passages}"""


@dataclass(kw_only=True, slots=True)
class RetrievalSettings:
    """How a RAG system retrieves (stored on `RagSystem`; the evaluation compares several on one question set)."""

    mode: str = 'dense'
    fusion: str = 'rrf'
    rrf_k: int = 60
    dense_weight: float = 0.5
    candidates: int = 10  # per retriever, before fusion
    rerank: bool = False
    rerank_model: str = ''  # empty: the chat model
    rerank_candidates: int = 10  # the fused candidates the reranker scores; top-k of them are kept

    @property
    def label(self) -> str:
        name = self.mode if self.mode != 'hybrid' else f'hybrid ({self.fusion})'
        return f'{name} + rerank' if self.rerank else name


# every `RetrievalSettings.label` as pages show it (translated there with _())
LABELS = (
    N_('dense'), N_('keyword'), N_('hybrid (rrf)'), N_('hybrid (weighted)'),
    N_('dense + rerank'), N_('keyword + rerank'), N_('hybrid (rrf) + rerank'), N_('hybrid (weighted) + rerank'),
)  # fmt: skip

SETTING_FIELDS = ('retrieval_mode', 'fusion', 'rrf_k', 'dense_weight', 'candidates', 'rerank', 'rerank_model',
                  'rerank_candidates')  # fmt: skip


def settings_of(row: Any) -> RetrievalSettings:
    """The retrieval settings of a RagSystem row (or a RagInfo)."""
    return RetrievalSettings(
        mode=row.retrieval_mode, fusion=row.fusion, rrf_k=row.rrf_k, dense_weight=row.dense_weight,
        candidates=row.candidates, rerank=row.rerank, rerank_model=row.rerank_model,
        rerank_candidates=row.rerank_candidates,
    )  # fmt: skip


def validate(values: dict[str, Any]) -> dict[str, Any]:
    """Check the retrieval fields among `values` (RagSystem field names); clear messages for each."""
    out = dict(values)
    if 'retrieval_mode' in out and out['retrieval_mode'] not in MODES:
        raise InvalidInput(N_('Retrieval mode must be dense, keyword or hybrid.'))
    if 'fusion' in out and out['fusion'] not in FUSIONS:
        raise InvalidInput(N_('Fusion must be rrf (reciprocal rank fusion) or weighted.'))
    if 'rrf_k' in out:
        out['rrf_k'] = int(out['rrf_k'])
        if not 1 <= out['rrf_k'] <= 1000:
            raise InvalidInput(N_("RRF's k must be between 1 and 1,000 (60 is the usual choice)."))
    if 'dense_weight' in out:
        out['dense_weight'] = float(out['dense_weight'])
        if not 0.0 <= out['dense_weight'] <= 1.0:
            raise InvalidInput(N_('The dense weight must be between 0 and 1 (the keyword weight is 1 minus it).'))
    for key, what in (('candidates', 'Candidates per retriever'), ('rerank_candidates', 'Candidates to rerank')):
        if key in out:
            out[key] = int(out[key])
            if not 1 <= out[key] <= MAX_CANDIDATES:
                raise InvalidInput(
                    N_('{what} must be between 1 and {MAX_CANDIDATES}.', what=what, MAX_CANDIDATES=MAX_CANDIDATES)
                )
    if 'rerank' in out:
        out['rerank'] = bool(out['rerank'])
    if 'rerank_model' in out:
        out['rerank_model'] = (out['rerank_model'] or '').strip()[:200]
    return out


# ----- the retrievers ------------------------------------------------------------------------------------------------
@dataclass(kw_only=True, slots=True)
class Source:
    """One knowledge base's collection to search."""

    kb_id: int
    store: VectorStore
    collection: str
    metric: str
    keyword: bool  # the collection has keyword search


def _node(kb_id: int, hit: Any, kind: str, rank: int) -> NodeWithScore:
    node = TextNode(id_=str(hit.chunk_id), text='', metadata={'kb_id': kb_id, 'doc_id': hit.doc_id})
    node.metadata[f'{kind}_rank'], node.metadata[f'{kind}_score'] = rank, round(hit.score, 4)
    return NodeWithScore(node=node, score=hit.score)


def _ranked(found: list[tuple[int, Any]], kind: str, limit: int) -> list[NodeWithScore]:
    """Hits of several collections as one ranking by score (best first), each node recording its rank."""
    found.sort(key=lambda kh: kh[1].score, reverse=True)
    return [_node(kb_id, hit, kind, rank) for rank, (kb_id, hit) in enumerate(found[:limit], 1)]


class DenseRetriever(BaseRetriever):
    """Vector search: the query's embedding (computed by the caller, through the model-call path)."""

    def __init__(self, sources: list[Source], vector: list[float], limit: int, doc_ids: list[int] | None) -> None:
        super().__init__()
        self.sources, self.vector, self.limit, self.doc_ids = sources, vector, limit, doc_ids

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        raise NotImplementedError('use aretrieve')

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        found = await asyncio.gather(*[
            s.store.search(s.collection, self.vector, limit=self.limit, metric=s.metric, doc_ids=self.doc_ids)
            for s in self.sources
        ])  # fmt: skip
        return _ranked([(s.kb_id, h) for s, hits in zip(self.sources, found, strict=True) for h in hits], 'dense',
                       self.limit)  # fmt: skip


class KeywordRetriever(BaseRetriever):
    """BM25 full-text search over the chunk texts (Milvus' BM25 function); collections without it are skipped."""

    def __init__(self, sources: list[Source], limit: int, doc_ids: list[int] | None) -> None:
        super().__init__()
        self.sources, self.limit, self.doc_ids = [s for s in sources if s.keyword], limit, doc_ids

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        raise NotImplementedError('use aretrieve')

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        text = query_bundle.query_str
        found = await asyncio.gather(*[
            s.store.keyword_search(s.collection, text, limit=self.limit, doc_ids=self.doc_ids) for s in self.sources
        ])  # fmt: skip
        return _ranked([(s.kb_id, h) for s, hits in zip(self.sources, found, strict=True) for h in hits], 'keyword',
                       self.limit)  # fmt: skip


class HybridRetriever(BaseRetriever):
    """Dense and keyword retrieval at once, fused into one ranking."""

    def __init__(self, dense: BaseRetriever, keyword: BaseRetriever, settings: RetrievalSettings) -> None:
        super().__init__()
        self.dense, self.keyword, self.settings = dense, keyword, settings

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        raise NotImplementedError('use aretrieve')

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        dense, keyword = await asyncio.gather(self.dense.aretrieve(query_bundle), self.keyword.aretrieve(query_bundle))
        s = self.settings
        return fuse(dense, keyword, method=s.fusion, k=s.rrf_k, dense_weight=s.dense_weight)


def _normalised(nodes: list[NodeWithScore]) -> dict[str, float]:
    """Min-max normalised scores (1.0 for all when they are equal): dense and BM25 scores on one scale."""
    if not nodes:
        return {}
    scores = [n.score or 0.0 for n in nodes]
    low, high = min(scores), max(scores)
    return {n.node.node_id: 1.0 if high == low else ((n.score or 0.0) - low) / (high - low) for n in nodes}


def fuse(
    dense: list[NodeWithScore], keyword: list[NodeWithScore], *, method: str = 'rrf', k: int = 60,
    dense_weight: float = 0.5,
) -> list[NodeWithScore]:  # fmt: skip
    """One ranking from two (each best first). `rrf`: score = Σ 1 / (k + rank) over the rankings a node is in;
    `weighted`: score = w x normalised dense score + (1 - w) x normalised keyword score (0 where it is missing).
    Each node's metadata keeps its ranks and scores from both and gets `fused_score`."""
    nodes: dict[str, NodeWithScore] = {}
    fused: dict[str, float] = {}
    if method == 'rrf':
        for ranking in (dense, keyword):
            for rank, item in enumerate(ranking, 1):
                fused[item.node.node_id] = fused.get(item.node.node_id, 0.0) + 1.0 / (k + rank)
    else:
        for ranking, weight in ((dense, dense_weight), (keyword, 1.0 - dense_weight)):
            for node_id, value in _normalised(ranking).items():
                fused[node_id] = fused.get(node_id, 0.0) + weight * value
    for item in [*dense, *keyword]:
        node_id = item.node.node_id
        if node_id in nodes:
            nodes[node_id].node.metadata.update(item.node.metadata)
        else:
            nodes[node_id] = NodeWithScore(node=item.node, score=0.0)
    out = []
    order = sorted(nodes, key=lambda n: (-fused[n], nodes[n].node.metadata.get('dense_rank') or math.inf))
    for node_id in order:
        item = nodes[node_id]
        item.score = fused[node_id]
        item.node.metadata['fused_score'] = round(fused[node_id], 5)
        out.append(item)
    return out


# ----- the reranker --------------------------------------------------------------------------------------------------
def rerank_schema(count: int) -> dict[str, Any]:
    """Structured output: one rating per passage number, each required (Ollama's `format`)."""
    numbers = [str(i) for i in range(1, count + 1)]
    rating = {'type': 'number', 'minimum': 0, 'maximum': 10}
    return {'type': 'object', 'properties': dict.fromkeys(numbers, rating), 'required': numbers}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_scores(reply: str, count: int) -> list[float] | None:
    """The reranker's scores, one per passage, from its reply: JSON {"1": 7, "2": 3}, {"scores": [...]} or a bare
    list, else lines like "[2] 7" / "Passage 2: 7". None when the reply holds no usable score; missing ones count
    as 0."""
    text = (reply or '').strip()
    match = re.search(r'\{.*\}|\[.*\]', text, re.DOTALL)
    values: list[float] | None = None
    if match:
        try:
            data = json.loads(match.group(0))
        except ValueError:
            data = None
        if isinstance(data, dict) and 'scores' not in data:
            numbered = {int(k): v for k, v in data.items() if str(k).strip().isdigit() and _number(v)}
            data = [numbered.get(i, 0.0) for i in range(1, count + 1)] if numbered else None
        elif isinstance(data, dict):
            data = data.get('scores')
        if isinstance(data, list) and data and all(_number(v) for v in data):
            values = [float(v) for v in data[:count]]
    if values is None:
        pairs = re.findall(r'(?:\[|passage\s*)(\d{1,3})\]?\s*[:=\-]?\s*(\d+(?:\.\d+)?)', text, re.IGNORECASE)
        by_number = {int(n): float(v) for n, v in pairs if 1 <= int(n) <= count}
        if by_number:
            values = [by_number.get(i, 0.0) for i in range(1, count + 1)]
    if not values:
        return None
    return values + [0.0] * (count - len(values))


class LLMReranker(BaseNodePostprocessor):
    """Scores each candidate for the question with a chat model (one call for all of them) and orders them by that
    score (ties keep their order); the caller keeps the top-k. A reply without usable scores keeps the incoming order
    (and says so in `note`)."""

    model: str = ''
    note: str = ''
    _calls: Any = PrivateAttr()
    _caller: Any = PrivateAttr()
    _purpose: Any = PrivateAttr()

    def __init__(self, *, calls: Any, caller: Any, purpose: Any, model: str) -> None:
        super().__init__(model=model)
        self._calls, self._caller, self._purpose = calls, caller, purpose

    @classmethod
    def class_name(cls) -> str:
        return 'LLMReranker'

    def _postprocess_nodes(self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None):
        raise NotImplementedError('use apostprocess_nodes')

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        if not nodes or query_bundle is None:
            return nodes
        passages = '\n\n'.join(f'[{i}] {n.node.get_content()[:RERANK_TEXT_CHARS]}' for i, n in enumerate(nodes, 1))
        prompt = RERANK_PROMPT.format(question=query_bundle.query_str, passages=passages)
        reply = await self._calls.chat(
            self._caller, self._purpose, model=self.model, messages=[{'role': 'user', 'content': prompt}],
            format=rerank_schema(len(nodes)), options={'temperature': 0},
        )  # fmt: skip
        scores = parse_scores(reply.message.content or '', len(nodes))
        if scores is None:
            self.note = N_(
                'The reranker ({model}) gave no usable scores; the order before reranking was kept.', model=self.model
            )
            return nodes
        for item, score in zip(nodes, scores, strict=True):
            item.node.metadata['rerank_score'] = score
        ranked = sorted(enumerate(nodes), key=lambda pair: (-scores[pair[0]], pair[0]))
        for _, item in ranked:
            item.score = item.node.metadata['rerank_score']
        return [item for _, item in ranked]
