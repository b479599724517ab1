"""The retrieval modes compared on the shipped evaluation sample (services/knowledge/samples/retrieval_modes.json).

    python -m benchmarks.retrieval_modes [--top-k 3] [--ollama http://localhost:11434] [--embed nomic-embed-text]
                                         [--chat llama3.2]

Creates a knowledge base from the sample's documents, a RAG system and the sample's question set in a fresh data
directory, ingests, and runs `EvalService.compare_modes` (dense, keyword, hybrid, hybrid + rerank): a markdown table
of hit@k, MRR and nDCG@k per mode. Without --ollama it runs against the Ollama test server (tests/ollama_server.py),
whose embeddings are feature-hashing bags of words and whose reranker answer rates every passage alike: the figures
then show the mechanics, not what a real embedding model and reranker achieve.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from pathlib import Path

from benchmarks.common import start_fake_ollama

SAMPLE = Path(__file__).resolve().parents[1] / 'services/knowledge/samples/retrieval_modes.json'


async def main(top_k: int, ollama_url: str | None, embed: str, chat: str) -> None:
    process = None
    if ollama_url is None:
        process, ollama_url = start_fake_ollama()
    data = Path(tempfile.mkdtemp()) / 'data'
    os.environ.update(DATA_DIR=str(data), OLLAMA_HOST=ollama_url, STORAGE_SECRET='bench')
    from config import Settings
    from services.core import db
    from services.wiring import build_services

    sample = json.loads(SAMPLE.read_text())
    try:
        settings = Settings()
        settings.ensure_dirs()
        await db.open_database(settings.db_url)
        services = build_services(settings)
        admin = (await services.auth.signup('bench@example.org', 'Bench', 'benchmark-password-1')).id
        kb = (await services.knowledge.create_kb(admin, name='Sample', embedding_model=embed)).id
        await services.knowledge.upload(admin, kb, [(d['name'], d['text'].encode()) for d in sample['documents']])
        job = await services.ingest.wait((await services.ingest.start(admin, kb)).job_id, 600)
        assert job.state == 'done', job
        rag = await services.rag.create(admin, name='Sample', kb_ids=[kb], chat_model=chat, top_k=top_k)
        saved = await services.evals.create_set(admin, rag.id, 'Retrieval modes sample', sample['questions'])
        reports = await services.evals.compare_modes(admin, saved.id)
        print(f'{len(sample["questions"])} questions, top-{top_k}, {embed} embeddings, {chat} reranking, '
              f'Ollama at {"the test server" if process else ollama_url}')  # fmt: skip
        print('\n| mode | hit@k | MRR | nDCG@k | ms per question |\n|---|---|---|---|---|')
        for r in reports:
            print(f'| {r.mode} | {r.hit_rate:.2f} | {r.mrr:.2f} | {r.ndcg:.2f} | {r.latency_ms:.0f} |')
        for r in reports:
            missed = [q.question for q in r.results if not q.hit]
            print(f'\n{r.mode}: missed {len(missed)}: {"; ".join(missed)}')
        await services.ingest.stop()
        await services.vectors.close()
        await db.close_database()
    finally:
        if process is not None:
            process.terminate()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--top-k', type=int, default=3)
    parser.add_argument('--ollama', default=None, help='a real Ollama server (default: the test server)')
    parser.add_argument('--embed', default='nomic-embed-text:latest')
    parser.add_argument('--chat', default='llama3.2:latest')
    args = parser.parse_args()
    asyncio.run(main(args.top_k, args.ollama, args.embed, args.chat))
