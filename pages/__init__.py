"""Pages: one module per area, each building an APIRouter of thin page functions over the services."""

from __future__ import annotations

from nicegui import APIRouter

from pages import admin, admin_http, auth, home, prompts, tool_chat, tools
from services import Services


def routers(services: Services) -> list[APIRouter]:
    return [
        auth.create_router(services),
        home.create_router(services),
        admin.create_router(services),
        prompts.create_router(services),
        tool_chat.create_router(services),  # before tools: /tools/chat must win over /tools/{tool_id}
        tools.create_router(services),
        admin_http.create_router(services),
    ]
