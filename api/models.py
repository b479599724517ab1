"""/api/v1/hosts and /api/v1/models: what runs where; pulling and deleting models (instructors and admins)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api.deps import Actor, Authenticator, Page, PageParams, page_params, paginate
from api.problems import problem_responses
from api.streaming import Streaming, ndjson, primed
from services.wiring import Services


class HostOut(BaseModel):
    url: str = Field(description='The host URL (instructors and admins) or a neutral label (attendees).')
    ok: bool
    version: str
    latency_ms: float | None
    error: str


class ModelOut(BaseModel):
    name: str
    host: str
    size: int
    family: str
    parameter_size: str
    quantization: str
    modified_at: datetime | None


class PullRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=['llama3.2:1b'])
    host: str | None = Field(None, description='Host URL; default: the default host.')


class PullProgress(BaseModel):
    status: str
    completed: int | None = None
    total: int | None = None
    error: str | None = None


NDJSON_PROGRESS = {
    200: {
        'description': 'Progress, one JSON object per line (application/x-ndjson); a final line may carry "error".',
        'content': {'application/x-ndjson': {'schema': PullProgress.model_json_schema()}},
    }
}


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/api/v1', tags=['hosts and models'])
    actor = Authenticator(services)

    @router.get(
        '/hosts',
        summary='Ollama hosts and their health',
        response_model=list[HostOut],
        responses=problem_responses(401),
    )
    async def hosts(user: Annotated[Actor, Depends(actor)]):
        return await services.health.summaries(user.id)

    @router.get(
        '/room',
        summary='The room now: slots in use, calls waiting and hosts down (instructors and admins)',
        responses=problem_responses(401, 403),
    )
    async def room(user: Annotated[Actor, Depends(actor)]) -> dict:
        return await services.calls.room_view(user.id)

    @router.get(
        '/models',
        summary='Models on the Ollama hosts',
        response_model=Page[ModelOut],
        responses=problem_responses(401, 502),
    )
    async def models(user: Annotated[Actor, Depends(actor)], page: Annotated[PageParams, Depends(page_params)]):
        return paginate(await services.catalogue.api_models(user.id), page)

    @router.post(
        '/models/pull',
        summary='Pull a model onto a host (instructors and admins); streams progress',
        response_class=StreamingResponse,
        responses={**NDJSON_PROGRESS, **problem_responses(401, 403, 404, 422)},
    )
    async def pull(body: PullRequest, user: Annotated[Actor, Depends(actor)]) -> StreamingResponse:
        parts = await primed(await services.model_admin.pull_stream(user.id, body.name, body.host))
        return Streaming(ndjson(parts, lambda p: p), media_type='application/x-ndjson')

    @router.delete(
        '/models/{name:path}',
        summary='Delete a model from a host (instructors and admins)',
        status_code=204,
        response_class=Response,
        responses=problem_responses(401, 403, 404),
    )
    async def delete(
        name: str,
        user: Annotated[Actor, Depends(actor)],
        host: Annotated[str | None, Query(description='Host URL; default: the default host.')] = None,
    ) -> Response:
        await services.model_admin.delete(user.id, host, name)
        return Response(status_code=204)

    return router
