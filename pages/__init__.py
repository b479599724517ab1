"""Pages: one module per area, each building an APIRouter of thin page functions over the services."""

from __future__ import annotations

from nicegui import APIRouter

from pages import (
    admin,
    admin_http,
    api_access,
    audit,
    auth,
    compare,
    conversation_files,
    embeddings,
    home,
    hosts,
    knowledge,
    models,
    playground,
    prompts,
    quotas,
    rag,
    tool_chat,
    tools,
    workshop_aftercare,
    workshop_arena,
    workshop_attend,
    workshop_dashboard,
    workshop_gallery,
    workshop_identity,
    workshop_summary,
    workshops,
)
from services.wiring import Services


def routers(services: Services) -> list[APIRouter]:
    return [
        auth.create_router(services),
        home.create_router(services),
        admin.create_router(services),
        hosts.create_router(services),
        models.create_router(services),
        playground.create_router(services),
        conversation_files.create_router(services),
        compare.create_router(services),
        api_access.create_router(services),
        quotas.create_router(services),
        audit.create_router(services),
        workshop_attend.create_router(services),
        workshop_identity.create_router(services),
        workshop_dashboard.create_router(services),
        workshop_arena.create_router(services),
        workshop_gallery.create_router(services),
        workshop_summary.create_router(services),
        workshop_aftercare.create_router(services),
        workshops.create_router(services),
        prompts.create_router(services),
        tool_chat.create_router(services),  # before tools: /tools/chat must win over /tools/{tool_id}
        tools.create_router(services),
        admin_http.create_router(services),
        knowledge.create_router(services),
        embeddings.create_router(services),
        rag.create_router(services),
    ]
