"""Retrieval benchmark: embed the query + top-5 search at N chunks (default 100,000), ours vs raw.

    python -m benchmarks.bench_retrieval [--chunks 100000] [--queries 200]

Setup (not timed): N synthetic chunks in 1,000 documents, embedded by the fake Ollama server (768-d, instant but
CPU-bound in its own process), inserted into the knowledge base's Milvus Lite collection and flushed.
Timed, interleaved query by query: ours = `RagService.retrieve` (auth check, embed through the gateway, search
through VectorStore, chunk texts from SQLite, reasons); raw = the official ollama AsyncClient's embed + a direct
pymilvus `search(limit=5)` on the same collection.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import tempfile
import time
from pathlib import Path

from benchmarks.common import percentile, sentence, start_fake_ollama

EMBED = 'nomic-embed-text:latest'


async def build(services, admin: int, chunks: int, rng: random.Random) -> int:
    from models import Chunk, Document, KnowledgeBase
    from models.knowledge import DocState
    from services.models.callers import SYSTEM, Purpose

    kb = await services.knowledge.create_kb(admin, name='Bench', embedding_model=EMBED)
    await KnowledgeBase.filter(id=kb.id).update(dimension=768)
    await services.vectors.create_collection(kb.collection, dimension=768, metric='COSINE', model=EMBED)
    per_doc = max(1, chunks // 1000)
    docs = await Document.bulk_create(
        [Document(kb_id=kb.id, original_name=f'doc{i}.md', stored_name=f'bench{i}.bin', mime='text/markdown', size=1,
                  sha256=f'{i:064d}', state=DocState.EMBEDDED) for i in range(1000)]
    )  # fmt: skip
    ids = [d.id for d in await Document.filter(kb_id=kb.id).order_by('id')]
    host = await services.hosts.default()
    started = time.perf_counter()
    done = 0
    for doc_index, doc_id in enumerate(ids):
        if done >= chunks:
            break
        texts = [sentence(rng, 20) for _ in range(min(per_doc, chunks - done))]
        rows = [Chunk(id=doc_id * 1_000_000 + i, document_id=doc_id, kb_id=kb.id, index=i, text=t)
                for i, t in enumerate(texts)]  # fmt: skip
        await Chunk.bulk_create(rows)
        vectors = []
        for start in range(0, len(texts), 128):
            reply = await services.calls.embed(
                SYSTEM, Purpose.INGESTION, model=EMBED, inputs=texts[start : start + 128], host=host
            )
            vectors += reply.embeddings
        await services.vectors.insert(
            kb.collection,
            [{'id': r.id, 'doc_id': doc_id, 'vector': list(v)} for r, v in zip(rows, vectors, strict=True)],
        )
        done += len(texts)
        if doc_index % 100 == 99:
            print(f'  {done} chunks in {time.perf_counter() - started:.0f} s', flush=True)
    await services.vectors.flush(kb.collection)
    print(f'setup: {done} chunks embedded and inserted in {time.perf_counter() - started:.0f} s', flush=True)
    del docs
    return kb.id


async def main(chunks: int, queries: int) -> None:
    ollama_process, ollama_url = start_fake_ollama()
    data = Path(tempfile.mkdtemp()) / 'data'
    os.environ.update(DATA_DIR=str(data), OLLAMA_HOST=ollama_url, STORAGE_SECRET='bench')
    import ollama

    from config import Settings
    from services.core import db
    from services.wiring import build_services

    try:
        settings = Settings()
        settings.ensure_dirs()
        await db.open_database(settings.db_url)
        services = build_services(settings)
        admin = (await services.auth.signup('bench@example.org', 'Bench', 'benchmark-password-1')).id
        rng = random.Random(11)
        kb = await build(services, admin, chunks, rng)
        rag = await services.rag.create(
            admin, name='Bench', kb_ids=[kb], chat_model='llama3.2:latest', top_k=5, threshold=-1.0
        )
        raw_ollama = ollama.AsyncClient(host=ollama_url)
        milvus = await services.vectors.client()
        name = f'kb_{kb}'
        questions = [sentence(rng, 10) for _ in range(queries + 20)]
        ours, raw = [], []
        for index, question in enumerate(questions):
            started = time.perf_counter()
            retrieval = await services.rag.retrieve(admin, rag.id, question)
            ours_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            vector = (await raw_ollama.embed(model=EMBED, input=[question])).embeddings[0]
            milvus.search(name, data=[list(vector)], limit=5, search_params={'metric_type': 'COSINE'})
            raw_ms = (time.perf_counter() - started) * 1000
            if index >= 20:  # warm-up excluded
                ours.append(ours_ms)
                raw.append(raw_ms)
            assert len(retrieval.kept) == 5
        stats = await services.vectors.stats(name)
        print(f'collection: {stats.entities} entities, {stats.dimension}-d, {stats.index} {stats.metric}')
        print(f'ours (RagService.retrieve): p50 {percentile(ours, 0.5):.1f} ms, p95 {percentile(ours, 0.95):.1f} ms')
        print(f'raw (ollama embed + pymilvus search): p50 {percentile(raw, 0.5):.1f} ms, '
              f'p95 {percentile(raw, 0.95):.1f} ms')  # fmt: skip
        print(f'p50 ratio ours / raw: {percentile(ours, 0.5) / percentile(raw, 0.5):.2f}  (target <= 1.5)')
        print(f'peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB')
        await services.vectors.close()
        await db.close_database()
    finally:
        ollama_process.terminate()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--chunks', type=int, default=100_000)
    parser.add_argument('--queries', type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.chunks, args.queries))
