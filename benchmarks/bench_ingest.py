"""Ingestion benchmark: 1,000 markdown files (~5 KB each) through the API over HTTP, against the raw floor.

    python -m benchmarks.bench_ingest [--docs 1000] [--settle 10] [--cold] [--no-keyword]

Since issue 19 a knowledge base keeps its chunk texts with Milvus' BM25 function (keyword search) unless created with
`keyword_search: false`; the floor then inserts the texts into the same schema. `--no-keyword` measures without.

1. A fresh data directory with an account and a personal API token (written before the app starts, as
   tests/security/live.py does); then the app (`python app.py`) as a server subprocess against the Ollama test server
   (a subprocess too).
2. Over HTTP with the token: create a knowledge base, upload the files (20 a request, the default upload limit), start
   the job (`POST …/ingest`) and poll `GET …/ingest` every 50 ms until it has finished, keeping every distinct
   progress value seen. Job time = from the POST to the first answer saying it finished.
3. RSS (resident, not peak) of the app's whole process tree (app, split worker, Milvus Lite) right after the job and
   `--settle` seconds later.
4. The raw floor, in the same run, twice (before and after the job; the faster counts): the official `ollama` client
   (`Client(host).embed(model, input=batch)`) embedding the same chunks at the same batch size against the same test
   server, then raw pymilvus `MilvusClient` inserts (1,000 rows a call) into a fresh Milvus Lite file and one flush.
   Ratio = floor / job (target >= 0.8).

"Instant embeddings": the test server computes its feature-hashing vectors in Python (~0.8 ms a chunk) and caches the
last 8,192. Every chunk is embedded once before anything is timed, so the job and the floor are both answered from
the cache: what is timed is the pipeline, not the stand-in model. `--cold` skips that warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import (
    ROOT,
    clean_env,
    descendants,
    free_port,
    markdown_doc,
    peak_rss_tree_mb,
    percentile,
    start_fake_ollama,
    wait_http,
)

EMBED = 'nomic-embed-text:latest'
BATCH = 64  # EMBED_BATCH_SIZE for the app and the floor's batch size
UPLOAD_FILES = 20  # files per upload request (MAX_UPLOAD_FILES default)
PASSWORD = 'benchmark-password-1'


async def make_account(data: Path) -> str:
    """An admin account with a personal API token in a fresh data directory (before the app starts)."""
    from config import Settings
    from services.core import db
    from services.core.audit import AuditService
    from services.core.auth import AuthService
    from services.core.tokens import TokenService

    settings = Settings(data_dir=data)
    settings.ensure_dirs()
    await db.open_database(settings.db_url)
    try:
        auth = AuthService(min_password_length=10, max_failures=5, window_seconds=60, signup_open_default=True)
        user = await auth.signup('bench@example.org', 'Bench', PASSWORD)
        return (await TokenService(auth, AuditService(auth)).create(user.id, 'bench')).secret
    finally:
        await db.close_database()


def rss_tree_mb(pid: int) -> tuple[float, dict[str, float]]:
    """Resident memory now (VmRSS) of a process and all its descendants: the total, and each process's by name."""
    each: dict[str, float] = {}
    for p in [pid, *descendants(pid)]:
        try:
            status = Path(f'/proc/{p}/status').read_text().splitlines()
            command = Path(f'/proc/{p}/cmdline').read_bytes().split(b'\0')
        except OSError:
            continue
        mb = next((int(line.split()[1]) / 1024 for line in status if line.startswith('VmRSS:')), 0.0)
        name = _short(p, pid, [c.decode(errors='replace') for c in command if c])
        each[name] = each.get(name, 0.0) + mb
    return sum(each.values()), each


def _short(p: int, app: int, command: list[str]) -> str:
    text = ' '.join(command)
    if p == app:
        return 'app'
    if 'milvus_lite_process' in text:
        return 'Milvus Lite'
    if 'resource_tracker' in text:
        return 'resource tracker'
    if 'multiprocessing' in text:
        return 'workers'
    return command[0].rsplit('/', 1)[-1] if command else str(p)


def _show(each: dict[str, float]) -> str:
    return ', '.join(f'{name} {mb:.0f}' for name, mb in sorted(each.items(), key=lambda kv: -kv[1]))


def local_chunks(files: list[tuple[str, bytes]]) -> list[str]:
    """The chunks the job will make (default splitter settings), to warm the test server's cache and for the floor."""
    from services.knowledge import chunking

    texts = []
    for _, data in files:
        texts += [c.text for c in chunking.split(data.decode(), 'sentence', 512, 64)]
    return texts


def floor(ollama_url: str, texts: list[str], work: Path, keyword: bool = True) -> dict:
    """Raw client embeddings at the app's batch size, raw pymilvus inserts into a fresh Milvus Lite file, one flush."""
    import ollama
    from pymilvus import MilvusClient

    from services.knowledge.vectors import VectorStore

    client = ollama.Client(host=ollama_url)
    milvus = MilvusClient(str(work / f'raw-{time.monotonic_ns()}.db'))
    # the app's schema and indexes, untimed: since issue 19 with the chunk texts and Milvus' BM25 function (keyword
    # search), so the floor inserts the texts too and Milvus computes their sparse vectors, as in the app
    VectorStore._create(milvus, 'raw', 768, 'COSINE', EMBED, keyword)
    started = time.perf_counter()
    vectors = []
    for start in range(0, len(texts), BATCH):
        vectors += client.embed(model=EMBED, input=texts[start : start + BATCH]).embeddings
    embedded = time.perf_counter()
    rows = [{'id': i, 'doc_id': i // 3, 'vector': list(v)} for i, v in enumerate(vectors)]
    if keyword:
        for row, text in zip(rows, texts, strict=True):
            row['text'] = text
    for start in range(0, len(rows), 1000):
        milvus.insert('raw', rows[start : start + 1000])
    milvus.flush('raw')
    done = time.perf_counter()
    milvus.close()
    return {'seconds': done - started, 'embed': embedded - started, 'write': done - embedded, 'rows': len(rows)}


def start_app(data: Path, ollama_url: str) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    env = clean_env(
        DATA_DIR=str(data), HOST='127.0.0.1', PORT=str(port), OLLAMA_HOST=ollama_url, STORAGE_SECRET='bench',
        EMBED_BATCH_SIZE=str(BATCH),
    )  # fmt: skip
    env.pop('NICEGUI_USER_SIMULATION', None)
    log = data.parent / 'app.log'
    with log.open('wb') as output:
        app = subprocess.Popen([sys.executable, 'app.py'], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    wait_http(f'{url}/health/ready', 120)
    return app, url, log


def ingest(url: str, token: str, files: list[tuple[str, bytes]], keyword: bool = True) -> dict:
    headers = {'Authorization': f'Bearer {token}'}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        body = {'name': 'Bench', 'embedding_model': EMBED, 'keyword_search': keyword}
        created = http.post('/api/v1/knowledge', json=body)
        assert created.status_code == 201, created.text
        kb = created.json()['id']
        started = time.perf_counter()
        for start in range(0, len(files), UPLOAD_FILES):
            parts = [('files', (n, d, 'text/markdown')) for n, d in files[start : start + UPLOAD_FILES]]
            uploaded = http.post(f'/api/v1/knowledge/{kb}/documents', files=parts)
            assert uploaded.status_code == 201 and all(r['ok'] for r in uploaded.json()), uploaded.text[:500]
        upload_seconds = time.perf_counter() - started
        began = time.perf_counter()
        job = http.post(f'/api/v1/knowledge/{kb}/ingest')
        assert job.status_code == 202, job.text
        seen, polls, latencies = [job.json()['percent']], 0, []
        while True:
            asked = time.perf_counter()
            job = http.get(f'/api/v1/knowledge/{kb}/ingest').json()
            latencies.append((time.perf_counter() - asked) * 1000)
            polls += 1
            if job['percent'] != seen[-1]:
                seen.append(job['percent'])
            if job['finished']:
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - began
    return {'job': job, 'seconds': seconds, 'upload_seconds': upload_seconds, 'seen': seen, 'polls': polls,
            'latencies': latencies}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--docs', type=int, default=1000)
    parser.add_argument('--settle', type=float, default=10, help='seconds after the job for the second RSS reading')
    parser.add_argument('--cold', action='store_true', help="do not fill the test server's embedding cache first")
    parser.add_argument('--no-keyword', action='store_true', help='a knowledge base without keyword search (BM25)')
    args = parser.parse_args()
    keyword = not args.no_keyword
    rng = random.Random(7)
    files = [(f'doc{i:04d}.md', markdown_doc(rng, i).encode()) for i in range(args.docs)]
    texts = local_chunks(files)
    assert args.cold or len(texts) <= 8192, 'more chunks than the test server caches: use --cold or fewer documents'
    work = Path(tempfile.mkdtemp(prefix='bench-ingest-'))
    data = work / 'data'
    token = asyncio.run(make_account(data))
    ollama_process, ollama_url = start_fake_ollama()
    app = None
    try:
        if not args.cold:
            import ollama

            warm = ollama.Client(host=ollama_url)
            for start in range(0, len(texts), 256):
                warm.embed(model=EMBED, input=texts[start : start + 256])
        before = floor(ollama_url, texts, work, keyword)
        app, url, log = start_app(data, ollama_url)
        idle_rss, idle_each = rss_tree_mb(app.pid)
        ours = ingest(url, token, files, keyword)
        after_rss, after_each = rss_tree_mb(app.pid)
        peak_rss, _ = peak_rss_tree_mb(app.pid)
        time.sleep(args.settle)
        settled_rss, settled_each = rss_tree_mb(app.pid)
        database = sqlite3.connect(f'file:{data / "platform.db"}?mode=ro', uri=True, timeout=10)
        stored = [r[0] for r in database.execute('SELECT text FROM chunks ORDER BY id')]
        database.close()
        after = floor(ollama_url, stored, work, keyword)
    finally:
        if app is not None:
            app.terminate()
            app.wait(30)
        ollama_process.terminate()
        ollama_process.wait(10)
    job, seconds = ours['job'], ours['seconds']
    raw = min(before, after, key=lambda f: f['seconds'])
    stages = next((line.split(': ', 1)[-1] for line in log.read_text().splitlines() if ' chunks in ' in line), '')
    lat = ours['latencies']
    size = sum(len(d) for _, d in files)
    cache = 'computed during the run (--cold)' if args.cold else 'cached'
    print(f'documents: {args.docs} markdown, {size / 1e6:.1f} MB, uploaded over HTTP in {ours["upload_seconds"]:.1f} s '
          f'({UPLOAD_FILES} a request); embeddings {cache}')  # fmt: skip
    print(f'chunks: the job stored {len(stored)}, the benchmark split {len(texts)}'
          f'{"" if stored == texts else " (DIFFERENT texts)"}')  # fmt: skip
    print(f'job over the API: {job["state"]}, {job["docs_done"]} docs, {job["chunks_done"]} chunks in {seconds:.2f} s '
          f'= {job["chunks_done"] / seconds:.0f} chunks/s {job["error"] or ""}')  # fmt: skip
    print(f"  the app's log: {stages}")
    print(f'raw floor (ollama client, batches of {BATCH}, + pymilvus insert + one flush), {raw["rows"]} chunks: '
          f'{before["seconds"]:.2f} s before the job, {after["seconds"]:.2f} s after; counted {raw["seconds"]:.2f} s '
          f'(embed {raw["embed"]:.2f} s, insert + flush {raw["write"]:.2f} s) = {raw["rows"] / raw["seconds"]:.0f} '
          f'chunks/s')  # fmt: skip
    print(f'ratio floor / job: {raw["seconds"] / seconds:.2f}  (target >= 0.8)')
    print(f'RSS of the app tree, MB: {idle_rss:.0f} before the job ({_show(idle_each)}); {after_rss:.0f} right after '
          f'({_show(after_each)}); {settled_rss:.0f} {args.settle:.0f} s later ({_show(settled_each)}); '
          f'peak {peak_rss:.0f}')  # fmt: skip
    print(f'progress seen over the API ({ours["polls"]} polls, 50 ms apart): {len(ours["seen"])} distinct values: '
          f'{", ".join(f"{p:g}" for p in ours["seen"])}')  # fmt: skip
    print(f'GET …/ingest during the job: p50 {percentile(lat, 0.5):.0f} ms, p95 {percentile(lat, 0.95):.0f} ms, '
          f'max {max(lat):.0f} ms')  # fmt: skip


if __name__ == '__main__':
    main()
