"""Pages: one module per area, each building an APIRouter of thin page functions over the services."""

from __future__ import annotations

from nicegui import APIRouter

from pages import admin, auth, embeddings, home, knowledge, rag
from services import Services


def routers(services: Services) -> list[APIRouter]:
    return [
        auth.create_router(services),
        home.create_router(services),
        admin.create_router(services),
        knowledge.create_router(services),
        embeddings.create_router(services),
        rag.create_router(services),
    ]
