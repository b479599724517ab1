"""Retrieval benchmark: embed the query + top-5 search at N chunks (default 100,000), ours vs raw.

    python -m benchmarks.bench_retrieval [--chunks 100000] [--queries 200] [--in-process] [--mode dense]

`--mode keyword` or `--mode hybrid` (issue 19) measures BM25 or hybrid (RRF) retrieval; "raw" is then the pymilvus
BM25 search (keyword), or the embed + both searches (hybrid), on the same collection.

Over real HTTP (the default): after the setup the app is started as a server subprocess (`python app.py`) on the
same data directory, and "ours" is `POST /api/v1/rag/{id}/retrieve` with an API token, as an SDK would call it; "raw"
is the official ollama client's embed + pymilvus `search(limit=5)` against the same Milvus Lite server the app
started (its port is read from the app's log). `--in-process` measures `RagService.retrieve` in the benchmark
process instead, as the first version of this benchmark did.

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
    await KnowledgeBase.filter(id=kb.id).update(dimension=768, keyword_index=True)
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
            [
                {'id': r.id, 'doc_id': doc_id, 'vector': list(v), 'text': r.text}
                for r, v in zip(rows, vectors, strict=True)
            ],
        )
        done += len(texts)
        if doc_index % 100 == 99:
            print(f'  {done} chunks in {time.perf_counter() - started:.0f} s', flush=True)
    await services.vectors.flush(kb.collection)
    print(f'setup: {done} chunks embedded and inserted in {time.perf_counter() - started:.0f} s', flush=True)
    del docs
    return kb.id


def milvus_port(log: Path) -> int:
    for line in reversed(log.read_text(errors='replace').splitlines()):
        if 'Milvus Lite (' in line and ' listens on 127.0.0.1:' in line:
            return int(line.split(' listens on 127.0.0.1:')[1].split(',')[0])
    raise RuntimeError('the app did not say where Milvus Lite listens')


async def raw_embed(client, question: str):
    return (await client.embed(model=EMBED, input=[question])).embeddings[0]


def raw_search(milvus, name: str, vector, question: str, mode: str) -> None:
    """The raw baseline's search: pymilvus directly (dense: the vector; keyword: BM25 on the text; hybrid: both)."""
    if mode != 'keyword':
        milvus.search(name, data=[list(vector)], limit=5, search_params={'metric_type': 'COSINE'})
    if mode != 'dense':
        milvus.search(name, data=[question], anns_field='sparse', limit=5, search_params={'metric_type': 'BM25'})


async def over_http(
    data: Path, ollama_url: str, token: str, rag: int, kb: int, questions: list[str], mode: str = 'dense'
) -> None:
    """Ours over real HTTP against the app as a subprocess; raw against the same Milvus Lite server."""
    import httpx
    import ollama
    from pymilvus import MilvusClient

    from benchmarks.bench_room import start_app, stop

    app, app_url = start_app(data, [ollama_url], OLLAMA_HEALTH_INTERVAL='30')
    try:
        headers = {'Authorization': f'Bearer {token}'}
        raw_ollama = ollama.AsyncClient(host=ollama_url)
        async with httpx.AsyncClient(base_url=app_url, timeout=60) as http:
            started = time.perf_counter()  # the first query after start waits for Milvus Lite to load the collection
            first = await http.post(
                f'/api/v1/rag/{rag}/retrieve', json={'question': questions[0]}, headers=headers, timeout=900
            )
            first.raise_for_status()
            print(f'first query after the app started (collection loaded): {time.perf_counter() - started:.1f} s')
            milvus = MilvusClient(uri=f'http://127.0.0.1:{milvus_port(data / "app.log")}')
            ours, raw = [], []
            for index, question in enumerate(questions):
                started = time.perf_counter()
                response = await http.post(f'/api/v1/rag/{rag}/retrieve', json={'question': question}, headers=headers)
                ours_ms = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, response.text
                started = time.perf_counter()
                vector = None if mode == 'keyword' else await raw_embed(raw_ollama, question)
                raw_search(milvus, f'kb_{kb}', vector, question, mode)
                raw_ms = (time.perf_counter() - started) * 1000
                if index >= 20:  # warm-up excluded
                    ours.append(ours_ms)
                    raw.append(raw_ms)
        print(f'ours (POST /api/v1/rag/{{id}}/retrieve over HTTP): p50 {percentile(ours, 0.5):.1f} ms, '
              f'p95 {percentile(ours, 0.95):.1f} ms')  # fmt: skip
        print(f'raw (ollama embed + pymilvus search, same Milvus Lite server): p50 {percentile(raw, 0.5):.1f} ms, '
              f'p95 {percentile(raw, 0.95):.1f} ms')  # fmt: skip
        print(f'p50 ratio ours / raw: {percentile(ours, 0.5) / percentile(raw, 0.5):.2f}')
        milvus.close()
    finally:
        stop(app)


async def main(chunks: int, queries: int, in_process: bool = False, mode: str = 'dense') -> None:
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
            admin,
            name='Bench',
            kb_ids=[kb],
            chat_model='llama3.2:latest',
            top_k=5,
            threshold=-1.0,
            retrieval_mode=mode,
        )
        print(f'retrieval mode: {mode}')
        questions = [sentence(rng, 10) for _ in range(queries + 20)]
        if not in_process:
            from services.core.audit import AuditService
            from services.core.tokens import TokenService

            token = (await TokenService(services.auth, AuditService(services.auth)).create(admin, 'bench')).secret
            await services.vectors.close()
            await db.close_database()
            await over_http(data, ollama_url, token, rag.id, kb, questions, mode)
            return
        raw_ollama = ollama.AsyncClient(host=ollama_url)
        milvus = await services.vectors.client()
        name = f'kb_{kb}'
        ours, raw = [], []
        for index, question in enumerate(questions):
            started = time.perf_counter()
            retrieval = await services.rag.retrieve(admin, rag.id, question)
            ours_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            vector = None if mode == 'keyword' else await raw_embed(raw_ollama, question)
            raw_search(milvus, name, vector, question, mode)
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
    parser.add_argument('--in-process', action='store_true', help='RagService.retrieve in this process, no HTTP')
    parser.add_argument('--mode', choices=('dense', 'keyword', 'hybrid'), default='dense', help='retrieval mode')
    args = parser.parse_args()
    asyncio.run(main(args.chunks, args.queries, args.in_process, args.mode))
