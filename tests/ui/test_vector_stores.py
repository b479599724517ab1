"""Both vector store configurations (Milvus Lite file, Milvus server URI) and resuming ingestion after a kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from models import Chunk, Document, IngestJob
from services.core.errors import InvalidInput
from services.knowledge.vectors import VectorStore
from services.wiring import Services
from tests.ollama_server import OllamaTestServer

ROOT = Path(__file__).resolve().parents[2]
EMBED = 'nomic-embed-text:latest'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith('PYTEST_')}


@pytest.fixture
def milvus_server(tmp_path: Path) -> Iterator[str]:
    """`milvus-lite server` on a free loopback port, stopped after the test."""
    port = free_port()
    exe = Path(sys.executable).with_name('milvus-lite')
    process = subprocess.Popen(
        [str(exe), 'server', '--data-dir', str(tmp_path / 'milvus-server'), '--host', '127.0.0.1', '--port', str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail('milvus-lite server did not start')
    yield f'http://127.0.0.1:{port}'
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def server_env(milvus_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the app under test at the Milvus server (set before the app starts)."""
    monkeypatch.setenv('MILVUS_URI', milvus_server)
    return milvus_server


async def ingest_and_search(services: Services, owner: int) -> None:
    kb = (await services.knowledge.create_kb(owner, name='Camelids', embedding_model=EMBED)).id
    await services.knowledge.upload(
        owner, kb, [('llama.txt', b'Llamas carry packs in the Andes.'), ('fish.txt', b'Salmon swim upstream.')]
    )
    final = await services.ingest.wait((await services.ingest.start(owner, kb)).job_id)
    assert final.state == 'done' and final.docs_done == 2
    stats = await services.vectors.stats(f'kb_{kb}')
    assert stats.exists and stats.entities == 2 and stats.dimension == 768 and stats.index == 'AUTOINDEX'
    neighbours = await services.embeddings.neighbours(owner, kb, 'Where do llamas carry packs?', k=2)
    assert neighbours[0].document_name == 'llama.txt' and neighbours[0].score > neighbours[1].score


async def test_milvus_lite_is_the_default(services: Services, make_account) -> None:
    assert not services.vectors.is_server and services.vectors.uri.endswith('milvus.db')
    await ingest_and_search(services, await make_account('ada@example.org', 'Ada'))


async def test_milvus_server_through_the_same_code_path(server_env: str, services: Services, make_account) -> None:
    assert services.vectors.is_server and services.vectors.uri == server_env
    assert 'Connected' in await VectorStore.test_connection(server_env)
    await ingest_and_search(services, await make_account('ada@example.org', 'Ada'))
    assert not (services.settings.data_dir / 'milvus.db').exists()


async def test_connection_test_explains_failures(services: Services) -> None:
    with pytest.raises(InvalidInput, match='Could not connect'):
        await VectorStore.test_connection(f'http://127.0.0.1:{free_port()}')
    with pytest.raises(InvalidInput, match='Milvus server URI'):
        await VectorStore.test_connection('/etc/passwd')


async def test_ingestion_resumes_after_the_process_was_killed(
    services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    ollama_server.embed_delay = 0.05  # slow enough to kill the worker half-way
    ada = await make_account('ada@example.org', 'Ada')
    kb = (await services.knowledge.create_kb(ada, name='Big', embedding_model=EMBED, chunk_size=32, chunk_overlap=0)).id
    body = ' '.join(f'Sentence {i} about vicunas and guanacos.' for i in range(60))
    await services.knowledge.upload(ada, kb, [(f'doc{i}.txt', f'Document {i}. {body}'.encode()) for i in range(12)])
    await services.ingest.warm()  # what start-up began; then let go of Milvus Lite: one process per data directory
    await services.vectors.close()
    worker = await asyncio.create_subprocess_exec(
        sys.executable, '-m', 'tests.ingest_worker', str(kb), str(ada),
        cwd=ROOT, env=clean_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # kill once some documents are stored and others are not
            line = (await asyncio.wait_for(worker.stdout.readline(), 60)).decode()
            assert line, 'the worker exited early'
            if await Document.filter(kb_id=kb, state='embedded').count() >= 2:
                break
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    finally:
        if worker.returncode is None:
            worker.kill()
    job = await IngestJob.filter(kb_id=kb).first()
    assert job.state == 'running'
    done_before = await Document.filter(kb_id=kb, state='embedded').count()
    assert 2 <= done_before < 12

    ollama_server.embed_delay = 0.0
    # the dead process still holds its claim: nobody else may run the job (that would embed it twice) ...
    assert job.claimed_by and job.claimed_by != services.ingest.owner
    assert await services.ingest.resume_interrupted() == []
    # ... until the claim runs out (LEASE_SECONDS after its last renewal), as if that much time had passed
    await IngestJob.filter(id=job.id).update(lease_until=datetime.now(UTC) - timedelta(seconds=1))
    assert await services.ingest.resume_interrupted() == [job.id]  # what start-up and the sweeper do
    final = await services.ingest.wait(job.id, 120)
    assert final.state == 'done' and final.docs_skipped == done_before and final.docs_done == 12 - done_before
    chunks = await Chunk.filter(kb_id=kb).count()
    stats = await services.vectors.stats(f'kb_{kb}')
    assert stats.entities == chunks  # complete, and no duplicates
    client = await services.vectors.client()
    ids = [row['id'] for row in client.query(f'kb_{kb}', filter='id >= 0', output_fields=['id'], limit=16384)]
    assert len(ids) == len(set(ids)) == chunks
