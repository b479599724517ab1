"""/api/v1/knowledge: knowledge bases you can see, their documents (multipart upload) and background ingestion."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, UploadFile
from pydantic import BaseModel, Field

from api.deps import Actor, Authenticator, Page, PageParams, page_params, paginate
from api.problems import problem_responses
from api.schemas import Deleted
from services.core.errors import InvalidInput, NotFound
from services.core.i18n import N_
from services.wiring import Services

MAX_FILES = 100


class KnowledgeBaseOut(BaseModel):
    id: int
    owner_id: int
    name: str
    description: str
    visibility: str
    workshop_id: int | None
    embedding_model: str
    dimension: int | None = Field(description='Set once the first document has been embedded.')
    metric: str
    splitter: str
    chunk_size: int
    chunk_overlap: int
    vector_db_id: int | None = Field(
        description='Where the vectors are kept (see /api/v1/vector-databases); None: the built-in store.'
    )
    documents: int
    can_edit: bool
    keyword_index: bool = Field(
        description='Keyword (BM25) search available; an older knowledge base gains it by POST …/reindex.'
    )


class JobOut(BaseModel):
    job_id: int
    kb_id: int
    state: str = Field(description='queued, running, done, failed or cancelled.')
    docs_total: int
    docs_done: int
    docs_failed: int
    docs_skipped: int
    chunks_done: int
    percent: float
    rate: float = Field(description='Chunks embedded per second.')
    error: str | None
    finished: bool


class KnowledgeStats(BaseModel):
    documents: int
    by_state: dict[str, int] = Field(description='Documents per state (uploaded, parsed, embedded, failed, ...).')
    chunks: int
    chars: int
    bytes: int


class KnowledgeBaseDetail(KnowledgeBaseOut):
    stats: KnowledgeStats
    latest_job: JobOut | None


class KnowledgeBaseIn(BaseModel):
    name: str = Field(max_length=120, examples=['Course notes'])
    embedding_model: str = Field(min_length=1, max_length=200, examples=['nomic-embed-text'])
    description: str = Field('', max_length=2000)
    visibility: Literal['private', 'workshop', 'public'] = 'private'
    workshop_id: int | None = Field(None, description='With visibility "workshop": the workshop to share with.')
    metric: str = Field('COSINE', description='COSINE, L2 or IP.')
    splitter: str = Field('sentence', description='How documents are cut into chunks.')
    chunk_size: int = 512
    chunk_overlap: int = 64
    vector_db_id: int | None = Field(
        None, description='A vector database id from /api/v1/vector-databases; None: the built-in store.'
    )
    keyword_search: bool = Field(
        True, description="Keep the chunk texts with Milvus' BM25 function too: keyword and hybrid retrieval."
    )


class KnowledgeBaseUpdate(BaseModel):
    name: str | None = Field(None, max_length=120)
    description: str | None = Field(None, max_length=2000)
    visibility: Literal['private', 'workshop', 'public'] | None = None
    workshop_id: int | None = None
    embedding_model: str | None = Field(None, min_length=1, max_length=200)
    metric: str | None = None
    splitter: str | None = None
    chunk_size: int | None = None
    chunk_overlap: int | None = None
    vector_db_id: int | None = Field(
        None,
        description='Move to this vector database (null: the built-in store). The old collection is dropped '
        'and a rebuild ingestion job re-embeds the documents into the new one.',
    )


class KnowledgeBaseUpdated(KnowledgeBaseOut):
    reembed_needed: bool = Field(description='The model, metric or chunking changed: start a rebuild ingestion.')
    job: JobOut | None = Field(description='The rebuild job started because the vector database changed.')


class DocumentOut(BaseModel):
    id: int
    kb_id: int
    name: str
    mime: str
    size: int
    sha256: str
    state: str
    error: str | None = Field(description='Why the document failed, when it did.')
    chars: int
    chunks: int
    created_at: datetime


class UploadOut(BaseModel):
    name: str
    ok: bool
    message: str
    document_id: int | None


class IngestIn(BaseModel):
    rebuild: bool = Field(False, description='Re-embed every document, not only new or changed ones.')


class Cancelled(BaseModel):
    cancelled: bool = Field(description='False when no job was running.')


def _job(progress) -> dict:
    return progress.to_dict() | {'finished': progress.finished}


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/api/v1/knowledge', tags=['knowledge bases'])
    actor = Authenticator(services)
    knowledge, ingest = services.knowledge, services.ingest
    one = problem_responses(401, 404)

    @router.get(
        '',
        summary='List knowledge bases you can see (yours, shared and public)',
        response_model=Page[KnowledgeBaseOut],
        responses=problem_responses(401),
    )
    async def list_kbs(user: Annotated[Actor, Depends(actor)], page: Annotated[PageParams, Depends(page_params)]):
        return paginate(await knowledge.list_kbs(user.id), page)

    @router.post(
        '',
        summary='Create a knowledge base',
        response_model=KnowledgeBaseOut,
        status_code=201,
        responses=problem_responses(401, 422),
    )
    async def create_kb(body: KnowledgeBaseIn, user: Annotated[Actor, Depends(actor)]):
        return await knowledge.create_kb(user.id, **body.model_dump())

    @router.get(
        '/{kb_id}',
        summary='A knowledge base with document statistics and its latest ingestion job',
        response_model=KnowledgeBaseDetail,
        responses=one,
    )
    async def get_kb(kb_id: int, user: Annotated[Actor, Depends(actor)]):
        info = await knowledge.get_kb(user.id, kb_id)
        docs = await knowledge.list_documents(user.id, kb_id)
        by_state: dict[str, int] = {}
        for doc in docs:
            by_state[doc.state] = by_state.get(doc.state, 0) + 1
        stats = {
            'documents': len(docs),
            'by_state': by_state,
            'chunks': sum(d.chunks for d in docs),
            'chars': sum(d.chars for d in docs),
            'bytes': sum(d.size for d in docs),
        }
        latest = await ingest.latest(user.id, kb_id)
        base = KnowledgeBaseOut.model_validate(info, from_attributes=True).model_dump()
        return base | {'stats': stats, 'latest_job': _job(latest) if latest else None}

    @router.patch(
        '/{kb_id}',
        summary='Change a knowledge base (owner only); moving it to another vector database re-embeds it',
        description='Only the fields given are changed. With a new vector_db_id the collection in the old vector '
        'database is dropped and a rebuild ingestion job starts at once (answered as `job`).',
        response_model=KnowledgeBaseUpdated,
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def update_kb(kb_id: int, body: KnowledgeBaseUpdate, user: Annotated[Actor, Depends(actor)]):
        before = await knowledge.get_kb(user.id, kb_id)
        nullable = {'workshop_id', 'vector_db_id'}
        changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None or k in nullable}
        info, rebuild = await knowledge.update_kb(user.id, kb_id, **changes)
        job = None
        if info.vector_db_id != before.vector_db_id:
            job = _job(await ingest.start(user.id, kb_id, rebuild=True))
        base = KnowledgeBaseOut.model_validate(info, from_attributes=True).model_dump()
        return base | {'reembed_needed': rebuild and job is None, 'job': job}

    @router.delete(
        '/{kb_id}',
        summary='Delete a knowledge base, its documents and vectors (owner only)',
        response_model=Deleted,
        responses=problem_responses(401, 403, 404),
    )
    async def delete_kb(kb_id: int, user: Annotated[Actor, Depends(actor)]):
        await knowledge.delete_kb(user.id, kb_id)
        return Deleted()

    # ----- documents -------------------------------------------------------------------------------------------------
    @router.post(
        '/{kb_id}/documents',
        summary='Upload documents (multipart, field "files"; owner only). Each file is checked on its own',
        description='Answers the outcome of each file. When no file was accepted, answers 422 with the reasons '
        '(too large, a type the extension does not match, a duplicate, ...); a refused file stores nothing.',
        response_model=list[UploadOut],
        status_code=201,
        responses=problem_responses(401, 403, 404, 422),
    )
    async def upload(
        kb_id: int,
        user: Annotated[Actor, Depends(actor)],
        files: Annotated[list[UploadFile], File(description='One or more files (PDF, text, Markdown, ...).')],
    ):
        if not 1 <= len(files) <= MAX_FILES:
            raise InvalidInput(N_('Upload between 1 and {MAX_FILES} files at once.', MAX_FILES=MAX_FILES))
        # read one byte past the limit at most: the service refuses what is too large without holding it all
        limit = knowledge.max_bytes + 1
        contents = [(f.filename or 'upload', await f.read(limit)) for f in files]
        results = await knowledge.upload(user.id, kb_id, contents)
        if not any(r.ok for r in results):
            raise InvalidInput(' '.join(r.message for r in results))
        return results

    @router.get(
        '/{kb_id}/documents',
        summary='The documents of a knowledge base with their state',
        response_model=Page[DocumentOut],
        responses=one,
    )
    async def list_documents(
        kb_id: int, user: Annotated[Actor, Depends(actor)], page: Annotated[PageParams, Depends(page_params)]
    ):
        return paginate(await knowledge.list_documents(user.id, kb_id), page)

    @router.get(
        '/{kb_id}/documents/{document_id}',
        summary='One document: its state and, when it failed, why',
        response_model=DocumentOut,
        responses=one,
    )
    async def get_document(kb_id: int, document_id: int, user: Annotated[Actor, Depends(actor)]):
        doc = await knowledge.get_document(user.id, document_id)
        if doc.kb_id != kb_id:
            raise NotFound(N_('Document not found.'))
        return doc

    @router.delete(
        '/{kb_id}/documents/{document_id}',
        summary='Delete a document and its vectors (owner only)',
        response_model=Deleted,
        responses=problem_responses(401, 403, 404),
    )
    async def delete_document(kb_id: int, document_id: int, user: Annotated[Actor, Depends(actor)]):
        if (await knowledge.get_document(user.id, document_id)).kb_id != kb_id:
            raise NotFound(N_('Document not found.'))
        await knowledge.delete_document(user.id, document_id)
        return Deleted()

    # ----- ingestion -------------------------------------------------------------------------------------------------
    @router.post(
        '/{kb_id}/ingest',
        summary='Start ingesting (chunk and embed) the documents in the background (owner only)',
        response_model=JobOut,
        status_code=202,
        responses=problem_responses(401, 403, 404, 409),
    )
    async def start_ingest(kb_id: int, user: Annotated[Actor, Depends(actor)], body: IngestIn | None = None):
        return _job(await ingest.start(user.id, kb_id, rebuild=bool(body and body.rebuild)))

    @router.get(
        '/{kb_id}/ingest',
        summary='Progress of the latest ingestion job',
        response_model=JobOut,
        responses=one,
    )
    async def ingest_progress(kb_id: int, user: Annotated[Actor, Depends(actor)]):
        latest = await ingest.latest(user.id, kb_id)
        if latest is None:
            raise NotFound(N_('This knowledge base has not been ingested yet.'))
        return _job(latest)

    @router.post(
        '/{kb_id}/ingest/cancel',
        summary='Cancel the running ingestion job (owner only)',
        response_model=Cancelled,
        responses=problem_responses(401, 403, 404),
    )
    async def cancel_ingest(kb_id: int, user: Annotated[Actor, Depends(actor)]):
        return Cancelled(cancelled=await ingest.cancel(user.id, kb_id))

    # ----- re-indexing for keyword search ----------------------------------------------------------------------------
    @router.post(
        '/{kb_id}/reindex',
        summary='Re-index for keyword (BM25) search in the background, without re-embedding (owner only)',
        response_model=ReindexOut,
        status_code=202,
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def start_reindex(kb_id: int, user: Annotated[Actor, Depends(actor)]):
        return _reindex(await services.reindex.start(user.id, kb_id))

    @router.get('/{kb_id}/reindex', summary='Progress of the latest re-index job', response_model=ReindexOut,
                responses=one)  # fmt: skip
    async def reindex_progress(kb_id: int, user: Annotated[Actor, Depends(actor)]):
        latest = await services.reindex.latest(user.id, kb_id)
        if latest is None:
            raise NotFound(N_('This knowledge base has not been re-indexed.'))
        return _reindex(latest)

    return router


class ReindexOut(BaseModel):
    job_id: int
    kb_id: int
    state: str = Field(description='queued, running, done or failed.')
    rows_total: int = Field(description='Vectors to copy (with their texts) into the new collection.')
    rows_done: int
    percent: float
    error: str | None
    finished: bool


def _reindex(progress) -> ReindexOut:
    return ReindexOut(
        job_id=progress.job_id, kb_id=progress.kb_id, state=progress.state, rows_total=progress.rows_total,
        rows_done=progress.rows_done, percent=progress.percent, error=progress.error, finished=progress.finished,
    )  # fmt: skip
