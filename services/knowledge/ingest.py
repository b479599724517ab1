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
from collections import deque
from collections.abc import Coroutine
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from nicegui import Event, background_tasks, core
from tortoise.transactions import in_transaction

from models import Chunk, Document, IngestJob, KnowledgeBase
from models.knowledge import DocState, JobState
from services.core import actions, db
from services.core.activity import ActivityService
from services.core.errors import Conflict, InvalidInput, ServiceError
from services.core.workers import WorkerPool
from services.knowledge import chunking
from services.knowledge.bases import KnowledgeService, collection_name
from services.knowledge.vector_databases import VectorDatabaseService
from services.knowledge.vectors import VectorStore
from services.models.callers import Caller, Purpose
from services.models.calls import ModelCalls
from services.models.errors import OllamaError

log = logging.getLogger(__name__)

CHUNK_ID_FACTOR = 1_000_000
INSERT_ROWS = 256  # vectors per insert call
FLUSH_ROWS = 2048  # flush (and mark documents embedded) every this many vectors, and at the end
SPLIT_BATCH = 16  # documents per call to a worker process
SPLIT_AHEAD = 8  # batches queued for splitting while the current ones are embedded
EMBED_CONCURRENCY = 2  # /api/embed requests in flight at once
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
    state = str(job.state.value if hasattr(job.state, 'value') else job.state)
    if job.docs_total == 0:  # nothing counted yet (a queued job) or an empty knowledge base (done at once)
        percent = 0.0 if state in ACTIVE else 100.0
    else:
        percent = min(100.0, 100.0 * (handled + partial) / job.docs_total)
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
        stores: VectorDatabaseService,
        calls: ModelCalls,
        activity: ActivityService,
        *,
        workers: WorkerPool,
        batch_size: int = 64,
    ) -> None:
        self.knowledge = knowledge
        self.stores = stores  # the vector store of each knowledge base
        self.vectors = stores.default  # warmed up before the first job
        self.calls = calls  # embeddings go through the one model-call path, on behalf of the job's user
        self.activity = activity
        self.workers = workers
        self.batch_size = batch_size
        self.flush_rows = FLUSH_ROWS
        self.progress: Event[JobProgress] = Event()
        self._tasks: dict[int, asyncio.Task] = {}  # job id → task
        self._cancelled: set[int] = set()

    async def _caller(self, user_id: int | None) -> Caller:
        """The job's user as a caller; a job resumed after its user was deactivated still finishes its documents."""
        try:
            return await self.calls.caller(user_id)
        except ServiceError:
            return Caller(user_id=user_id)

    # ----- for users ---------------------------------------------------------------------------------------------
    async def start(self, actor_id: int, kb_id: int, *, rebuild: bool = False) -> JobProgress:
        kb = await self.knowledge.editable_kb(actor_id, kb_id)
        # refused now (a model the workshop does not allow) rather than in the job
        await self.calls.check_model(await self.calls.caller(actor_id), kb.embedding_model)
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

    async def warm(self) -> None:
        """Start the worker processes and connect the vector store: once per process, before the first job starts
        (the job's time then counts ingestion, not these one-off starts)."""
        try:
            await asyncio.gather(self.workers.start(), self.vectors.client())
        except Exception as exc:  # each job reports its own failure; here it is only a warning
            log.warning('ingestion could not warm up: %s', exc)

    async def run(self, job_id: int) -> JobProgress:
        await self.warm()
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
        began = time.monotonic()
        name = kb.collection or collection_name(kb.id)
        store = await self.stores.store_for(kb)
        if job.rebuild:
            await store.drop_collection(name)
            await Document.filter(kb_id=kb.id).update(embedded_sha256=None, embedded_model=None)
            kb.dimension = None
            await kb.save(update_fields=['dimension'])
            job.rebuild = False
            await job.save(update_fields=['rebuild'])
        caller = await self._caller(job.user_id)
        host = await self.calls.route(kb.embedding_model)
        if kb.dimension is None:
            probe = await self.calls.embed(
                caller, Purpose.INGESTION, model=kb.embedding_model, inputs=['dimension probe'], host=host
            )
            kb.dimension = len(probe.embeddings[0])
            await kb.save(update_fields=['dimension'])
        await store.create_collection(name, dimension=kb.dimension, metric=kb.metric, model=kb.embedding_model)

        docs = await Document.filter(kb_id=kb.id).order_by('id')
        job.docs_total, job.docs_done, job.docs_failed, job.docs_skipped, job.chunks_done = len(docs), 0, 0, 0, 0
        await job.save()
        current = _Run(self, job, kb, name, host, store, caller)
        current.seconds['setting up'] = time.monotonic() - began
        group: list[tuple[Document, list[chunking.ChunkText]]] = []
        todo = []
        for doc in docs:
            if (
                doc.embedded_sha256 == doc.sha256
                and doc.embedded_model == kb.embedding_model
                and doc.state == DocState.EMBEDDED
            ):
                job.docs_skipped += 1
            else:
                todo.append(doc)
        self.progress.emit(_progress(job, current=todo[0].original_name if todo else ''))  # the documents are counted
        batches = [todo[i : i + SPLIT_BATCH] for i in range(0, len(todo), SPLIT_BATCH)]
        ahead: deque[asyncio.Future] = deque()  # split the next documents in worker processes while these embed
        try:
            for index, batch in enumerate(batches):
                while len(ahead) < SPLIT_AHEAD and index + len(ahead) < len(batches):
                    ahead.append(asyncio.ensure_future(self._split(kb, batches[index + len(ahead)])))
                if job.id in self._cancelled:
                    break
                waited = time.monotonic()
                results = await ahead.popleft()
                current.seconds['waiting for chunks'] += time.monotonic() - waited
                for doc, result in zip(batch, results, strict=True):
                    if isinstance(result, str):
                        await current.fail([doc], result)
                        continue
                    group.append((doc, result))
                    if sum(len(p) for _, p in group) >= self.batch_size * 4:
                        await current.process(group)
                        group = []
        finally:
            for task in ahead:  # documents split ahead but not reached (cancel): drop them, errors included
                task.cancel()
                task.add_done_callback(_forget)
        if group and job.id not in self._cancelled:
            await current.process(group)
        tail = time.monotonic()
        await current.commit()
        current.seconds['last flush'] = time.monotonic() - tail
        log.info(
            'ingestion job %d: %d documents, %d chunks in %.2f s (%s)', job.id, job.docs_done, job.chunks_done,
            time.monotonic() - began, ', '.join(f'{stage} {value:.2f} s' for stage, value in current.seconds.items()),
        )  # fmt: skip
        if job.docs_failed and not job.docs_done and not job.docs_skipped:
            raise InvalidInput(f'Every document failed ({job.docs_failed}). See the reasons on the documents.')

    async def _split(self, kb: KnowledgeBase, docs: list[Document]) -> list[list[chunking.ChunkText] | str]:
        paths = [str(self.knowledge.text_path(d.text_name)) for d in docs]
        return await self.workers.run(chunking.split_files, paths, kb.splitter, kb.chunk_size, kb.chunk_overlap)


def _forget(task: asyncio.Future) -> None:
    """Retrieve the outcome of a task nobody awaits any more, so a failure in it is not logged as unhandled."""
    if not task.cancelled():
        task.exception()


class _Run:
    """The state of one job run: the insert under way, documents waiting for the flush that makes them final.

    Writes run while the next documents are embedded, one at a time and in order: an insert every INSERT_ROWS rows,
    and every `flush_rows` rows a flush that then marks its documents embedded. The last flush is waited for.
    """

    def __init__(
        self,
        service: IngestService,
        job: IngestJob,
        kb: KnowledgeBase,
        name: str,
        host: str,
        store: VectorStore,
        caller: Caller,
    ) -> None:
        self.service, self.job, self.kb, self.name, self.host = service, job, kb, name, host
        self.caller = caller  # the job's user: their workshop's allowed models apply
        self.store = store  # the vector store of this knowledge base
        self.writing: asyncio.Future | None = None
        self.rows: list[dict] = []  # waiting to be inserted
        self.unflushed = 0  # rows queued since the last flush
        self.waiting: list[Document] = []
        # where the time went, logged at the end: stages overlap, so these add up to less than the whole
        self.seconds = {'setting up': 0.0, 'waiting for chunks': 0.0, 'embedding': 0.0, 'waiting for writes': 0.0}
        self.started = time.monotonic()
        self.last_emit = 0.0

    async def fail(self, docs: list[Document], reason: str) -> None:
        await Document.filter(id__in=[d.id for d in docs]).update(state=DocState.FAILED, error=reason)
        self.job.docs_failed += len(docs)
        await self.job.save()

    async def process(self, group: list[tuple[Document, list[chunking.ChunkText]]]) -> None:
        """Store the chunks of a group of documents, embed them in batches across documents, queue their rows."""
        kb, service = self.kb, self.service
        stale = [d.id for d, _ in group if d.chunk_count or d.state not in (DocState.UPLOADED, DocState.PARSED)]
        if stale:  # vectors of an earlier, interrupted or outdated run: remove them first (no duplicates)
            await self._settle()
            await self.store.delete_documents(self.name, stale)
        async with in_transaction():
            if stale:
                await Chunk.filter(document_id__in=stale).delete()
            await Chunk.bulk_create(
                [
                    Chunk(id=d.id * CHUNK_ID_FACTOR + p.index, document_id=d.id, kb_id=kb.id, index=p.index,
                          text=p.text, metadata=p.metadata)
                    for d, pieces in group
                    for p in pieces
                ]
            )  # fmt: skip
            for doc, pieces in group:
                doc.state, doc.chunk_count, doc.error = DocState.CHUNKED, len(pieces), None
            await db.update_rows(
                Document._meta.db_table, ('state', 'chunk_count', 'error'),
                [(DocState.CHUNKED.value, d.chunk_count, None, d.id) for d, _ in group],
            )  # fmt: skip
        items = [(doc, piece) for doc, pieces in group for piece in pieces]
        batches = [items[i : i + service.batch_size] for i in range(0, len(items), service.batch_size)]
        failed: dict[int, str] = {}
        rows: list[dict] = []
        done = 0
        for first in range(0, len(batches), EMBED_CONCURRENCY):  # a few requests in flight: Ollama never waits on us
            if self.job.id in service._cancelled:
                return  # this group is not committed: its documents stay 'chunked' and are redone next time
            window = batches[first : first + EMBED_CONCURRENCY]
            todo = [[(d, p) for d, p in b if d.id not in failed] for b in window]
            embedding = time.monotonic()
            results = await asyncio.gather(*(self._embed_batch(b, failed) for b in todo))
            self.seconds['embedding'] += time.monotonic() - embedding
            for batch, vectors in zip(todo, results, strict=True):
                for (doc, piece), vector in zip(batch, vectors, strict=True):
                    if vector is not None:
                        rows.append({'id': doc.id * CHUNK_ID_FACTOR + piece.index, 'doc_id': doc.id, 'vector': vector})
                        self.job.chunks_done += 1
            done += sum(len(b) for b in window)
            name = window[-1][-1][0].original_name
            self._emit(partial=len(self.waiting) + done / len(items) * len(group), current=name)
        await self._insert([r for r in rows if r['doc_id'] not in failed])
        self.waiting += [d for d, _ in group if d.id not in failed]
        for doc_id, reason in failed.items():
            await self.fail([d for d, _ in group if d.id == doc_id], reason)
        if self.unflushed >= service.flush_rows:
            await self.flush_soon()

    async def _embed_batch(self, batch: list[tuple[Document, chunking.ChunkText]], failed: dict[int, str]) -> list:
        """Vectors for a batch of chunks (None for a failed document's). When a batch with several documents fails,
        it is embedded again document by document, so only the failing documents fail (their reasons go in `failed`).
        """
        if not batch:
            return []
        try:
            return await self._embed([p.text for _, p in batch])
        except (ServiceError, OllamaError) as exc:
            doc_ids = list(dict.fromkeys(d.id for d, _ in batch))  # a batch holds each document's chunks in a row
            if len(doc_ids) == 1:
                failed[doc_ids[0]] = exc.message
                return [None] * len(batch)
        vectors: list = []
        for doc_id in doc_ids:
            texts = [p.text for d, p in batch if d.id == doc_id]
            try:
                vectors += await self._embed(texts)
            except (ServiceError, OllamaError) as inner:
                failed[doc_id] = inner.message
                vectors += [None] * len(texts)
        return vectors

    async def _embed(self, texts: list[str]) -> list[list[float]]:
        response = await self.service.calls.embed(
            self.caller, Purpose.INGESTION, model=self.kb.embedding_model, inputs=texts, host=self.host
        )
        vectors = [list(v) for v in response.embeddings]
        if any(len(v) != self.kb.dimension for v in vectors):
            raise InvalidInput(
                f'{self.kb.embedding_model} returned vectors of another dimension than the collection '
                f'({self.kb.dimension}). Re-embed the knowledge base.'
            )
        return vectors

    def _emit(self, *, partial: float, current: str) -> None:
        now = time.monotonic()
        if now - self.last_emit > 0.25:
            self.last_emit = now
            rate = self.job.chunks_done / max(now - self.started, 1e-6)
            self.service.progress.emit(_progress(self.job, partial=partial, rate=rate, current=current))

    async def _insert(self, rows: list[dict]) -> None:
        """Queue rows; insert them in calls of INSERT_ROWS (few large inserts cost Milvus less than many small)."""
        self.rows += rows
        self.unflushed += len(rows)
        if len(self.rows) >= min(INSERT_ROWS, self.service.flush_rows):
            await self._send()

    async def _send(self) -> None:
        rows, self.rows = self.rows, []
        if rows:
            await self._write(self.store.insert(self.name, rows))

    async def _write(self, operation: Coroutine[Any, Any, Any]) -> None:
        """Start a write once the one under way is done (one at a time: Milvus Lite takes one writer per collection);
        the caller goes on meanwhile."""
        await self._settle()
        self.writing = asyncio.ensure_future(operation)
        self.writing.add_done_callback(_forget)  # awaited in _settle; this only keeps a shutdown quiet

    async def _settle(self) -> None:
        """Wait for the write under way (its error, if any, is raised here)."""
        writing, self.writing = self.writing, None
        if writing is not None:
            waited = time.monotonic()
            await writing
            self.seconds['waiting for writes'] += time.monotonic() - waited

    async def flush_soon(self) -> None:
        """Flush what is inserted and mark its documents embedded, while the next documents are embedded."""
        await self._send()
        if self.waiting:
            await self._write(self._flush(self.waiting))
        self.unflushed, self.waiting = 0, []

    async def commit(self) -> None:
        """Flush what is inserted and mark its documents embedded; return when that is done."""
        await self.flush_soon()
        await self._settle()

    async def _flush(self, documents: list[Document]) -> None:
        """Flush, and only then mark the documents embedded: a crash before this redoes them."""
        await self.store.flush(self.name)
        await db.update_rows(
            Document._meta.db_table, ('state', 'error', 'embedded_sha256', 'embedded_model'),
            [(DocState.EMBEDDED.value, None, d.sha256, self.kb.embedding_model, d.id) for d in documents],
        )  # fmt: skip
        self.job.docs_done += len(documents)
        await self.job.save()
