"""Pages: one module per area, each building an APIRouter of thin page functions over the services."""

from __future__ import annotations

from nicegui import APIRouter

from pages import admin, auth, home, workshop_attend, workshop_dashboard, workshop_summary, workshops
from services import Services


def routers(services: Services) -> list[APIRouter]:
    return [
        auth.create_router(services),
        home.create_router(services),
        admin.create_router(services),
        workshop_attend.create_router(services),
        workshop_dashboard.create_router(services),
        workshop_summary.create_router(services),
        workshops.create_router(services),
    ]
