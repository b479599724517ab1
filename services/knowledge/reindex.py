"""Re-indexing a knowledge base for keyword search, without re-embedding (issue 19 item 1).

Collections created before keyword search hold only ids, document ids and vectors. A re-index job creates a new
collection with the chunk texts and Milvus' BM25 function, copies every row over (its vector from the old collection,
its text from the chunks in the database: no embedding model is called), flushes, then swaps: the knowledge base
points at the new collection and the old one is dropped. Until the swap, searches use the old collection.

Jobs are claimed like ingestion jobs (services/core/claims.py): one process runs a job, renews its claim, and a job
whose process died is taken over by the next sweep; a job interrupted mid-copy starts its copy again (the new
collection is dropped and created afresh, so it never holds duplicates). Progress (rows copied of all rows) is
persisted and emitted to the knowledge base pages watching.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from nicegui import Event

from models import Chunk, IngestJob, KnowledgeBase, ReindexJob
from models.knowledge import JobState
from services.core import actions
from services.core.activity import ActivityService
from services.core.claims import Claims
from services.core.errors import Conflict, InvalidInput, ServiceError
from services.core.i18n import N_
from services.knowledge.bases import KnowledgeService, collection_name
from services.knowledge.vector_databases import VectorDatabaseService
from services.knowledge.vectors import clip_text

log = logging.getLogger(__name__)

ACTIVE = (JobState.QUEUED, JobState.RUNNING)
BATCH_ROWS = 1000
LEASE_SECONDS = 30.0
EMIT_SECONDS = 0.25


@dataclass(kw_only=True, slots=True)
class ReindexProgress:
    job_id: int
    kb_id: int
    state: str
    rows_total: int
    rows_done: int
    percent: float
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state not in ACTIVE


def _progress(job: ReindexJob) -> ReindexProgress:
    state = str(job.state.value if hasattr(job.state, 'value') else job.state)
    if state == JobState.DONE:
        percent = 100.0
    elif job.rows_total:
        percent = min(99.9, 100.0 * job.rows_done / job.rows_total)
    else:
        percent = 0.0
    return ReindexProgress(
        job_id=job.id, kb_id=job.kb_id, state=state, rows_total=job.rows_total,  # type: ignore[attr-defined]
        rows_done=job.rows_done, percent=round(percent, 1), error=job.error,
    )  # fmt: skip


def next_collection(kb_id: int, current: str) -> str:
    """kb_<id> → kb_<id>_v2 → kb_<id>_v3 …"""
    base = collection_name(kb_id)
    version = int(current.rsplit('_v', 1)[1]) if current.startswith(f'{base}_v') else 1
    return f'{base}_v{version + 1}'


class ReindexService:
    def __init__(
        self,
        knowledge: KnowledgeService,
        stores: VectorDatabaseService,
        activity: ActivityService,
        *,
        owner: str = '',
        lease_seconds: float = LEASE_SECONDS,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        self.knowledge = knowledge
        self.stores = stores
        self.activity = activity
        self.batch_rows = batch_rows
        self.progress: Event[ReindexProgress] = Event()
        self.owner = owner or uuid.uuid4().hex
        self.claims = Claims(ReindexJob, self.owner, lease_seconds, 're-index job', state__in=ACTIVE)
        self._tasks = self.claims.tasks  # job id → task, for the jobs running here

    # ----- for users ---------------------------------------------------------------------------------------------
    async def start(self, actor_id: int, kb_id: int) -> ReindexProgress:
        """Re-index a knowledge base for keyword search (its owner). Refused while it is being ingested, when it
        has nothing to re-index yet, or when it already has keyword search."""
        kb = await self.knowledge.editable_kb(actor_id, kb_id)
        if await ReindexJob.filter(kb_id=kb.id, state__in=ACTIVE).exists():
            raise Conflict(N_('This knowledge base is already being re-indexed.'))
        if await IngestJob.filter(kb_id=kb.id, state__in=ACTIVE).exists():
            raise Conflict(N_('An ingestion job is running for this knowledge base. Re-index once it has finished.'))
        if kb.dimension is None:
            raise InvalidInput(
                N_('Nothing to re-index yet: ingest the documents first (they get keyword search then).')
            )
        store = await self.stores.store_for(kb)
        if await store.has_keyword(kb.collection or collection_name(kb.id)):
            if not kb.keyword_index:
                kb.keyword_index = True
                await kb.save(update_fields=['keyword_index'])
            raise Conflict(N_('This knowledge base already has keyword search.'))
        job = await ReindexJob.create(
            kb_id=kb.id, user_id=actor_id, state=JobState.QUEUED, claimed_by=self.owner, lease_until=self.claims.lease()
        )
        self._launch(job.id)
        return _progress(job)

    async def latest(self, actor_id: int, kb_id: int) -> ReindexProgress | None:
        kb = await self.knowledge.readable_kb(actor_id, kb_id)
        job = await ReindexJob.filter(kb_id=kb.id).order_by('-id').first()
        return _progress(job) if job else None

    async def wait(self, job_id: int, limit_seconds: float = 60) -> ReindexProgress:
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.wait_for(asyncio.shield(task), limit_seconds)
        return _progress(await ReindexJob.get(id=job_id))

    # ----- claims: resumed after a restart, taken over from a process that died ----------------------------------
    async def resume_interrupted(self) -> list[int]:
        resumed = await self.claims.take_unclaimed(self.resume_interrupted)
        for job_id in resumed:
            log.info('resuming re-index job %s', job_id)
            self._launch(job_id)
        return resumed

    async def stop(self) -> None:
        await self.claims.stop()

    def _launch(self, job_id: int) -> None:
        self.claims.launch(job_id, self.run(job_id))

    # ----- the job -----------------------------------------------------------------------------------------------
    async def run(self, job_id: int) -> ReindexProgress:
        job = await ReindexJob.get(id=job_id)
        kb = await KnowledgeBase.get(id=job.kb_id)  # type: ignore[attr-defined]
        job.state, job.error = JobState.RUNNING, None
        await job.save()
        started = time.monotonic()
        try:
            await self._copy(job, kb)
        except asyncio.CancelledError:
            raise  # shutting down: the job stays 'running' and starts its copy again in the next process
        except ServiceError as exc:
            job.state, job.error = JobState.FAILED, exc.message
        except Exception as exc:
            log.exception('re-index job %s failed', job_id)
            job.state, job.error = JobState.FAILED, N_('Unexpected error: {exc}. See the server log.', exc=exc)
        else:
            job.state = JobState.DONE
        job.finished_at = datetime.now(UTC)
        await job.save()
        final = _progress(job)
        self.progress.emit(final)
        await self.activity.record(
            job.user_id, actions.KB_REINDEX, latency_ms=(time.monotonic() - started) * 1000, error=job.error,
            kb_id=kb.id, job_id=job.id, state=final.state, rows=job.rows_done,
        )  # fmt: skip
        return final

    async def _copy(self, job: ReindexJob, kb: KnowledgeBase) -> None:
        store = await self.stores.store_for(kb)
        source = job.source or kb.collection or collection_name(kb.id)
        target = job.target or next_collection(kb.id, source)
        if kb.collection == target and kb.keyword_index:  # interrupted after the swap: only the old one is left
            await store.drop_collection(source)
            return
        job.source, job.target = source, target
        job.rows_total, job.rows_done = await store.count(source), 0
        await job.save()
        self.progress.emit(_progress(job))
        await store.drop_collection(target)  # what an interrupted run of this job left: copied again from the start
        await store.create_collection(target, dimension=kb.dimension or 0, metric=kb.metric, model=kb.embedding_model)
        last_emit = 0.0
        async for rows in store.read_batches(source, self.batch_rows):
            texts = dict(await Chunk.filter(id__in=[r['id'] for r in rows]).values_list('id', 'text'))
            for row in rows:
                row['text'] = clip_text(texts.get(row['id'], ''))  # a chunk deleted meanwhile: no keyword hits
            await store.insert(target, rows)
            job.rows_done += len(rows)
            await job.save(update_fields=['rows_done'])
            if time.monotonic() - last_emit >= EMIT_SECONDS:
                last_emit = time.monotonic()
                self.progress.emit(_progress(job))
        await store.flush(target)
        # the swap: searches and ingestion use the new collection from now on
        kb.collection, kb.keyword_index = target, True
        await kb.save(update_fields=['collection', 'keyword_index'])
        await store.drop_collection(source)
        log.info('re-index job %d: %d rows copied %s → %s', job.id, job.rows_done, source, target)
