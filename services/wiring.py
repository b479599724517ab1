"""Async domain services. Built once in app.py (the composition root) and handed to pages and API routers."""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from services.chat.conversations import ChatService
from services.chat.inference import ChatLimits, InferenceService
from services.chat.tool_loop import ToolLoop
from services.core.activity import ActivityService
from services.core.activity_reader import ActivityReader
from services.core.audit import AuditService
from services.core.auth import AuthService
from services.core.quotas import QuotaService
from services.core.sharing import Sharing
from services.core.sso import SSOService, parse_role_map
from services.core.tokens import TokenService
from services.core.workers import shared as shared_workers
from services.knowledge import chunking
from services.knowledge.bases import KnowledgeService
from services.knowledge.embeddings import EmbeddingsService
from services.knowledge.evaluation import EvalService
from services.knowledge.ingest import IngestService
from services.knowledge.rag import RagService
from services.knowledge.search_tool import register_knowledge_search
from services.knowledge.vector_databases import VectorDatabaseService
from services.knowledge.vectors import VectorStore
from services.models.catalog import ModelCatalog
from services.models.catalogue import Catalogue
from services.models.client import OllamaGateway
from services.models.health import HealthMonitor
from services.models.hosts import HostDirectory
from services.prompts.library import PromptService
from services.prompts.runs import PromptRunService
from services.tools.builtins import BuiltinRegistry, default_registry
from services.tools.library import ToolService
from services.workshops.service import WorkshopService


@dataclass(kw_only=True, slots=True)
class Services:
    settings: Settings
    auth: AuthService
    activity: ActivityService
    ollama: OllamaGateway
    hosts: HostDirectory
    health: HealthMonitor
    vectors: VectorStore  # the built-in store (MILVUS_URI); also what /health/ready checks
    vector_databases: VectorDatabaseService
    catalogue: Catalogue
    chat: ChatService
    audit: AuditService
    tokens: TokenService
    quotas: QuotaService
    inference: InferenceService
    catalog: ModelCatalog
    sso: SSOService
    activity_reader: ActivityReader
    workshops: WorkshopService
    sharing: Sharing
    prompts: PromptService
    prompt_runs: PromptRunService
    builtin_tools: BuiltinRegistry
    tools: ToolService
    tool_loop: ToolLoop
    knowledge: KnowledgeService
    ingest: IngestService
    embeddings: EmbeddingsService
    rag: RagService
    evals: EvalService


def build_services(settings: Settings) -> Services:
    gateway = OllamaGateway(timeout=settings.ollama_timeout, connect_timeout=settings.ollama_connect_timeout)
    auth = AuthService(
        min_password_length=settings.password_min_length,
        max_failures=settings.login_max_failures,
        window_seconds=settings.login_window_seconds,
        signup_open_default=settings.signup_open_default,
    )
    audit = AuditService(auth)
    auth.audit_hook = audit.record
    activity = ActivityService()
    hosts = HostDirectory(gateway, settings.ollama_hosts, auth=auth)
    catalogue = Catalogue(
        gateway, hosts, auth, activity, refresh_interval=settings.catalogue_refresh_interval, audit=audit
    )
    health = HealthMonitor(gateway, hosts.urls, settings.ollama_health_interval)
    quotas = QuotaService(auth, audit)
    vectors = VectorStore(settings.milvus_location, settings.milvus_token, lite_process=settings.milvus_lite_process)
    vector_databases = VectorDatabaseService(auth, audit, vectors)
    knowledge = KnowledgeService(auth, activity, vector_databases, settings.uploads_dir, settings.max_upload_mb)
    rag = RagService(auth, knowledge, vector_databases, gateway, hosts, activity)
    rag.quotas = quotas

    sharing = Sharing()
    prompts = PromptService(auth, activity, sharing)
    builtins = default_registry()
    tools = ToolService(
        auth=auth,
        activity=activity,
        sharing=sharing,
        builtins=builtins,
        http_timeout=settings.tool_http_timeout,
        http_max_bytes=settings.tool_http_max_kb * 1024,
    )
    workshops = WorkshopService(
        auth=auth,
        activity=activity,
        ollama=gateway,
        hosts=hosts,
        join_max_failures=settings.join_max_failures,
        join_window_seconds=settings.login_window_seconds,
        sample_seconds=settings.workshop_sample_seconds,
        gc_freeze=settings.workshop_gc_freeze,
    )
    quotas.workshop_of = workshops.workshop_of  # workshop quotas apply to the workshop a user is in
    sharing.workshops_of = workshops.workshop_ids_of  # prompts and tools shared with a workshop reach its people
    knowledge.workshops_of = workshops.workshop_ids_of  # so do knowledge bases
    embeddings = EmbeddingsService(auth, knowledge, vector_databases, gateway, hosts, activity)
    register_knowledge_search(builtins, embeddings)  # the built-in tool that searches a knowledge base
    tool_loop = ToolLoop(
        ollama=gateway,
        hosts=hosts,
        tools=tools,
        activity=activity,
        max_steps=settings.tool_loop_max_steps,
        quotas=quotas,
    )
    chat = ChatService(
        gateway,
        hosts,
        auth,
        activity,
        catalogue,
        max_streams_per_user=settings.chat_max_streams_per_user,
        quotas=quotas,
    )
    chat.tool_loop = tool_loop  # the playground's replies with tools
    return Services(
        settings=settings,
        auth=auth,
        activity=activity,
        catalogue=catalogue,
        chat=chat,
        ollama=gateway,
        hosts=hosts,
        health=health,
        vectors=vectors,
        vector_databases=vector_databases,
        audit=audit,
        tokens=TokenService(auth, audit),
        quotas=quotas,
        inference=InferenceService(
            auth,
            activity,
            hosts,
            gateway,
            quotas,
            ChatLimits(
                max_prompt_chars=settings.api_max_prompt_chars,
                max_num_ctx=settings.api_max_num_ctx,
                max_concurrent=settings.api_max_concurrent,
            ),
        ),
        catalog=ModelCatalog(auth, activity, audit, hosts, gateway, health),
        sso=SSOService(
            auth,
            audit,
            role_claim=settings.oidc_role_claim,
            role_map=parse_role_map(settings.oidc_role_map),
            create_accounts=settings.sso_create_accounts,
        ),
        activity_reader=ActivityReader(auth),
        workshops=workshops,
        sharing=sharing,
        prompts=prompts,
        prompt_runs=PromptRunService(
            auth=auth,
            activity=activity,
            ollama=gateway,
            hosts=hosts,
            prompts=prompts,
            max_batch_rows=settings.prompt_batch_max_rows,
            quotas=quotas,
        ),
        builtin_tools=builtins,
        tools=tools,
        tool_loop=tool_loop,
        knowledge=knowledge,
        ingest=IngestService(
            knowledge,
            vector_databases,
            gateway,
            hosts,
            activity,
            workers=shared_workers(settings.ingest_workers, warm=chunking.warm),
            batch_size=settings.embed_batch_size,
        ),
        embeddings=embeddings,
        rag=rag,
        evals=EvalService(auth, rag, activity),
    )
