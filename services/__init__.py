"""Async domain services. Built once in app.py (the composition root) and handed to pages and API routers."""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from services.activity import ActivityService
from services.auth import AuthService
from services.health import HealthMonitor
from services.hosts import HostDirectory
from services.ollama import OllamaGateway
from services.vectors import VectorStore
from services.workshops import WorkshopService


@dataclass(kw_only=True, slots=True)
class Services:
    settings: Settings
    auth: AuthService
    activity: ActivityService
    ollama: OllamaGateway
    hosts: HostDirectory
    health: HealthMonitor
    vectors: VectorStore
    workshops: WorkshopService


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
    return Services(
        settings=settings,
        auth=auth,
        activity=activity,
        ollama=gateway,
        hosts=hosts,
        health=HealthMonitor(gateway, hosts.urls, settings.ollama_health_interval),
        vectors=VectorStore(settings.milvus_location, settings.milvus_token),
        workshops=WorkshopService(
            auth=auth,
            activity=activity,
            ollama=gateway,
            hosts=hosts,
            join_max_failures=settings.join_max_failures,
            join_window_seconds=settings.login_window_seconds,
            sample_seconds=settings.workshop_sample_seconds,
            gc_freeze=settings.workshop_gc_freeze,
        ),
    )
