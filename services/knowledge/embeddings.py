"""The embeddings playground: embed sentences, cosine similarity matrices, nearest neighbours in a knowledge base."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from services.core import actions
from services.core.activity import ActivityService
from services.core.auth import AuthService
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.knowledge.bases import KnowledgeService, collection_name
from services.knowledge.vector_databases import VectorDatabaseService
from services.models.callers import Purpose
from services.models.calls import ModelCalls

MAX_SENTENCES = 20


@dataclass(kw_only=True, slots=True)
class SimilarityMatrix:
    model: str
    dimension: int
    sentences: list[str]
    matrix: list[list[float]]
    latency_ms: float


@dataclass(kw_only=True, slots=True)
class Neighbour:
    score: float
    document_name: str
    index: int
    text: str


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class EmbeddingsService:
    def __init__(
        self,
        auth: AuthService,
        knowledge: KnowledgeService,
        stores: VectorDatabaseService,
        calls: ModelCalls,
        activity: ActivityService,
    ) -> None:
        self.auth = auth
        self.knowledge = knowledge
        self.stores = stores  # the vector store of each knowledge base
        self.calls = calls
        self.activity = activity

    async def similarity(self, actor_id: int, model: str, sentences: list[str]) -> SimilarityMatrix:
        user = await self.auth.require(actor_id)
        sentences = [s.strip() for s in sentences if s and s.strip()]
        if not 2 <= len(sentences) <= MAX_SENTENCES:
            raise InvalidInput(
                N_('Enter between 2 and {MAX_SENTENCES} sentences, one per line.', MAX_SENTENCES=MAX_SENTENCES)
            )
        if not model:
            raise InvalidInput(N_('Choose an embedding model.'))
        started = time.perf_counter()
        reply = await self.calls.embed(
            await self.calls.caller(user.id), Purpose.EMBEDDINGS, model=model, inputs=sentences
        )
        vectors, host = reply.embeddings, reply.host
        matrix = [[round(cosine(a, b), 4) for b in vectors] for a in vectors]
        latency = (time.perf_counter() - started) * 1000
        await self.activity.record(
            user.id, actions.EMBED, model=model, host=host, latency_ms=latency, inputs=len(sentences)
        )
        return SimilarityMatrix(
            model=model, dimension=len(vectors[0]), sentences=sentences, matrix=matrix, latency_ms=latency
        )

    async def compare(self, actor_id: int, model_a: str, model_b: str, sentences: list[str]):
        return await self.similarity(actor_id, model_a, sentences), await self.similarity(actor_id, model_b, sentences)

    async def neighbours(self, actor_id: int, kb_id: int, sentence: str, k: int = 5) -> list[Neighbour]:
        kb = await self.knowledge.readable_kb(actor_id, kb_id)
        if not sentence.strip():
            raise InvalidInput(N_('Type a sentence to search for.'))
        if kb.dimension is None:
            raise InvalidInput(N_('"{name}" has not been ingested yet. Start its ingestion first.', name=kb.name))
        reply = await self.calls.embed(
            await self.calls.caller(actor_id), Purpose.EMBEDDINGS, model=kb.embedding_model, inputs=[sentence]
        )
        vector = reply.embeddings[0]
        store = await self.stores.store_for(kb)
        hits = await store.search(
            kb.collection or collection_name(kb.id), list(vector), limit=max(1, min(k, 50)), metric=kb.metric
        )
        chunks = await self.knowledge.chunks_by_id([h.chunk_id for h in hits])
        return [
            Neighbour(score=round(h.score, 4), document_name=c.document_name, index=c.index, text=c.text)
            for h in hits
            if (c := chunks.get(h.chunk_id))
        ]
