"""Background ingestion: chunk → embed (full batches, /api/embed) → insert into Milvus → flush, as overlapping stages.

One job per knowledge base at a time. Progress goes out through `IngestService.progress` (a nicegui.Event, one
precomputed payload per update) to every page watching the knowledge base. Jobs are cancellable and resumable:
a document counts as embedded only after its vectors were flushed (once at the end of a job, and every FLUSH_ROWS
vectors or FLUSH_SECONDS in a long one), so a job interrupted by a crash continues with the documents that were not
finished; unchanged documents (same content hash and model) are skipped. Chunk ids are
deterministic (document id x 1,000,000 + index) and a document's old vectors are deleted before it is re-inserted,
so a resumed job never leaves duplicates.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from nicegui import Event, background_tasks, core
from tortoise.transactions import in_transaction

from models import Chunk, Document, IngestJob, KnowledgeBase, ReindexJob
from models.knowledge import DocState, JobState
from services.core import actions, db
from services.core.activity import ActivityService
from services.core.claims import Claims
from services.core.errors import Conflict, InvalidInput, ServiceError
from services.core.i18n import N_
from services.core.workers import WorkerPool, trim
from services.knowledge import chunking
from services.knowledge.bases import KnowledgeService, collection_name
from services.knowledge.vector_databases import VectorDatabaseService
from services.knowledge.vectors import VectorStore, clip_text
from services.models.callers import Caller, Purpose
from services.models.calls import ModelCalls
from services.models.errors import OllamaError

log = logging.getLogger(__name__)

CHUNK_ID_FACTOR = 1_000_000
INSERT_ROWS = 1024  # vectors per insert call (few large inserts cost Milvus less than many small)
# one flush per job, at its end; a long job also flushes every FLUSH_ROWS vectors or FLUSH_SECONDS, which bounds
# what a crash makes it redo (documents count as embedded only after the flush of their vectors)
FLUSH_ROWS = 100_000
FLUSH_SECONDS = 60.0
SPLIT_BATCH = 16  # documents per call to a worker process
SPLIT_AHEAD = 4  # calls queued for splitting while the chunks before them are embedded
EMBED_CONCURRENCY = 2  # /api/embed requests in flight at once
WRITE_AHEAD = 32  # embedded documents queued for the writer while it inserts
PROGRESS_SECONDS = 1.0  # the job row (what GET …/ingest reads) is updated at most this often, and at every flush
EMIT_SECONDS = 0.25  # the progress event to the pages watching, at most this often
LEASE_SECONDS = 30.0  # a job's claim by its process; renewed every third of it, taken over when it runs out
RELEASE_SECONDS = 5.0  # after the last job, stop the split workers when no other job started meanwhile
ACTIVE = (JobState.QUEUED, JobState.RUNNING)
# the states of jobs and documents as pages show them (translated there with _())
STATE_NAMES = (N_('queued'), N_('running'), N_('done'), N_('cancelled'), N_('failed'))
DOC_STATE_NAMES = (N_('uploaded'), N_('parsed'), N_('chunked'), N_('embedded'))


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


def _progress(job: IngestJob, *, rate: float = 0.0, current: str = '') -> JobProgress:
    handled = job.docs_done + job.docs_failed + job.docs_skipped
    state = str(job.state.value if hasattr(job.state, 'value') else job.state)
    if job.docs_total == 0:  # nothing counted yet (a queued job) or an empty knowledge base (done at once)
        percent = 0.0 if state in ACTIVE else 100.0
    else:  # documents embedded but not flushed yet count, not as done: 100 % only once the job is
        partial = job.docs_partial if state in ACTIVE else 0.0
        percent = min(99.9 if state in ACTIVE else 100.0, 100.0 * (handled + partial) / job.docs_total)
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
        owner: str = '',
        lease_seconds: float = LEASE_SECONDS,
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
        self._cancelled: set[int] = set()
        self._warming: asyncio.Task | None = None
        self.release_seconds: float | None = RELEASE_SECONDS
        # jobs are claimed by one app process at a time (several processes on one database): this one's name
        self.owner = owner or uuid.uuid4().hex
        self.claims = Claims(IngestJob, self.owner, lease_seconds, 'ingestion job', state__in=ACTIVE)
        self._tasks = self.claims.tasks  # job id → task, for the jobs running here
        knowledge.on_upload.append(self.warm_soon)  # documents uploaded: a job is likely to follow

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
            raise Conflict(N_('An ingestion job is already running for this knowledge base. Wait for it or cancel it.'))
        if await ReindexJob.filter(kb_id=kb.id, state__in=ACTIVE).exists():
            raise Conflict(
                N_('The knowledge base is being re-indexed for keyword search. Ingest once that has finished.')
            )
        job = await IngestJob.create(
            kb_id=kb.id, user_id=actor_id, rebuild=rebuild, state=JobState.QUEUED, claimed_by=self.owner,
            lease_until=self.claims.lease(),
        )  # fmt: skip
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
        """Continue every queued or running job nobody holds: at start-up (what a previous process left) and every
        few seconds after (what a process that died left), each claimed by exactly one process. Also keeps the
        sweeper running."""
        resumed = await self.claims.take_unclaimed(self.resume_interrupted)
        for job_id in resumed:
            log.info('resuming ingestion job %s', job_id)
            self._launch(job_id)
        return resumed

    async def stop(self) -> None:
        """At shutdown: stop running jobs where they are; they stay 'running', their claims end now, and the next
        process to look (this one restarted, or another) resumes them."""
        await self.claims.stop()

    # ----- the job -----------------------------------------------------------------------------------------------
    def _launch(self, job_id: int) -> None:
        self.claims.launch(job_id, self.run(job_id), on_done=self._finished)

    def _finished(self, job_id: int) -> None:
        if not self._tasks and self.release_seconds is not None:
            asyncio.get_running_loop().call_later(self.release_seconds, self._release)

    def _release(self) -> None:
        """No job for a while: stop the split worker processes and give freed memory back to the system. The next
        upload or job starts them again."""
        if self._tasks or (self._warming is not None and not self._warming.done()):
            return
        self._warming = None
        self.workers.close()
        gc.collect()
        trim()

    def warm_soon(self) -> None:
        """Warm up in the background (once per process), so that the first job does not wait for the worker
        processes to start."""
        if self._warming is None:
            if core.loop is not None and core.loop.is_running():
                self._warming = background_tasks.create(self.warm(), name='ingest-warm')
            else:
                self._warming = asyncio.get_running_loop().create_task(self.warm(), name='ingest-warm')

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
            job.state, job.error = JobState.FAILED, N_('Unexpected error: {exc}. See the server log.', exc=exc)
        else:
            job.state = JobState.CANCELLED if job.id in self._cancelled else JobState.DONE
        self._cancelled.discard(job.id)
        job.finished_at, job.docs_partial = datetime.now(UTC), 0.0
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
        keyword = await store.create_collection(
            name, dimension=kb.dimension, metric=kb.metric, model=kb.embedding_model, keyword=kb.keyword_index
        )  # a new knowledge base has keyword search (BM25) from the start; an older one gains it by re-indexing
        if keyword != kb.keyword_index:
            kb.keyword_index = keyword
            await kb.save(update_fields=['keyword_index'])

        docs = await Document.filter(kb_id=kb.id).order_by('id')
        job.docs_total, job.docs_done, job.docs_failed, job.docs_skipped, job.chunks_done = len(docs), 0, 0, 0, 0
        job.docs_partial = 0.0
        await job.save()
        pipeline = _Pipeline(self, job, kb, name, host, store, caller)
        pipeline.seconds['setting up'] = time.monotonic() - began
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
        await pipeline.run(todo)
        log.info(
            'ingestion job %d: %d documents, %d chunks in %.2f s (%s)', job.id, job.docs_done, job.chunks_done,
            time.monotonic() - began, ', '.join(f'{stage} {value:.2f} s' for stage, value in pipeline.seconds.items()),
        )  # fmt: skip
        if job.docs_failed and not job.docs_done and not job.docs_skipped:
            raise InvalidInput(
                N_(
                    'Every document failed ({docs_failed}). See the reasons on the documents.',
                    docs_failed=job.docs_failed,
                )
            )

    async def _split(self, kb: KnowledgeBase, docs: list[Document]) -> list[list[chunking.ChunkText] | str]:
        paths = [str(self.knowledge.text_path(d.text_name)) for d in docs]
        return await self.workers.run(chunking.split_files, paths, kb.splitter, kb.chunk_size, kb.chunk_overlap)


def _forget(task: asyncio.Future) -> None:
    """Retrieve the outcome of a task nobody awaits any more, so a failure in it is not logged as unhandled."""
    if not task.cancelled():
        task.exception()


class _Pipeline:
    """One job run as three stages joined by bounded queues, so each one works while the others wait:

    1. `_feed` (this task): documents split in worker processes (SPLIT_AHEAD calls ahead), their chunks stored in
       SQLite, cut into full batches of `batch_size` across documents for
    2. `_embedder` (EMBED_CONCURRENCY tasks): one /api/embed call a batch; a document whose chunks are all embedded
       goes whole, with its vectors, to
    3. `_writer` (one task: Milvus Lite takes one writer per collection): inserts of INSERT_ROWS rows; a flush at the
       end of the job (and every `flush_rows` rows or FLUSH_SECONDS in a long one), after which, and only then, its
       documents are marked embedded.

    The queues hold at most a few batches, so memory stays bounded whatever the size of the job. Progress (the
    event, and the job row that `GET …/ingest` reads) is updated after every batch; the row at most every
    PROGRESS_SECONDS. Documents embedded but not yet flushed count as `docs_partial`, never as done.
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
        self.sizes: dict[int, int] = {}  # document id → chunks, for documents being embedded
        self.left: dict[int, int] = {}  # document id → chunks not embedded yet
        self.rows: dict[int, list[dict]] = {}  # document id → its rows so far
        self.failed: dict[int, str] = {}  # document id → why
        self.unfinal = 0  # documents whose vectors are all embedded, waiting for a flush
        # where the time went, logged at the end: stages overlap, so these add up to more or less than the whole
        self.seconds = {'setting up': 0.0, 'waiting for chunks': 0.0, 'storing chunks': 0.0, 'embedding': 0.0,
                        'inserting': 0.0, 'flushing': 0.0}  # fmt: skip
        self.started = time.monotonic()
        self.last_emit = self.last_save = 0.0

    @property
    def cancelled(self) -> bool:
        return self.job.id in self.service._cancelled

    async def run(self, docs: list[Document]) -> None:
        embed_queue: asyncio.Queue[list | None] = asyncio.Queue(EMBED_CONCURRENCY)
        write_queue: asyncio.Queue[tuple | None] = asyncio.Queue(WRITE_AHEAD)
        try:
            async with asyncio.TaskGroup() as tasks:
                writer = tasks.create_task(self._writer(write_queue))
                embedders = [
                    tasks.create_task(self._embedder(embed_queue, write_queue)) for _ in range(EMBED_CONCURRENCY)
                ]
                await self._feed(docs, embed_queue, write_queue)
                for _ in embedders:
                    await embed_queue.put(None)
                await asyncio.gather(*embedders)
                await write_queue.put(None)
                await writer
        except BaseExceptionGroup as group:  # the first failure, as the job's error (an Ollama error, Milvus down...)
            raise group.exceptions[0] from None

    # ----- 1. split, store the chunks, cut batches -------------------------------------------------------------------
    async def _feed(self, docs: list[Document], embed_queue: asyncio.Queue, write_queue: asyncio.Queue) -> None:
        service, size = self.service, self.service.batch_size
        splits = [docs[i : i + SPLIT_BATCH] for i in range(0, len(docs), SPLIT_BATCH)]
        ahead: deque[asyncio.Future] = deque()  # split the next documents in worker processes while these embed
        batch: list[tuple[Document, chunking.ChunkText]] = []
        try:
            for index, split in enumerate(splits):
                while len(ahead) < SPLIT_AHEAD and index + len(ahead) < len(splits):
                    ahead.append(asyncio.ensure_future(service._split(self.kb, splits[index + len(ahead)])))
                if self.cancelled:
                    return  # documents not reached stay as they are; those chunked but not embedded are redone
                waited = time.monotonic()
                results = await ahead.popleft()
                self.seconds['waiting for chunks'] += time.monotonic() - waited
                group = []
                for doc, result in zip(split, results, strict=True):
                    if isinstance(result, str):
                        await self.fail(doc, result)
                    else:
                        group.append((doc, result))
                if not group:
                    continue
                await self._store_chunks(group, write_queue)
                for doc, pieces in group:
                    self.sizes[doc.id] = self.left[doc.id] = len(pieces)
                    self.rows[doc.id] = []
                    if not pieces:  # nothing to embed: final at the next flush
                        await self._complete(doc, write_queue)
                    for piece in pieces:
                        batch.append((doc, piece))
                        if len(batch) == size:
                            if self.cancelled:
                                return
                            await embed_queue.put(batch)
                            batch = []
            if batch and not self.cancelled:
                await embed_queue.put(batch)
        finally:
            for task in ahead:  # documents split ahead but not reached (cancel, failure): drop them, errors included
                task.cancel()
                task.add_done_callback(_forget)

    async def _store_chunks(self, group: list[tuple[Document, list[chunking.ChunkText]]], write_queue) -> None:
        """Store the chunks of a group of documents (their state: chunked). The vectors of an earlier, interrupted
        or outdated run are deleted first, by the writer, before any of the new ones reach it (no duplicates)."""
        began = time.monotonic()
        kb = self.kb
        stale = [d.id for d, _ in group if d.chunk_count or d.state not in (DocState.UPLOADED, DocState.PARSED)]
        if stale:
            await write_queue.put(('delete', stale))
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
        self.seconds['storing chunks'] += time.monotonic() - began

    # ----- 2. embed ------------------------------------------------------------------------------------------------
    async def _embedder(self, embed_queue: asyncio.Queue, write_queue: asyncio.Queue) -> None:
        while (batch := await embed_queue.get()) is not None:
            if self.cancelled:  # drop what is queued: those documents stay 'chunked' and are redone next time
                continue
            todo = [(d, p) for d, p in batch if d.id not in self.failed]
            began = time.monotonic()
            vectors = await self._embed_batch(todo)
            self.seconds['embedding'] += time.monotonic() - began  # two calls in flight: up to twice the clock
            for (doc, piece), vector in zip(todo, vectors, strict=True):
                if vector is not None:
                    row = {'id': doc.id * CHUNK_ID_FACTOR + piece.index, 'doc_id': doc.id, 'vector': vector}
                    if self.kb.keyword_index:  # Milvus derives the BM25 sparse vector from the text
                        row['text'] = clip_text(piece.text)
                    self.rows[doc.id].append(row)
                    self.job.chunks_done += 1
            for doc, _ in batch:
                self.left[doc.id] -= 1
                if not self.left[doc.id]:
                    await self._complete(doc, write_queue)
            await self._tick(batch[-1][0].original_name)

    async def _complete(self, doc: Document, write_queue: asyncio.Queue) -> None:
        """Every chunk of the document was embedded: its rows go to the writer (or it failed: they are dropped)."""
        del self.left[doc.id], self.sizes[doc.id]
        rows = self.rows.pop(doc.id)
        if doc.id in self.failed:
            self.job.chunks_done -= len(rows)
            await self.fail(doc, self.failed[doc.id])
        else:
            self.unfinal += 1
            await write_queue.put(('insert', doc, rows))

    async def _embed_batch(self, batch: list[tuple[Document, chunking.ChunkText]]) -> list:
        """Vectors for a batch of chunks (None for a failed document's). When a batch with several documents fails,
        it is embedded again document by document, so only the failing documents fail (their reasons are kept)."""
        if not batch:
            return []
        try:
            return await self._embed([p.text for _, p in batch])
        except (ServiceError, OllamaError) as exc:
            doc_ids = list(dict.fromkeys(d.id for d, _ in batch))  # a batch holds each document's chunks in a row
            if len(doc_ids) == 1:
                self.failed[doc_ids[0]] = exc.message
                return [None] * len(batch)
        vectors: list = []
        for doc_id in doc_ids:
            texts = [p.text for d, p in batch if d.id == doc_id]
            try:
                vectors += await self._embed(texts)
            except (ServiceError, OllamaError) as inner:
                self.failed[doc_id] = inner.message
                vectors += [None] * len(texts)
        return vectors

    async def _embed(self, texts: list[str]) -> list[list[float]]:
        response = await self.service.calls.embed(
            self.caller, Purpose.INGESTION, model=self.kb.embedding_model, inputs=texts, host=self.host
        )
        vectors = response.embeddings
        if any(len(v) != self.kb.dimension for v in vectors):
            raise InvalidInput(
                N_(
                    '{embedding_model} returned vectors of another dimension than the collection '
                    '({dimension}). Re-embed the knowledge base.',
                    embedding_model=self.kb.embedding_model,
                    dimension=self.kb.dimension,
                )
            )
        return [v if isinstance(v, list) else list(v) for v in vectors]

    # ----- 3. insert and flush ---------------------------------------------------------------------------------------
    async def _writer(self, write_queue: asyncio.Queue) -> None:
        rows: list[dict] = []  # waiting to be inserted
        waiting: list[Document] = []  # inserted (or about to be): final at the next flush
        unflushed, flushed_at = 0, time.monotonic()
        while (item := await write_queue.get()) is not None:
            if item[0] == 'delete':  # before any of these documents' new rows
                await self.store.delete_documents(self.name, item[1])
                continue
            _, doc, new = item
            rows += new
            waiting.append(doc)
            unflushed += len(new)
            if len(rows) >= INSERT_ROWS:
                rows = await self._insert(rows)
            if unflushed >= self.service.flush_rows or time.monotonic() - flushed_at >= FLUSH_SECONDS:
                rows = await self._insert(rows)
                await self._flush(waiting)
                waiting, unflushed, flushed_at = [], 0, time.monotonic()
        await self._insert(rows)
        await self._flush(waiting)

    async def _insert(self, rows: list[dict]) -> list[dict]:
        if rows:
            began = time.monotonic()
            await self.store.insert(self.name, rows)
            self.seconds['inserting'] += time.monotonic() - began
        return []

    async def _flush(self, documents: list[Document]) -> None:
        """Flush, and only then mark the documents embedded: a crash before this redoes them."""
        if not documents:
            return
        began = time.monotonic()
        await self.store.flush(self.name)
        self.seconds['flushing'] += time.monotonic() - began
        await db.update_rows(
            Document._meta.db_table, ('state', 'error', 'embedded_sha256', 'embedded_model'),
            [(DocState.EMBEDDED.value, None, d.sha256, self.kb.embedding_model, d.id) for d in documents],
        )  # fmt: skip
        self.job.docs_done += len(documents)
        self.unfinal -= len(documents)
        await self._tick(documents[-1].original_name, save=True)

    # ----- progress --------------------------------------------------------------------------------------------------
    async def fail(self, doc: Document, reason: str) -> None:
        await Document.filter(id=doc.id).update(state=DocState.FAILED, error=reason)
        self.job.docs_failed += 1
        await self._tick(doc.original_name, save=True)

    async def _tick(self, current: str, *, save: bool = False) -> None:
        """Progress after a batch: the event at most every EMIT_SECONDS, the job row at most every PROGRESS_SECONDS
        (and at every flush and failure, which change what is final)."""
        job, now = self.job, time.monotonic()
        job.docs_partial = self.unfinal + sum(1 - self.left[d] / n for d, n in self.sizes.items() if n)
        if save or now - self.last_save >= PROGRESS_SECONDS:
            self.last_save = now
            await job.save(update_fields=['docs_done', 'docs_failed', 'docs_skipped', 'chunks_done', 'docs_partial'])
        if now - self.last_emit >= EMIT_SECONDS:
            self.last_emit = now
            rate = job.chunks_done / max(now - self.started, 1e-6)
            self.service.progress.emit(_progress(job, rate=rate, current=current))
