"""Knowledge bases and their documents: permissions, uploads, text extraction, chunk previews, deletion.

Visibility: private → the owner only (everyone else gets NotFound); public → everyone may read and query;
workshop → the owner, the people in that workshop (attendees, its owner and co-instructors) and admins; an instructor
who does not teach it gets NotFound. Who may see and who may share with a workshop is `services.core.sharing.Sharing`,
the one rule for every shared object. Only the owner changes a knowledge base, its documents or its ingestion.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nicegui import run

from models import Chunk, Document, IngestJob, KnowledgeBase
from models.knowledge import DocState, JobState, Visibility
from services.core import actions
from services.core.activity import ActivityService
from services.core.auth import AuthService, UserInfo
from services.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from services.core.i18n import N_
from services.core.membership import Membership
from services.core.sharing import Sharing
from services.core.workers import Budget, BudgetExceeded, WorkerPool
from services.core.workers import shared as shared_workers
from services.knowledge import chunking, extract
from services.knowledge.vector_databases import VectorDatabaseService
from services.knowledge.vectors import METRICS, CollectionStats

log = logging.getLogger(__name__)


@dataclass(kw_only=True, slots=True)
class KBInfo:
    id: int
    owner_id: int
    name: str
    description: str
    visibility: str
    workshop_id: int | None
    embedding_model: str
    dimension: int | None
    metric: str
    splitter: str
    chunk_size: int
    chunk_overlap: int
    collection: str
    vector_db_id: int | None = None  # None: the built-in vector store
    documents: int = 0
    can_edit: bool = False
    keyword_index: bool = False  # keyword (BM25) search: new collections have it; older ones after a re-index


@dataclass(kw_only=True, slots=True)
class DocInfo:
    id: int
    kb_id: int
    name: str
    mime: str
    size: int
    sha256: str
    state: str
    error: str | None
    chars: int
    chunks: int
    created_at: datetime


@dataclass(kw_only=True, slots=True)
class ChunkInfo:
    id: int
    document_id: int
    document_name: str
    index: int
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True, slots=True)
class UploadResult:
    name: str
    ok: bool
    message: str
    document_id: int | None = None


def collection_name(kb_id: int) -> str:
    return f'kb_{kb_id}'


def _kb_info(kb: KnowledgeBase, user: UserInfo, documents: int = 0) -> KBInfo:
    return KBInfo(
        id=kb.id,
        owner_id=kb.owner_id,  # type: ignore[attr-defined]
        name=kb.name,
        description=kb.description,
        visibility=str(kb.visibility.value if hasattr(kb.visibility, 'value') else kb.visibility),
        workshop_id=kb.workshop_id,
        embedding_model=kb.embedding_model,
        dimension=kb.dimension,
        metric=kb.metric,
        splitter=kb.splitter,
        chunk_size=kb.chunk_size,
        chunk_overlap=kb.chunk_overlap,
        collection=kb.collection or collection_name(kb.id),
        vector_db_id=kb.vector_db_id,
        documents=documents,
        can_edit=kb.owner_id == user.id,  # type: ignore[attr-defined]
        keyword_index=kb.keyword_index,
    )


def _doc_info(doc: Document) -> DocInfo:
    return DocInfo(
        id=doc.id,
        kb_id=doc.kb_id,  # type: ignore[attr-defined]
        name=doc.original_name,
        mime=doc.mime,
        size=doc.size,
        sha256=doc.sha256,
        state=str(doc.state.value if hasattr(doc.state, 'value') else doc.state),
        error=doc.error,
        chars=doc.chars,
        chunks=doc.chunk_count,
        created_at=doc.created_at,
    )


class KnowledgeService:
    def __init__(
        self,
        auth: AuthService,
        activity: ActivityService,
        stores: VectorDatabaseService,
        membership: Membership,
        uploads_dir: Path,
        max_upload_mb: int,
        *,
        max_files: int = 20,
        max_unpacked_mb: int = 100,
        max_members: int = 2000,
        budget: Budget | None = None,
        workers: WorkerPool | None = None,
    ) -> None:
        self.auth = auth
        self.activity = activity
        self.stores = stores  # the vector store of each knowledge base
        self.uploads_dir = uploads_dir
        self.max_bytes = max_upload_mb * 1024 * 1024
        self.max_files = max_files
        self.limits = extract.Limits(
            max_bytes=self.max_bytes, max_unpacked=max_unpacked_mb * extract.MB, max_members=max_members
        )
        # text extraction reads untrusted files: in a worker process of its own, within a memory and CPU budget
        self.budget = budget or Budget(memory_mb=768, cpu_seconds=10.0)
        self.extraction = workers or shared_workers(1, warm=extract.warm)
        self.membership = membership  # the workshops a user attends or teaches (knowledge bases shared with one)
        self.on_upload: list[Callable[[], Any]] = []  # called after documents were stored (ingestion warms up)
        self.sharing = Sharing(membership)  # who may see a shared object, who may share with a workshop

    # ----- permissions -------------------------------------------------------------------------------------------
    async def may_read(self, user: UserInfo, owner_id: int, visibility: str, workshop_id: int | None) -> bool:
        return await self.sharing.may_see(user, owner_id, visibility, workshop_id)

    async def _readable(self, user: UserInfo, kb_id: int) -> KnowledgeBase:
        kb = await KnowledgeBase.get_or_none(id=kb_id)
        if kb is None or not await self.may_read(user, kb.owner_id, kb.visibility, kb.workshop_id):  # type: ignore[attr-defined]
            raise NotFound(N_('Knowledge base not found.'))
        return kb

    async def _editable(self, user: UserInfo, kb_id: int) -> KnowledgeBase:
        kb = await self._readable(user, kb_id)
        if kb.owner_id != user.id:  # type: ignore[attr-defined]
            raise PermissionDenied(N_('Only the owner of this knowledge base can change it.'))
        return kb

    async def readable_kb(self, actor_id: int, kb_id: int) -> KnowledgeBase:
        """For sibling services (ingestion, RAG): the knowledge base if the actor may read it, else NotFound."""
        return await self._readable(await self.auth.require(actor_id), kb_id)

    async def editable_kb(self, actor_id: int, kb_id: int) -> KnowledgeBase:
        return await self._editable(await self.auth.require(actor_id), kb_id)

    # ----- knowledge bases ---------------------------------------------------------------------------------------
    async def create_kb(
        self,
        actor_id: int,
        *,
        name: str,
        embedding_model: str,
        description: str = '',
        visibility: str = 'private',
        workshop_id: int | None = None,
        metric: str = 'COSINE',
        splitter: str = 'sentence',
        chunk_size: int = 512,
        chunk_overlap: int = 64,
        vector_db_id: int | None = None,
        keyword_search: bool = True,
    ) -> KBInfo:
        """A new knowledge base. `keyword_search`: its collection also holds the chunk texts with Milvus' BM25 function
        (keyword and hybrid retrieval); it costs ingestion time in Milvus (docs/benchmarks.md)."""
        user = await self.auth.require(actor_id)
        name = ' '.join((name or '').split())
        if not 1 <= len(name) <= 120:
            raise InvalidInput(N_('Give the knowledge base a name of 1 to 120 characters.'))
        if not embedding_model.strip():
            raise InvalidInput(N_('Choose an embedding model.'))
        visibility = self._visibility(user, visibility, workshop_id)
        await self.sharing.check_share(user, visibility, workshop_id)
        if metric not in METRICS:
            raise InvalidInput(N_('Choose a metric: {METRICS}.', METRICS=', '.join(METRICS)))
        chunking.validate(splitter, chunk_size, chunk_overlap)
        vector_db_id = await self.stores.require_choice(vector_db_id)
        kb = await KnowledgeBase.create(
            owner_id=user.id,
            name=name,
            description=description[:2000],
            visibility=visibility,
            workshop_id=workshop_id if visibility == Visibility.WORKSHOP else None,
            embedding_model=embedding_model.strip(),
            metric=metric,
            splitter=splitter,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            vector_db_id=vector_db_id,
            keyword_index=bool(keyword_search),
        )
        kb.collection = collection_name(kb.id)
        await kb.save(update_fields=['collection'])
        return _kb_info(kb, user)

    @staticmethod
    def _visibility(user: UserInfo, visibility: str, workshop_id: int | None) -> str:
        if visibility not in {v.value for v in Visibility}:
            raise InvalidInput(N_('Visibility must be private, workshop or public.'))
        if visibility == Visibility.WORKSHOP and workshop_id is None:
            raise InvalidInput(N_('Choose the workshop to share this knowledge base with.'))
        return visibility

    async def update_kb(self, actor_id: int, kb_id: int, **changes: Any) -> tuple[KBInfo, bool]:
        """Change settings; returns the new info and whether the KB must be re-embedded (model, metric, chunks or
        vector database). Moving to another vector database drops the collection in the old one; the documents are
        then re-embedded into the new one by the next (rebuild) ingestion."""
        user = await self.auth.require(actor_id)
        kb = await self._editable(user, kb_id)
        allowed = {'name', 'description', 'visibility', 'workshop_id', 'embedding_model', 'metric', 'splitter'}
        allowed |= {'chunk_size', 'chunk_overlap', 'vector_db_id'}
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidInput(N_('Cannot change {unknown}.', unknown=', '.join(sorted(unknown))))
        if 'visibility' in changes or 'workshop_id' in changes:
            visibility = changes.get('visibility', kb.visibility)
            workshop_id = changes.get('workshop_id', kb.workshop_id)
            self._visibility(user, visibility, workshop_id)
            await self.sharing.check_share(user, visibility, workshop_id, current=(kb.visibility, kb.workshop_id))
        chunking.validate(
            changes.get('splitter', kb.splitter),
            changes.get('chunk_size', kb.chunk_size),
            changes.get('chunk_overlap', kb.chunk_overlap),
        )
        if changes.get('metric', kb.metric) not in METRICS:
            raise InvalidInput(N_('Choose a metric: {METRICS}.', METRICS=', '.join(METRICS)))
        moved = 'vector_db_id' in changes and changes['vector_db_id'] != kb.vector_db_id
        if moved:
            await self.stores.require_choice(changes['vector_db_id'])
            if await IngestJob.filter(kb_id=kb.id, state__in=(JobState.QUEUED, JobState.RUNNING)).exists():
                raise Conflict(
                    N_('An ingestion job is running for this knowledge base. Wait for it or cancel it first.')
                )
            old = await self.stores.store_for(kb)
            await old.drop_collection(kb.collection or collection_name(kb.id))
        rebuild = moved or any(changes.get(k, getattr(kb, k)) != getattr(kb, k) for k in ('embedding_model', 'metric'))
        rechunk = any(
            changes.get(k, getattr(kb, k)) != getattr(kb, k) for k in ('splitter', 'chunk_size', 'chunk_overlap')
        )
        for key, value in changes.items():
            setattr(kb, key, value.strip() if isinstance(value, str) else value)
        if rebuild:
            kb.dimension = None
        await kb.save()
        if (rechunk and not rebuild) or moved:
            await Document.filter(kb_id=kb.id).update(embedded_sha256=None)
        return _kb_info(kb, user), rebuild or rechunk

    async def list_kbs(self, actor_id: int) -> list[KBInfo]:
        user = await self.auth.require(actor_id)
        rows = await KnowledgeBase.filter(await self.sharing.visible_q(user)).order_by('name')
        counts: dict[int, int] = {}
        for row in await Document.filter(kb_id__in=[r.id for r in rows]).values('kb_id'):
            counts[row['kb_id']] = counts.get(row['kb_id'], 0) + 1
        return [_kb_info(kb, user, counts.get(kb.id, 0)) for kb in rows]

    async def get_kb(self, actor_id: int, kb_id: int) -> KBInfo:
        user = await self.auth.require(actor_id)
        kb = await self._readable(user, kb_id)
        return _kb_info(kb, user, await Document.filter(kb_id=kb.id).count())

    async def delete_kb(self, actor_id: int, kb_id: int) -> None:
        user = await self.auth.require(actor_id)
        kb = await self._editable(user, kb_id)
        names = await Document.filter(kb_id=kb.id).values_list('stored_name', 'text_name')
        store = await self.stores.store_for(kb)
        await store.drop_collection(kb.collection or collection_name(kb.id))
        await kb.delete()
        for stored, text in names:
            self._unlink(stored, text)

    async def collection_stats(self, actor_id: int, kb_id: int) -> CollectionStats:
        """The vector collection of a knowledge base, in whichever vector database it uses."""
        kb = await self._readable(await self.auth.require(actor_id), kb_id)
        store = await self.stores.store_for(kb)
        return await store.stats(kb.collection or collection_name(kb.id))

    # ----- documents ---------------------------------------------------------------------------------------------
    async def upload(self, actor_id: int, kb_id: int, files: list[tuple[str, bytes]]) -> list[UploadResult]:
        """Store many files at once. Each file is checked and extracted before anything is written; a refused file
        leaves nothing behind and does not stop the others."""
        user = await self.auth.require(actor_id)
        kb = await self._editable(user, kb_id)
        if not 1 <= len(files) <= self.max_files:
            raise InvalidInput(N_('Upload between 1 and {max_files} files at once.', max_files=self.max_files))
        results = []
        for name, data in files:
            shown = extract.clean_name(name)
            try:
                doc = await self._store(kb, name, data)
            except (InvalidInput, Conflict) as exc:
                results.append(UploadResult(name=shown, ok=False, message=exc.message))
                await self.activity.record(
                    user.id, actions.DOCUMENT_UPLOAD, error=exc.message, kb_id=kb.id, size=len(data)
                )
                continue
            results.append(UploadResult(name=shown, ok=True, message=f'"{shown}" uploaded.', document_id=doc.id))
            await self.activity.record(
                user.id, actions.DOCUMENT_UPLOAD, kb_id=kb.id, document_id=doc.id, size=doc.size, mime=doc.mime
            )
        if any(r.ok for r in results):
            for listener in self.on_upload:
                listener()
        return results

    async def _store(self, kb: KnowledgeBase, name: str, data: bytes) -> Document:
        shown = extract.clean_name(name)
        if len(data) > self.max_bytes:  # refuse before hashing or parsing anything
            raise InvalidInput(extract.too_large(shown, len(data), self.max_bytes))
        digest = hashlib.sha256(data).hexdigest()
        if await Document.filter(kb_id=kb.id, sha256=digest).exists():
            raise Conflict(N_('"{shown}" is already in this knowledge base (same content).', shown=shown))
        extracted = await self._extract(shown, name, data)
        stem = uuid.uuid4().hex
        stored, text_name = f'{stem}.bin', f'{stem}.txt'
        try:
            self.uploads_dir.mkdir(parents=True, exist_ok=True)
            await run.io_bound(self._write, stored, data, text_name, extracted.text)
            return await Document.create(
                kb_id=kb.id,
                original_name=shown,
                stored_name=stored,
                mime=extracted.mime,
                size=len(data),
                sha256=digest,
                state=DocState.PARSED,
                text_name=text_name,
                chars=len(extracted.text),
            )
        except Exception:
            self._unlink(stored, text_name)
            raise

    async def _extract(self, shown: str, name: str, data: bytes) -> extract.Extracted:
        """The text of one file, extracted in the extraction worker within its memory and CPU budget."""
        try:
            return await self.extraction.run_budgeted(self.budget, extract.extract, name, data, self.limits)
        except BudgetExceeded as exc:
            log.warning('extraction of an upload went over its %s budget and was stopped', exc.what)
            if exc.what == 'memory':
                raise InvalidInput(
                    N_(
                        '"{shown}" needs more than {memory_mb} MB of memory to read (a decompression bomb?) '
                        'and was refused. Save a simpler document and try again.',
                        shown=shown,
                        memory_mb=self.budget.memory_mb,
                    )
                ) from None
            raise InvalidInput(
                N_(
                    '"{shown}" takes more than {cpu_seconds:g} seconds to read and was refused. Save a '
                    'simpler document (or split it) and try again.',
                    shown=shown,
                    cpu_seconds=self.budget.cpu_seconds,
                )
            ) from None

    def _write(self, stored: str, data: bytes, text_name: str, text: str) -> None:
        (self.uploads_dir / stored).write_bytes(data)
        (self.uploads_dir / text_name).write_text(text, encoding='utf-8')

    def _unlink(self, *names: str | None) -> None:
        for name in names:
            if name:
                (self.uploads_dir / Path(name).name).unlink(missing_ok=True)

    async def list_documents(self, actor_id: int, kb_id: int) -> list[DocInfo]:
        user = await self.auth.require(actor_id)
        kb = await self._readable(user, kb_id)
        return [_doc_info(d) for d in await Document.filter(kb_id=kb.id).order_by('id')]

    async def _document(self, user: UserInfo, document_id: int, *, edit: bool = False) -> Document:
        doc = await Document.get_or_none(id=document_id)
        if doc is None:
            raise NotFound(N_('Document not found.'))
        try:
            await (self._editable if edit else self._readable)(user, doc.kb_id)  # type: ignore[attr-defined]
        except NotFound:
            raise NotFound(N_('Document not found.')) from None
        return doc

    async def get_document(self, actor_id: int, document_id: int) -> DocInfo:
        """One document (its state and, when it failed, why) if the actor may read its knowledge base."""
        return _doc_info(await self._document(await self.auth.require(actor_id), document_id))

    async def document_text(self, actor_id: int, document_id: int) -> str:
        doc = await self._document(await self.auth.require(actor_id), document_id)
        return await run.io_bound(self.read_text, doc.text_name)

    async def document_file(self, actor_id: int, document_id: int) -> tuple[str, bytes]:
        """The name and the original bytes of an uploaded document (readers of its knowledge base; templates)."""
        doc = await self._document(await self.auth.require(actor_id), document_id)
        path = self.uploads_dir / Path(doc.stored_name or 'missing').name
        if not path.is_file():
            raise NotFound(
                N_('The file of "{original_name}" is missing from the uploads.', original_name=doc.original_name)
            )
        return doc.original_name, await run.io_bound(path.read_bytes)

    def text_path(self, text_name: str | None) -> Path:
        """Where a document's extracted text is stored (a name with no directory part, inside the uploads)."""
        return self.uploads_dir / Path(text_name or 'missing').name

    def read_text(self, text_name: str | None) -> str:
        path = self.text_path(text_name)
        return path.read_text(encoding='utf-8') if text_name and path.is_file() else ''

    async def document_chunks(self, actor_id: int, document_id: int) -> list[ChunkInfo]:
        doc = await self._document(await self.auth.require(actor_id), document_id)
        rows = await Chunk.filter(document_id=doc.id).order_by('index')
        return [
            ChunkInfo(
                id=c.id,
                document_id=doc.id,
                document_name=doc.original_name,
                index=c.index,
                text=c.text,
                metadata=c.metadata,
            )
            for c in rows
        ]

    async def preview_chunks(
        self, actor_id: int, document_id: int, *, splitter: str, size: int, overlap: int, limit: int = 50
    ) -> tuple[int, list[chunking.ChunkText]]:
        """The chunks a setting would produce on a document: (total count, the first `limit`)."""
        doc = await self._document(await self.auth.require(actor_id), document_id)
        chunking.validate(splitter, size, overlap)
        text = await run.io_bound(self.read_text, doc.text_name)
        pieces = await run.io_bound(chunking.split, text, splitter, size, overlap)
        return len(pieces), pieces[:limit]

    async def delete_document(self, actor_id: int, document_id: int) -> None:
        user = await self.auth.require(actor_id)
        doc = await self._document(user, document_id, edit=True)
        kb = await KnowledgeBase.get(id=doc.kb_id)  # type: ignore[attr-defined]
        store = await self.stores.store_for(kb)
        await store.delete_documents(kb.collection or collection_name(kb.id), [doc.id])
        await doc.delete()
        self._unlink(doc.stored_name, doc.text_name)

    async def chunks_by_id(self, chunk_ids: list[int]) -> dict[int, ChunkInfo]:
        """Chunks for search hits (the caller has already checked access to their knowledge bases)."""
        rows = await Chunk.filter(id__in=chunk_ids).values(
            'id', 'document_id', 'index', 'text', 'metadata', 'document__original_name'
        )
        return {
            r['id']: ChunkInfo(
                id=r['id'],
                document_id=r['document_id'],
                document_name=r['document__original_name'],
                index=r['index'],
                text=r['text'],
                metadata=r['metadata'] or {},
            )
            for r in rows
        }
