"""Knowledge bases, their documents and chunks, ingestion jobs, RAG systems and their evaluations."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Visibility(StrEnum):
    PRIVATE = 'private'
    WORKSHOP = 'workshop'
    PUBLIC = 'public'


class DocState(StrEnum):
    UPLOADED = 'uploaded'
    PARSED = 'parsed'
    CHUNKED = 'chunked'
    EMBEDDED = 'embedded'
    FAILED = 'failed'


class JobState(StrEnum):
    QUEUED = 'queued'
    RUNNING = 'running'
    DONE = 'done'
    CANCELLED = 'cancelled'
    FAILED = 'failed'


class VectorDatabase(Model):
    """A Milvus server an admin registered; knowledge bases may keep their vectors there (services.vector_databases)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=80, unique=True)
    uri = fields.CharField(max_length=300)
    token = fields.CharField(max_length=500, default='')  # never shown back: only whether one is set
    created_by = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'vector_databases'


class KnowledgeBase(Model):
    id = fields.IntField(primary_key=True)
    owner = fields.ForeignKeyField('models.User', related_name='knowledge_bases', on_delete=fields.CASCADE)
    name = fields.CharField(max_length=120)
    description = fields.TextField(default='')
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.PRIVATE)
    workshop_id = fields.IntField(null=True, db_index=True)
    embedding_model = fields.CharField(max_length=200)
    dimension = fields.IntField(null=True)
    metric = fields.CharField(max_length=16, default='COSINE')
    splitter = fields.CharField(max_length=16, default='sentence')
    chunk_size = fields.IntField(default=512)
    chunk_overlap = fields.IntField(default=64)
    collection = fields.CharField(max_length=120, null=True)
    vector_db_id = fields.IntField(null=True, db_index=True)  # NULL: the built-in store from the environment
    # the collection holds the chunk texts and Milvus' BM25 function (keyword search); older ones gain it by re-indexing
    keyword_index = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'knowledge_bases'


class Document(Model):
    id = fields.IntField(primary_key=True)
    kb = fields.ForeignKeyField('models.KnowledgeBase', related_name='documents', on_delete=fields.CASCADE)
    original_name = fields.CharField(max_length=255)
    stored_name = fields.CharField(max_length=80, unique=True)
    mime = fields.CharField(max_length=100)
    size = fields.IntField()
    sha256 = fields.CharField(max_length=64, db_index=True)
    state = fields.CharEnumField(DocState, max_length=16, default=DocState.UPLOADED)
    error = fields.TextField(null=True)
    text_name = fields.CharField(max_length=80, null=True)
    chars = fields.IntField(default=0)
    chunk_count = fields.IntField(default=0)
    embedded_sha256 = fields.CharField(max_length=64, null=True)
    embedded_model = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'documents'


class Chunk(Model):
    id = fields.BigIntField(primary_key=True)
    document = fields.ForeignKeyField('models.Document', related_name='chunks', on_delete=fields.CASCADE)
    kb_id = fields.IntField(db_index=True)
    index = fields.IntField()
    text = fields.TextField()
    metadata = fields.JSONField(default=dict)

    class Meta:
        table = 'chunks'
        unique_together = (('document', 'index'),)


class IngestJob(Model):
    id = fields.IntField(primary_key=True)
    kb = fields.ForeignKeyField('models.KnowledgeBase', related_name='jobs', on_delete=fields.CASCADE)
    user_id = fields.IntField(null=True)
    state = fields.CharEnumField(JobState, max_length=16, default=JobState.QUEUED)
    rebuild = fields.BooleanField(default=False)
    docs_total = fields.IntField(default=0)
    docs_done = fields.IntField(default=0)
    docs_failed = fields.IntField(default=0)
    docs_skipped = fields.IntField(default=0)
    chunks_done = fields.IntField(default=0)
    # documents embedded but not final yet (their vectors wait for the flush), fractions for those under way: progress
    docs_partial = fields.FloatField(default=0)
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # the app process running the job and until when its claim holds (renewed while it runs): another process takes
    # over a job whose claim ran out (its process died), never one whose claim holds
    claimed_by = fields.CharField(max_length=32, null=True)
    lease_until = fields.DatetimeField(null=True)

    class Meta:
        table = 'ingest_jobs'


class ReindexJob(Model):
    """Re-indexing a knowledge base for keyword search (services.knowledge.reindex): the vectors are copied, with the
    chunk texts, into a new collection with Milvus' BM25 function, which then replaces the old one. No re-embedding."""

    id = fields.IntField(primary_key=True)
    kb = fields.ForeignKeyField('models.KnowledgeBase', related_name='reindex_jobs', on_delete=fields.CASCADE)
    user_id = fields.IntField(null=True)
    state = fields.CharEnumField(JobState, max_length=16, default=JobState.QUEUED)
    source = fields.CharField(max_length=120, default='')  # the collection copied from
    target = fields.CharField(max_length=120, default='')  # the collection copied to
    rows_total = fields.IntField(default=0)
    rows_done = fields.IntField(default=0)
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)
    claimed_by = fields.CharField(max_length=32, null=True)
    lease_until = fields.DatetimeField(null=True)

    class Meta:
        table = 'reindex_jobs'


class RagSystem(Model):
    id = fields.IntField(primary_key=True)
    owner = fields.ForeignKeyField('models.User', related_name='rag_systems', on_delete=fields.CASCADE)
    name = fields.CharField(max_length=120)
    kb_ids = fields.JSONField(default=list)
    embedding_model = fields.CharField(max_length=200)
    chat_model = fields.CharField(max_length=200)
    prompt_template = fields.TextField()
    top_k = fields.IntField(default=4)
    threshold = fields.FloatField(default=0.0)
    document_ids = fields.JSONField(default=list)
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.PRIVATE)
    workshop_id = fields.IntField(null=True, db_index=True)
    # retrieval (services.knowledge.retrievers): dense, keyword (BM25) or hybrid, fused by RRF or weights
    retrieval_mode = fields.CharField(max_length=16, default='dense')
    fusion = fields.CharField(max_length=16, default='rrf')
    rrf_k = fields.IntField(default=60)
    dense_weight = fields.FloatField(default=0.5)  # weighted fusion: dense x w + keyword x (1 - w)
    candidates = fields.IntField(default=10)  # per retriever, before fusion (and reranking)
    rerank = fields.BooleanField(default=False)  # an LLM reranks the fused candidates (the chat model)
    rerank_model = fields.CharField(max_length=200, default='')  # empty: the chat model
    rerank_candidates = fields.IntField(default=10)  # top-k before reranking; top_k after
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'rag_systems'


class EvalSet(Model):
    id = fields.IntField(primary_key=True)
    owner = fields.ForeignKeyField('models.User', related_name='eval_sets', on_delete=fields.CASCADE)
    rag = fields.ForeignKeyField('models.RagSystem', related_name='eval_sets', on_delete=fields.CASCADE)
    name = fields.CharField(max_length=120)
    questions = fields.JSONField(default=list)  # [{question, expected_document, expected_keywords: [..]}]
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'eval_sets'


class EvalRun(Model):
    id = fields.IntField(primary_key=True)
    eval_set = fields.ForeignKeyField('models.EvalSet', related_name='runs', on_delete=fields.CASCADE)
    rag_id = fields.IntField()
    summary = fields.JSONField(default=dict)
    results = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'eval_runs'
