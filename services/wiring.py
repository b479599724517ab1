"""The composition root of the services: every service is built once, here, with all its dependencies handed to its
constructor (no setters after the fact), in the order the dependencies allow. app.py calls `build_services` and hands
the result to pages and API routers.
"""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from services.chat.code_export import ChatScripts
from services.chat.conversations import ChatService
from services.chat.images import ChatImages
from services.chat.inference import InferenceService
from services.chat.tool_loop import ToolLoop
from services.chat.transfer import ConversationTransfer
from services.core import audit_log
from services.core.activity import ActivityService
from services.core.activity_reader import ActivityReader
from services.core.audit import AuditService
from services.core.auth import AuthService
from services.core.bus import LiveBus
from services.core.membership import Membership
from services.core.quotas import QuotaService
from services.core.shared_counts import SharedCounts
from services.core.sharing import Sharing
from services.core.sso import SSOService, parse_role_map
from services.core.tokens import TokenService
from services.core.workers import Budget
from services.core.workers import shared as shared_workers
from services.knowledge import chunking
from services.knowledge.bases import KnowledgeService
from services.knowledge.code_export import RagScripts
from services.knowledge.embeddings import EmbeddingsService
from services.knowledge.evaluation import EvalService
from services.knowledge.ingest import IngestService
from services.knowledge.rag import RagService
from services.knowledge.reindex import ReindexService
from services.knowledge.search_tool import register_knowledge_search
from services.knowledge.vector_databases import VectorDatabaseService
from services.knowledge.vectors import VectorStore
from services.models.admin import ModelAdmin
from services.models.calls import CallLimits, ModelCalls
from services.models.catalogue import Catalogue
from services.models.health import HealthMonitor
from services.models.hosts import HostDirectory
from services.models.option_caps import OptionCapsService
from services.models.options import OptionCaps
from services.models.room import Room
from services.models.shared_limits import SharedLimits
from services.prompts.code_export import PromptScripts
from services.prompts.library import PromptService
from services.prompts.runs import PromptRunService
from services.tools.builtins import BuiltinRegistry, default_registry
from services.tools.code_export import ToolScripts
from services.tools.library import ToolService
from services.workshops import template_parts
from services.workshops.preflight import PreflightService
from services.workshops.service import WorkshopService
from services.workshops.templates import WorkshopTemplates


@dataclass(kw_only=True, slots=True)
class Scripts:
    """'Show as Python': what an attendee built, as a standalone script (each area's `code_export`)."""

    rag: RagScripts
    chat: ChatScripts
    prompts: PromptScripts
    tools: ToolScripts


@dataclass(kw_only=True, slots=True)
class Services:
    settings: Settings
    # core: what the whole platform shares
    auth: AuthService
    audit: AuditService
    tokens: TokenService
    sso: SSOService
    membership: Membership
    activity: ActivityService
    activity_reader: ActivityReader
    quotas: QuotaService
    sharing: Sharing
    # models: hosts, the one model-call path, catalogue, administration, health
    hosts: HostDirectory
    option_caps: OptionCapsService  # the admin's ranges for generation options
    calls: ModelCalls
    catalogue: Catalogue
    model_admin: ModelAdmin
    health: HealthMonitor
    # tools, prompts, chat
    builtin_tools: BuiltinRegistry
    tools: ToolService
    prompts: PromptService
    prompt_runs: PromptRunService
    tool_loop: ToolLoop
    chat: ChatService
    chat_transfer: ConversationTransfer  # conversations exported (Markdown, JSON) and imported (JSON)
    inference: InferenceService
    # knowledge
    vectors: VectorStore  # the built-in store (MILVUS_URI); also what /health/ready checks
    vector_databases: VectorDatabaseService
    knowledge: KnowledgeService
    ingest: IngestService
    reindex: ReindexService  # older knowledge bases gain keyword search without re-embedding
    embeddings: EmbeddingsService
    rag: RagService
    evals: EvalService
    # workshops
    workshops: WorkshopService
    bus: LiveBus  # live events between app processes
    preflight: PreflightService  # ready to teach: models pulled, loaded and warm on every host; capacity forecast
    templates: WorkshopTemplates  # workshops exported to a file and created from one
    scripts: Scripts  # 'Show as Python'


def build_services(settings: Settings) -> Services:
    # ----- core
    auth = AuthService(
        min_password_length=settings.password_min_length,
        max_failures=settings.login_max_failures,
        window_seconds=settings.login_window_seconds,
        signup_open_default=settings.signup_open_default,
        audit_hook=audit_log.write,
        account_max_failures=settings.login_account_max_failures,
        source_max_failures=settings.login_source_max_failures,
    )
    audit = AuditService(auth)
    bus = LiveBus(settings.redis_url)  # live events between app processes (Redis), nothing with one process
    membership = Membership(bus)
    activity = ActivityService(membership)
    # several processes: a person's quota calls in flight counted across them (Redis)
    in_flight = SharedCounts(bus, 'owp:inflight:') if settings.redis_url else None
    quotas = QuotaService(auth, audit, membership, shared=in_flight, bus=bus)
    sharing = Sharing(membership)

    # ----- models: every call to Ollama goes through `calls`
    hosts = HostDirectory(settings.ollama_hosts, auth, bus=bus)
    option_caps = OptionCapsService(
        auth,
        OptionCaps(
            num_ctx=settings.api_max_num_ctx,
            num_predict=settings.api_max_num_predict,
            top_k=settings.api_max_top_k,
            temperature=settings.api_max_temperature,
        ),
    )
    calls = ModelCalls(
        hosts=hosts,
        auth=auth,
        membership=membership,
        quotas=quotas,
        limits=CallLimits(max_prompt_chars=settings.api_max_prompt_chars),
        room=Room(
            slots=settings.ollama_slots,
            embed_slots=settings.ollama_embed_slots,
            max_per_user=settings.chat_max_streams_per_user,
            max_wait=settings.queue_max_wait_seconds,
            max_queue_per_user=settings.queue_max_per_user,
            shared=SharedLimits(bus) if settings.redis_url else None,  # a person's running calls on all processes
            slots_shared=SharedCounts(bus, 'owp:slots:') if settings.redis_url else None,  # each host's slots too
        ),
        timeout=settings.ollama_timeout,
        connect_timeout=settings.ollama_connect_timeout,
        idle_timeout=settings.ollama_idle_timeout,
        down_seconds=settings.ollama_down_seconds,
        embed_hosts=[h.strip() for h in settings.ollama_embed_hosts.split(',') if h.strip()],
        option_caps=option_caps,
    )
    catalogue = Catalogue(calls, hosts, auth, refresh_interval=settings.catalogue_refresh_interval, bus=bus)
    model_admin = ModelAdmin(
        calls, hosts, auth, activity, catalogue, audit, bus=bus, lease_seconds=settings.ingest_lease_seconds
    )
    health = HealthMonitor(calls, hosts, auth, settings.ollama_health_interval)

    # ----- knowledge stores (the embeddings service feeds the knowledge-search tool)
    vectors = VectorStore(settings.milvus_location, settings.milvus_token, lite_process=settings.milvus_lite_process)
    vector_databases = VectorDatabaseService(auth, audit, vectors)
    knowledge = KnowledgeService(
        auth,
        activity,
        vector_databases,
        membership,
        settings.uploads_dir,
        settings.max_upload_mb,
        max_files=settings.max_upload_files,
        max_unpacked_mb=settings.extract_max_unpacked_mb,
        max_members=settings.extract_max_members,
        budget=Budget(memory_mb=settings.extract_memory_mb, cpu_seconds=settings.extract_cpu_seconds),
    )
    embeddings = EmbeddingsService(auth, knowledge, vector_databases, calls, activity)

    # ----- tools, prompts, chat
    builtins = default_registry()
    register_knowledge_search(builtins, embeddings)  # the built-in tool that searches a knowledge base
    tools = ToolService(
        auth=auth,
        activity=activity,
        sharing=sharing,
        builtins=builtins,
        http_timeout=settings.tool_http_timeout,
        http_max_bytes=settings.tool_http_max_kb * 1024,
    )
    prompts = PromptService(auth, activity, sharing)
    tool_loop = ToolLoop(calls=calls, tools=tools, activity=activity, max_steps=settings.tool_loop_max_steps)
    rag = RagService(auth, knowledge, vector_databases, calls, activity)
    chat_images = ChatImages(
        root=settings.uploads_dir / 'chat',
        max_mb=settings.chat_max_image_mb,
        auth=auth,
        calls=calls,
        catalogue=catalogue,
    )
    chat = ChatService(calls, auth, activity, catalogue, tool_loop, chat_images)

    # ----- workshops
    workshops = WorkshopService(
        auth=auth,
        activity=activity,
        membership=membership,
        calls=calls,
        hosts=hosts,
        join_max_failures=settings.join_max_failures,
        join_accounts_per_source=settings.join_accounts_per_source,
        join_window_seconds=settings.join_window_seconds,
        sample_seconds=settings.workshop_sample_seconds,
        gc_freeze=settings.workshop_gc_freeze,
        bus=bus,
        secret=settings.secret,
    )
    # several processes: a failure on one counts on all (sign-in by pair, account and address; joining by code)
    auth.pair_throttle.share(bus, 'sign_in_pair')
    auth.account_throttle.share(bus, 'sign_in_account')
    auth.address_throttle.share(bus, 'sign_in_address')
    workshops.join_throttle.share(bus, 'join_code')
    workshops.new_account_throttle.share(bus, 'join_new_account')
    preflight = PreflightService(
        workshops=workshops,
        calls=calls,
        hosts=hosts,
        catalogue=catalogue,
        model_admin=model_admin,
        keep_alive=settings.workshop_keep_alive,
    )
    ingest = IngestService(
        knowledge,
        vector_databases,
        calls,
        activity,
        workers=shared_workers(settings.ingest_workers, warm=chunking.warm),
        batch_size=settings.embed_batch_size,
        owner=bus.origin,  # the name of this process in job claims
        lease_seconds=settings.ingest_lease_seconds,
    )
    templates = WorkshopTemplates(
        auth=auth,
        activity=activity,
        workshops=workshops,
        prompts=prompts,
        tools=tools,
        knowledge=knowledge,
        ingest=ingest,
        rag=rag,
        catalogue=catalogue,
    )
    template_parts.register(templates, workshops)  # checks, results asked, pacing and the arena travel in templates
    return Services(
        bus=bus,
        settings=settings,
        auth=auth,
        audit=audit,
        tokens=TokenService(auth, audit, bus=bus),
        sso=SSOService(
            auth,
            audit,
            role_claim=settings.oidc_role_claim,
            role_map=parse_role_map(settings.oidc_role_map),
            create_accounts=settings.sso_create_accounts,
            first_user_admin=settings.sso_first_user_admin,
        ),
        membership=membership,
        activity=activity,
        activity_reader=ActivityReader(auth, membership),
        quotas=quotas,
        sharing=sharing,
        hosts=hosts,
        option_caps=option_caps,
        calls=calls,
        catalogue=catalogue,
        model_admin=model_admin,
        health=health,
        builtin_tools=builtins,
        tools=tools,
        prompts=prompts,
        prompt_runs=PromptRunService(
            auth=auth,
            activity=activity,
            calls=calls,
            prompts=prompts,
            max_batch_rows=settings.prompt_batch_max_rows,
        ),
        tool_loop=tool_loop,
        chat=chat,
        chat_transfer=ConversationTransfer(
            auth=auth,
            activity=activity,
            images=chat_images,
            calls=calls,
            catalogue=catalogue,
            max_import_mb=settings.chat_import_max_mb,
        ),
        inference=InferenceService(calls, activity, chat_images),
        vectors=vectors,
        vector_databases=vector_databases,
        knowledge=knowledge,
        ingest=ingest,
        reindex=ReindexService(
            knowledge, vector_databases, activity, owner=bus.origin, lease_seconds=settings.ingest_lease_seconds
        ),
        embeddings=embeddings,
        rag=rag,
        evals=EvalService(auth, rag, activity),
        workshops=workshops,
        preflight=preflight,
        templates=templates,
        scripts=Scripts(
            rag=RagScripts(rag, knowledge),
            chat=ChatScripts(chat),
            prompts=PromptScripts(prompts),
            tools=ToolScripts(tools),
        ),
    )
