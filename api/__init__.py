"""HTTP endpoints that are not pages: health checks now, the REST API under /api/v1 as it grows."""

from __future__ import annotations

from fastapi import APIRouter

from api import bench, health
from services import Services


def routers(services: Services) -> list[APIRouter]:
    routers = [health.create_router(services)]
    if services.settings.bench_endpoint:
        routers.append(bench.create_router(services))
    return routers
