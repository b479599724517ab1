"""HTTP endpoints that are not pages: health, the REST API (/api/v1), the OpenAI-compatible gateway (/v1) and the
OAuth/OIDC sign-in routes (/auth).

Adding a resource: write `api/<area>.py` with `create_router(services) -> APIRouter(prefix='/api/v1/<area>')`, thin
routes that take `user: Annotated[Actor, Depends(Authenticator(services))]` and call a service method with
`user.id` first; give each route a `summary`, a `response_model` and `responses=problem_responses(...)`; use
`Depends(page_params)` + `paginate`/`page_of` for lists. Raise `ServiceError`s in the service: api/problems.py maps
them (and Ollama errors) to problem details in one place. Then add the router below. tests/api/test_openapi.py
fails if a route is undocumented. Router modules must not use `from __future__ import annotations`: FastAPI
has to resolve `Annotated[Actor, Depends(actor)]` at import time, and `actor` is local to `create_router`.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from api import (
    admin,
    bench,
    conversation_files,
    conversations,
    health,
    inference,
    knowledge,
    metrics,
    models,
    oauth,
    openai_gateway,
    problems,
    prompts,
    rag,
    tokens,
    tools,
    users,
    vector_databases,
    workshop_templates,
    workshops,
)
from services.wiring import Services

API_DESCRIPTION = (
    'REST API of the Ollama Workshop Platform (`/api/v1`) and an OpenAI-compatible gateway (`/v1`). '
    'Authenticate with a personal API token from the "API tokens" page: `Authorization: Bearer owp_...`. '
    'Errors are problem details (`application/problem+json`) under /api/v1 and OpenAI-shaped under /v1. '
    'Lists are paginated with `limit` (at most 200) and `offset` and answer `items` and `total`.'
)


def routers(services: Services) -> list[APIRouter]:
    return [
        health.create_router(services),
        metrics.create_router(services),
        users.create_router(services),
        tokens.create_router(services),
        models.create_router(services),
        inference.create_router(services),
        conversation_files.create_router(services),  # before conversations: /export must win over /{id}
        conversations.create_router(services),
        prompts.create_router(services),
        tools.create_router(services),
        knowledge.create_router(services),
        vector_databases.create_router(services),
        rag.create_router(services),
        workshop_templates.create_router(services),  # before workshops: /templates/ready is no workshop id
        workshops.create_router(services),
        admin.create_router(services),
        openai_gateway.create_router(services),
        oauth.create_router(services),
        *([bench.create_router(services)] if services.settings.bench_endpoint else []),
    ]


def install(app: FastAPI, services: Services) -> None:
    """Error mapping and API metadata (called once by app.py)."""
    problems.install(app, services)
    app.description = API_DESCRIPTION
