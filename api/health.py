"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.models.health import readiness
from services.wiring import Services


def create_router(services: Services) -> APIRouter:
    router = APIRouter(tags=['health'])

    @router.get('/health', summary='Liveness: the process is up and serving requests')
    async def health() -> dict:
        return {'status': 'ok'}

    @router.get('/health/ready', summary='Readiness: database, vector store and Ollama hosts')
    async def ready() -> JSONResponse:
        ok, report = await readiness(services.health, services.vectors)
        return JSONResponse(report, status_code=200 if ok else 503)

    return router
