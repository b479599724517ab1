"""Async domain services. Built once in app.py (the composition root) and handed to pages and API routers."""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from services.activity import ActivityService
from services.auth import AuthService
from services.builtin_tools import BuiltinRegistry, default_registry
from services.health import HealthMonitor
from services.hosts import HostDirectory
from services.ollama import OllamaGateway
from services.prompt_runs import PromptRunService
from services.prompts import PromptService
from services.sharing import Sharing
from services.tool_loop import ToolLoop
from services.tools import ToolService
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
    sharing: Sharing
    prompts: PromptService
    prompt_runs: PromptRunService
    builtin_tools: BuiltinRegistry
    tools: ToolService
    tool_loop: ToolLoop


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
    return Services(
        settings=settings,
        auth=auth,
        activity=activity,
        ollama=gateway,
        hosts=hosts,
        health=HealthMonitor(gateway, hosts.urls, settings.ollama_health_interval),
        vectors=VectorStore(settings.milvus_location, settings.milvus_token),
        sharing=sharing,
        prompts=prompts,
        prompt_runs=PromptRunService(
            auth=auth,
            activity=activity,
            ollama=gateway,
            hosts=hosts,
            prompts=prompts,
            max_batch_rows=settings.prompt_batch_max_rows,
        ),
        builtin_tools=builtins,
        tools=tools,
        tool_loop=ToolLoop(
            ollama=gateway, hosts=hosts, tools=tools, activity=activity, max_steps=settings.tool_loop_max_steps
        ),
    )
