"""Async domain services. Built once in app.py (the composition root) and handed to pages and API routers."""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from services.activity import ActivityService
from services.auth import AuthService
from services.embeddings import EmbeddingsService
from services.health import HealthMonitor
from services.hosts import HostDirectory
from services.ingest import IngestService
from services.knowledge import KnowledgeService
from services.ollama import OllamaGateway
from services.rag import RagService
from services.rag_eval import EvalService
from services.vectors import VectorStore


@dataclass(kw_only=True, slots=True)
class Services:
    settings: Settings
    auth: AuthService
    activity: ActivityService
    ollama: OllamaGateway
    hosts: HostDirectory
    health: HealthMonitor
    vectors: VectorStore
    knowledge: KnowledgeService
    ingest: IngestService
    embeddings: EmbeddingsService
    rag: RagService
    evals: EvalService


def build_services(settings: Settings) -> Services:
    gateway = OllamaGateway(timeout=settings.ollama_timeout, connect_timeout=settings.ollama_connect_timeout)
    hosts = HostDirectory(gateway, settings.ollama_hosts)
    auth = AuthService(
        min_password_length=settings.password_min_length,
        max_failures=settings.login_max_failures,
        window_seconds=settings.login_window_seconds,
        signup_open_default=settings.signup_open_default,
    )
    activity = ActivityService()
    vectors = VectorStore(settings.milvus_location, settings.milvus_token)
    knowledge = KnowledgeService(auth, activity, vectors, settings.uploads_dir, settings.max_upload_mb)
    rag = RagService(auth, knowledge, vectors, gateway, hosts, activity)
    return Services(
        settings=settings,
        auth=auth,
        activity=activity,
        ollama=gateway,
        hosts=hosts,
        health=HealthMonitor(gateway, hosts.urls, settings.ollama_health_interval),
        vectors=vectors,
        knowledge=knowledge,
        ingest=IngestService(knowledge, vectors, gateway, hosts, activity, batch_size=settings.embed_batch_size),
        embeddings=EmbeddingsService(auth, knowledge, vectors, gateway, hosts, activity),
        rag=rag,
        evals=EvalService(auth, rag, activity),
    )
