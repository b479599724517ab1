"""Liveness and readiness.

`/health/ready` is public (orchestrators probe it without credentials) and then says only ready or not ready. The
details (database and vector store, each Ollama host's URL, version and error) are for admins only, signed in with a
session or sending an admin's personal token: they map the internal network.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from nicegui import app

from api.deps import bearer
from services.core.auth import Role
from services.core.client_address import client_address
from services.core.errors import ServiceError
from services.models.health import readiness
from services.wiring import Services


def create_router(services: Services) -> APIRouter:
    router = APIRouter(tags=['health'])

    async def is_admin(request: Request, credentials: HTTPAuthorizationCredentials | None) -> bool:
        """Whether the caller is an active admin (session or bearer token); anything else is anonymous here."""
        user_id: int | None = None
        if credentials is not None:
            try:
                user, _token_id = await services.tokens.authenticate(
                    credentials.credentials, ip=client_address(request) or None
                )
                user_id = user.id
            except ServiceError:
                return False
        else:
            try:
                user_id = app.storage.user.get('user_id')
            except (RuntimeError, AssertionError, KeyError):
                user_id = None
        user = await services.auth.get_user(user_id)
        return user is not None and user.role == Role.ADMIN

    @router.get('/health', summary='Liveness: the process is up and serving requests')
    async def health() -> dict:
        return {'status': 'ok'}

    @router.get(
        '/health/ready',
        summary='Readiness: database, vector store and Ollama hosts (details for admins only)',
    )
    async def ready(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
    ) -> JSONResponse:
        settings = services.settings
        startup = getattr(request.app.state, 'startup', None)  # app.py's start-up state: a failed start is not ready
        ok, report = await readiness(
            services.health,
            services.vectors,
            settings.data_dir,
            settings.min_free_disk_mb,
            startup_error=getattr(startup, 'error', None),
        )
        status = 200 if ok else 503
        try:
            admin = await is_admin(request, credentials)
        except Exception:  # the database cannot be read: nobody can be recognised, and the answer stays "down"
            admin = False
        if not admin:
            return JSONResponse({'status': report['status']}, status_code=status)
        return JSONResponse(report, status_code=status)

    return router
