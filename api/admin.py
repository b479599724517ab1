"""/api/v1/activity, /api/v1/quotas and /api/v1/audit."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from api.deps import Actor, Authenticator, Page, PageParams, page_of, page_params
from api.problems import problem_responses
from api.schemas import ActivityOut
from services.wiring import Services


class QuotaIn(BaseModel):
    user_id: int | None = Field(
        None, description='The user this quota is for (admins only: it applies everywhere), or give workshop_id.'
    )
    workshop_id: int | None = Field(
        None,
        description='The workshop (its owner, co-instructors and admins): the limits apply to each of its attendees.',
    )
    period: Literal['day', 'session'] = Field(
        'day',
        description='"day" resets at midnight UTC; "session" when '
        'the instructor starts a new workshop session (workshops only).',
    )
    max_requests: int | None = Field(None, ge=0, le=10_000_000)
    max_tokens: int | None = Field(None, ge=0, le=10_000_000)


class QuotaOut(BaseModel):
    id: int
    user_id: int | None
    user_email: str | None
    workshop_id: int | None
    workshop_title: str | None
    period: str
    max_requests: int | None
    max_tokens: int | None
    session_started_at: datetime | None


class SessionStarted(BaseModel):
    quotas: int = Field(description='How many per-session quotas were reset.')


class AuditOut(BaseModel):
    id: int
    user_id: int | None
    user_email: str | None
    action: str
    outcome: str
    target: str | None
    ip: str | None
    details: dict
    created_at: datetime


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/api/v1')
    actor = Authenticator(services)

    @router.get(
        '/activity',
        tags=['activity'],
        response_model=Page[ActivityOut],
        responses=problem_responses(401, 403),
        summary='Activity log: your own; instructors and admins may filter by user or workshop',
    )
    async def activity(
        user: Annotated[Actor, Depends(actor)],
        page: Annotated[PageParams, Depends(page_params)],
        user_id: int | None = None,
        workshop_id: int | None = None,
        action: Annotated[str | None, Query(max_length=64)] = None,
        since: datetime | None = None,
        errors_only: bool = False,
    ):
        items, total = await services.activity_reader.page(
            user.id,
            user_id=user_id,
            workshop_id=workshop_id,
            action=action,
            since=since,
            errors_only=errors_only,
            limit=page.limit,
            offset=page.offset,
        )
        return page_of(items, total, page)

    @router.get(
        '/quotas',
        tags=['quotas'],
        summary="List quotas: an instructor's workshops' quotas, every quota for admins",
        response_model=list[QuotaOut],
        responses=problem_responses(401, 403),
    )
    async def quotas(user: Annotated[Actor, Depends(actor)]):
        return await services.quotas.list_quotas(user.id)

    @router.post(
        '/quotas',
        tags=['quotas'],
        summary='Set the quota of a workshop (its instructors and admins) or of a single user (admins)',
        response_model=QuotaOut,
        responses=problem_responses(401, 403, 404, 422),
    )
    async def set_quota(body: QuotaIn, user: Annotated[Actor, Depends(actor)]):
        return await services.quotas.set_quota(user.id, **body.model_dump())

    @router.delete(
        '/quotas/{quota_id}',
        tags=['quotas'],
        summary="Remove a quota: a workshop's (its instructors and admins) or a single user's (admins)",
        status_code=204,
        response_class=Response,
        responses=problem_responses(401, 403, 404),
    )
    async def delete_quota(quota_id: int, user: Annotated[Actor, Depends(actor)]) -> Response:
        await services.quotas.delete_quota(user.id, quota_id)
        return Response(status_code=204)

    @router.post(
        '/quotas/workshops/{workshop_id}/session',
        tags=['quotas'],
        response_model=SessionStarted,
        summary="Start a new session: per-session usage of the workshop's attendees starts again from zero "
        '(its instructors and admins)',
        responses=problem_responses(401, 403, 404),
    )
    async def new_session(workshop_id: int, user: Annotated[Actor, Depends(actor)]):
        return {'quotas': await services.quotas.start_session(user.id, workshop_id)}

    @router.get(
        '/audit',
        tags=['audit'],
        summary='Audit log of security-relevant actions (admins)',
        response_model=Page[AuditOut],
        responses=problem_responses(401, 403),
    )
    async def audit(
        user: Annotated[Actor, Depends(actor)],
        page: Annotated[PageParams, Depends(page_params)],
        user_id: int | None = None,
        action: Annotated[str | None, Query(max_length=64)] = None,
        outcome: Annotated[Literal['ok', 'refused', 'failed'] | None, Query()] = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ):
        items, total = await services.audit.query(
            user.id,
            user_id=user_id,
            action=action,
            outcome=outcome,
            since=since,
            until=until,
            limit=page.limit,
            offset=page.offset,
        )
        return page_of(items, total, page)

    return router
