"""Background ingestion: chunk → embed (batched /api/embed calls) → insert into Milvus → flush.

One job per knowledge base at a time. Progress goes out through `IngestService.progress` (a nicegui.Event, one
precomputed payload per update) to every page watching the knowledge base. Jobs are cancellable and resumable:
a document counts as embedded only after its vectors were flushed, so a job interrupted by a crash continues with
the documents that were not finished; unchanged documents (same content hash and model) are skipped. Chunk ids are
deterministic (document id x 1,000,000 + index) and a document's old vectors are deleted before it is re-inserted,
so a resumed job never leaves duplicates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from nicegui import Event, background_tasks, core, run

from models import Chunk, Document, IngestJob, KnowledgeBase
from models.knowledge import DocState, JobState
from services import actions, chunking
from services.activity import ActivityService
from services.errors import Conflict, InvalidInput, ServiceError
from services.hosts import HostDirectory
from services.knowledge import KnowledgeService, collection_name
from services.ollama import OllamaError, OllamaGateway
from services.vectors import VectorStore

log = logging.getLogger(__name__)

CHUNK_ID_FACTOR = 1_000_000
FLUSH_ROWS = 4096  # insert + flush once this many vectors are waiting (and at the end)
ACTIVE = (JobState.QUEUED, JobState.RUNNING)


@dataclass(kw_only=True, slots=True)
class JobProgress:
    job_id: int
    kb_id: int
    state: str
    docs_total: int
    docs_done: int
    docs_failed: int
    docs_skipped: int
    chunks_done: int
    percent: float
    rate: float  # chunks per second
    error: str | None = None
    current: str = ''

    @property
    def finished(self) -> bool:
        return self.state not in ACTIVE

    def to_dict(self) -> dict:
        return asdict(self)


def _progress(job: IngestJob, *, partial: float = 0.0, rate: float = 0.0, current: str = '') -> JobProgress:
    handled = job.docs_done + job.docs_failed + job.docs_skipped
    percent = 100.0 if job.docs_total == 0 else min(100.0, 100.0 * (handled + partial) / job.docs_total)
    state = str(job.state.value if hasattr(job.state, 'value') else job.state)
    if state == JobState.DONE:
        percent = 100.0
    return JobProgress(
        job_id=job.id,
        kb_id=job.kb_id,  # type: ignore[attr-defined]
        state=state,
        docs_total=job.docs_total,
        docs_done=job.docs_done,
        docs_failed=job.docs_failed,
        docs_skipped=job.docs_skipped,
        chunks_done=job.chunks_done,
        percent=round(percent, 1),
        rate=round(rate, 1),
        error=job.error,
        current=current,
    )


class IngestService:
    def __init__(
        self,
        knowledge: KnowledgeService,
        vectors: VectorStore,
        ollama: OllamaGateway,
        hosts: HostDirectory,
        activity: ActivityService,
        *,
        batch_size: int = 64,
    ) -> None:
        self.knowledge = knowledge
        self.vectors = vectors
        self.ollama = ollama
        self.hosts = hosts
        self.activity = activity
        self.batch_size = batch_size
        self.flush_rows = FLUSH_ROWS
        self.progress: Event[JobProgress] = Event()
        self._tasks: dict[int, asyncio.Task] = {}  # job id → task
        self._cancelled: set[int] = set()

    # ----- for users ---------------------------------------------------------------------------------------------
    async def start(self, actor_id: int, kb_id: int, *, rebuild: bool = False) -> JobProgress:
        kb = await self.knowledge.editable_kb(actor_id, kb_id)
        if await IngestJob.filter(kb_id=kb.id, state__in=ACTIVE).exists():
            raise Conflict('An ingestion job is already running for this knowledge base. Wait for it or cancel it.')
        job = await IngestJob.create(kb_id=kb.id, user_id=actor_id, rebuild=rebuild, state=JobState.QUEUED)
        self._launch(job.id)
        return _progress(job)

    async def cancel(self, actor_id: int, kb_id: int) -> bool:
        kb = await self.knowledge.editable_kb(actor_id, kb_id)
        job = await IngestJob.filter(kb_id=kb.id, state__in=ACTIVE).order_by('-id').first()
        if job is None:
            return False
        self._cancelled.add(job.id)
        if job.id not in self._tasks:  # left over from another process: mark it here
            job.state, job.finished_at = JobState.CANCELLED, datetime.now(UTC)
            await job.save()
            self.progress.emit(_progress(job))
        return True

    async def latest(self, actor_id: int, kb_id: int) -> JobProgress | None:
        kb = await self.knowledge.readable_kb(actor_id, kb_id)
        job = await IngestJob.filter(kb_id=kb.id).order_by('-id').first()
        return _progress(job) if job else None

    async def wait(self, job_id: int, limit_seconds: float = 60) -> JobProgress:
        """Wait until a job started in this process has finished (tests, benchmarks, the API)."""
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.wait_for(asyncio.shield(task), limit_seconds)
        return _progress(await IngestJob.get(id=job_id))

    async def resume_interrupted(self) -> list[int]:
        """At start-up: continue every job a previous process left queued or running."""
        ids = await IngestJob.filter(state__in=ACTIVE).values_list('id', flat=True)
        for job_id in ids:
            if job_id not in self._tasks:
                log.info('resuming ingestion job %s', job_id)
                self._launch(job_id)
        return list(ids)

    async def stop(self) -> None:
        """At shutdown: stop running jobs where they are; they stay 'running' and resume on the next start."""
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

    # ----- the job -----------------------------------------------------------------------------------------------
    def _launch(self, job_id: int) -> None:
        coroutine = self.run(job_id)
        if core.loop is not None and core.loop.is_running():
            task = background_tasks.create(coroutine, name=f'ingest-{job_id}')
        else:  # outside a NiceGUI app (scripts, benchmarks)
            task = asyncio.get_running_loop().create_task(coroutine, name=f'ingest-{job_id}')
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))

    async def run(self, job_id: int) -> JobProgress:
        job = await IngestJob.get(id=job_id)
        kb = await KnowledgeBase.get(id=job.kb_id)  # type: ignore[attr-defined]
        job.state, job.error = JobState.RUNNING, None
        job.started_at = job.started_at or datetime.now(UTC)
        await job.save()
        started = time.monotonic()
        try:
            await self._run(job, kb)
        except asyncio.CancelledError:
            raise  # process shutting down: the job stays 'running' and resumes on the next start
        except (ServiceError, OllamaError) as exc:
            job.state, job.error = JobState.FAILED, exc.message
        except Exception as exc:
            log.exception('ingestion job %s failed', job_id)
            job.state, job.error = JobState.FAILED, f'Unexpected error: {exc}. See the server log.'
        else:
            job.state = JobState.CANCELLED if job.id in self._cancelled else JobState.DONE
        self._cancelled.discard(job.id)
        job.finished_at = datetime.now(UTC)
        await job.save()
        seconds = time.monotonic() - started
        final = _progress(job, rate=job.chunks_done / seconds if seconds else 0)
        self.progress.emit(final)
        await self.activity.record(
            job.user_id,
            actions.INGEST_JOB,
            model=kb.embedding_model,
            latency_ms=seconds * 1000,
            error=job.error,
            kb_id=kb.id,
            job_id=job.id,
            state=final.state,
            documents=job.docs_done,
            failed=job.docs_failed,
            skipped=job.docs_skipped,
            chunks=job.chunks_done,
        )
        return final

    async def _run(self, job: IngestJob, kb: KnowledgeBase) -> None:
        name = kb.collection or collection_name(kb.id)
        if job.rebuild:
            await self.vectors.drop_collection(name)
            await Document.filter(kb_id=kb.id).update(embedded_sha256=None, embedded_model=None)
            kb.dimension = None
            await kb.save(update_fields=['dimension'])
            job.rebuild = False
            await job.save(update_fields=['rebuild'])
        host = await self.hosts.host_for_model(kb.embedding_model)
        if kb.dimension is None:
            probe = await self.ollama.embed(host, kb.embedding_model, ['dimension probe'])
            kb.dimension = len(probe.embeddings[0])
            await kb.save(update_fields=['dimension'])
        await self.vectors.create_collection(name, dimension=kb.dimension, metric=kb.metric, model=kb.embedding_model)

        docs = await Document.filter(kb_id=kb.id).order_by('id')
        job.docs_total, job.docs_done, job.docs_failed, job.docs_skipped, job.chunks_done = len(docs), 0, 0, 0, 0
        await job.save()
        started, last_emit = time.monotonic(), 0.0
        rows: list[dict] = []
        waiting: list[Document] = []  # inserted, not yet flushed: marked embedded after the flush

        async def commit() -> None:
            nonlocal rows, waiting
            if rows:
                await self.vectors.insert(name, rows)
            if waiting:
                await self.vectors.flush(name)
                now = datetime.now(UTC)
                ids = [d.id for d in waiting]
                await Document.filter(id__in=ids).update(state=DocState.EMBEDDED, error=None, updated_at=now)
                for d in waiting:
                    await Document.filter(id=d.id).update(embedded_sha256=d.sha256, embedded_model=kb.embedding_model)
                job.docs_done += len(waiting)
                await job.save()
            rows, waiting = [], []

        for doc in docs:
            if job.id in self._cancelled:
                break
            if (
                doc.embedded_sha256 == doc.sha256
                and doc.embedded_model == kb.embedding_model
                and doc.state == DocState.EMBEDDED
            ):
                job.docs_skipped += 1
                continue
            try:
                text = await run.io_bound(self.knowledge.read_text, doc.text_name)
                pieces = await run.io_bound(chunking.split, text, kb.splitter, kb.chunk_size, kb.chunk_overlap)
                if not pieces:
                    raise InvalidInput('The document produced no chunks (no text).')
                await self.vectors.delete_documents(name, [doc.id])
                await Chunk.filter(document_id=doc.id).delete()
                base = doc.id * CHUNK_ID_FACTOR
                await Chunk.bulk_create(
                    [
                        Chunk(
                            id=base + p.index,
                            document_id=doc.id,
                            kb_id=kb.id,
                            index=p.index,
                            text=p.text,
                            metadata=p.metadata,
                        )
                        for p in pieces
                    ]
                )
                doc.state, doc.chunk_count, doc.error = DocState.CHUNKED, len(pieces), None
                await doc.save(update_fields=['state', 'chunk_count', 'error', 'updated_at'])
                for start in range(0, len(pieces), self.batch_size):
                    if job.id in self._cancelled:
                        break
                    batch = pieces[start : start + self.batch_size]
                    response = await self.ollama.embed(host, kb.embedding_model, [p.text for p in batch])
                    for piece, vector in zip(batch, response.embeddings, strict=True):
                        if len(vector) != kb.dimension:
                            raise InvalidInput(
                                f'{kb.embedding_model} returned {len(vector)}-dimensional vectors but the collection '
                                f'holds {kb.dimension}. Re-embed the knowledge base.'
                            )
                        rows.append({'id': base + piece.index, 'doc_id': doc.id, 'vector': list(vector)})
                    job.chunks_done += len(batch)
                    now = time.monotonic()
                    if now - last_emit > 0.25:
                        last_emit = now
                        rate = job.chunks_done / (now - started)
                        self.progress.emit(
                            _progress(
                                job, partial=(start + len(batch)) / len(pieces), rate=rate, current=doc.original_name
                            )
                        )
                if job.id in self._cancelled:  # stopped inside this document: drop its partial vectors
                    rows = [r for r in rows if r['doc_id'] != doc.id]
                    break
                waiting.append(doc)
                if len(rows) >= self.flush_rows:
                    await commit()
            except (ServiceError, OllamaError) as exc:
                rows = [r for r in rows if r['doc_id'] != doc.id]
                await Document.filter(id=doc.id).update(state=DocState.FAILED, error=exc.message)
                job.docs_failed += 1
                await job.save()
        await commit()
        if job.docs_failed and not job.docs_done and not job.docs_skipped:
            raise InvalidInput(f'Every document failed ({job.docs_failed}). See the reasons on the documents.')
