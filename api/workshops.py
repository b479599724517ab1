"""/api/v1/workshops: workshops you run or attend, joining by code, and the instructor actions (activity feed,
announcements, export). Attendees asking for an instructor action get 403; instructors asking about a workshop that
is not theirs get 404."""

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api.deps import Actor, Authenticator, Page, PageParams, page_of, page_params, paginate
from api.problems import problem_responses
from api.schemas import ActivityOut
from services.core.client_address import client_address
from services.wiring import Services
from services.workshops.preflight import PreflightReport, PreflightService
from services.workshops.report import summary


class StepOut(BaseModel):
    id: int
    position: int
    title: str
    instructions: str
    rule: dict[str, Any] | None
    rule_label: str
    link: str
    checks: list[dict[str, Any]] = Field(
        [], description='Exercise checks: the step completes automatically once all of them pass.'
    )


class ResourceOut(BaseModel):
    kind: str
    resource_id: int
    label: str
    link: str


class WorkshopOut(BaseModel):
    id: int
    title: str
    description: str
    state: str
    join_code: str = Field(description='Only shown to the instructors of the workshop (empty otherwise).')
    owner_id: int
    owner_name: str
    starts_at: datetime | None
    ends_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    allowed_models: list[str]
    stuck_minutes: int
    attendees_may_share: bool = Field(
        description='Whether attendees may share their prompts, tools, knowledge bases and RAG systems with it.'
    )
    co_instructors: list[dict[str, Any]]
    resources: list[ResourceOut]
    steps: list[StepOut]
    can_manage: bool
    attendee_count: int


class WorkshopCreate(BaseModel):
    title: str = Field(max_length=200, examples=['Prompting 101'])
    description: str = ''
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    allowed_models: list[str] = Field([], description='Models attendees may use; empty: every enabled model.')
    stuck_minutes: int = Field(10, ge=1, le=240)
    attendees_may_share: bool = Field(
        False,
        description='Let attendees share their prompts, tools, knowledge bases and RAG systems with this workshop '
        '(off: only its instructors and admins may).',
    )


class WorkshopUpdate(BaseModel):
    title: str | None = Field(None, max_length=200)
    description: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    allowed_models: list[str] | None = None
    stuck_minutes: int | None = Field(None, ge=1, le=240)
    attendees_may_share: bool | None = None


class JoinIn(BaseModel):
    code: str = Field(min_length=1, max_length=32, examples=['K7QX2M'])


class JoinOut(BaseModel):
    user_id: int
    workshop_id: int
    created_account: bool


class AnnouncementIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class AnnouncementOut(BaseModel):
    id: int
    text: str
    created_at: datetime


class PreflightHostOut(BaseModel):
    url: str
    label: str
    slots: int
    up: bool | None = Field(description='False: the host did not answer; null: not asked yet.')
    error: str


class PreflightCheckOut(BaseModel):
    model: str
    host: str
    host_label: str
    embedding: bool
    pulled: bool | None = Field(description='null: unknown (the host is down).')
    loaded: bool | None
    phase: str = Field(description='idle, queued, pulling, warming, done, failed or down.')
    progress: float = Field(description='0 to 1 while pulling and warming up.')
    status: str
    error: str
    warning: str
    load_s: float | None = Field(description="Ollama's load_duration of the last warm-up, in seconds.")
    ttft_s: float | None = Field(description='Time to the first token of the last warm-up (without the load).')
    tokens_per_s: float | None


class ForecastOut(BaseModel):
    model: str
    message: str = Field(description='The forecast in a sentence, or why there is none.')
    verdict: str | None = Field(None, description='ok, tight or overloaded; null: no forecast.')
    attendees: int | None = None
    slots: int | None = None
    service_s: float | None = Field(None, description='Seconds one answer takes: TTFT + tokens / tokens per second.')
    utilisation: float | None = None
    p_wait: float | None = Field(None, description='Erlang C: the probability that a question waits.')
    mean_wait_s: float | None = Field(None, description='null: the queue grows without bound.')
    p95_wait_s: float | None = Field(None, description='null: the queue grows without bound.')
    max_attendees: int | None = Field(None, description='The most attendees with a p95 wait under the target.')


class PreflightOut(BaseModel):
    workshop_id: int
    workshop_state: str
    models: list[str]
    source: str = Field(description="allowed (the workshop's allowed models), catalogue (its chat models) or none.")
    note: str
    ready: bool
    running: bool
    summary: str
    problems: list[str]
    attendees: int
    online: int
    hosts: list[PreflightHostOut]
    checks: list[PreflightCheckOut]
    forecasts: list[ForecastOut]


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value


def preflight_out(
    preflight: PreflightService, report: PreflightReport, attendees: int | None, interval_s: float, tokens: int
) -> PreflightOut:
    forecasts = []
    for item in preflight.forecasts(report, attendees, interval_s=interval_s, tokens=tokens):
        f = item.forecast
        if f is None:
            forecasts.append(ForecastOut(model=item.model, message=item.reason))
            continue
        forecasts.append(
            ForecastOut(
                model=item.model,
                message=f.message,
                verdict=f.verdict,
                attendees=f.attendees,
                slots=f.slots,
                service_s=f.service_s,
                utilisation=f.utilisation,
                p_wait=f.p_wait,
                mean_wait_s=_finite(f.mean_wait_s),
                p95_wait_s=_finite(f.p95_wait_s),
                max_attendees=f.max_attendees,
            )
        )
    return PreflightOut(
        workshop_id=report.workshop_id,
        workshop_state=report.workshop_state,
        models=report.models,
        source=report.source,
        note=report.note,
        ready=report.ready,
        running=report.running,
        summary=report.summary(),
        problems=report.problems(),
        attendees=report.attendees,
        online=report.online,
        hosts=[PreflightHostOut.model_validate(h, from_attributes=True) for h in report.hosts],
        checks=[PreflightCheckOut.model_validate(c, from_attributes=True) for c in report.checks],
        forecasts=forecasts,
    )


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/api/v1/workshops', tags=['workshops'])
    actor = Authenticator(services)
    workshops = services.workshops
    manage = problem_responses(401, 403, 404)

    @router.get(
        '',
        summary='Workshops you run (instructors), co-teach or joined',
        response_model=Page[WorkshopOut],
        responses=problem_responses(401),
    )
    async def list_workshops(user: Annotated[Actor, Depends(actor)], page: Annotated[PageParams, Depends(page_params)]):
        return paginate(await workshops.list_for(user.id), page)

    @router.post(
        '',
        summary='Create a workshop (instructors and admins)',
        response_model=WorkshopOut,
        status_code=201,
        responses=problem_responses(401, 403, 422),
    )
    async def create_workshop(body: WorkshopCreate, user: Annotated[Actor, Depends(actor)]):
        fields = body.model_dump(exclude={'title', 'description'})
        return await workshops.create(user.id, body.title, body.description, **fields)

    @router.post(
        '/join',
        summary='Join a running workshop by its code (as the account of your token)',
        response_model=JoinOut,
        responses=problem_responses(401, 404, 409, 429),
    )
    async def join_workshop(body: JoinIn, request: Request, user: Annotated[Actor, Depends(actor)]):
        ip = client_address(request)
        return await workshops.join(body.code, client_address=ip, user_id=user.id)

    @router.get(
        '/{workshop_id}',
        summary='A workshop you run or attend',
        response_model=WorkshopOut,
        responses=problem_responses(401, 404),
    )
    async def get_workshop(workshop_id: int, user: Annotated[Actor, Depends(actor)]):
        return await workshops.get(user.id, workshop_id)

    @router.patch(
        '/{workshop_id}',
        summary="Change a workshop's settings (its instructors); only the fields given change",
        response_model=WorkshopOut,
        responses=manage,
    )
    async def update_workshop(workshop_id: int, body: WorkshopUpdate, user: Annotated[Actor, Depends(actor)]):
        fields = body.model_dump(exclude_unset=True)
        for key in ('title', 'description', 'allowed_models', 'stuck_minutes', 'attendees_may_share'):
            if key in fields and fields[key] is None:
                del fields[key]  # null for these means "unchanged"
        return await workshops.update(user.id, workshop_id, **fields)

    @router.post(
        '/{workshop_id}/start',
        summary='Open a workshop for attendees (its instructors)',
        response_model=WorkshopOut,
        responses=manage,
    )
    async def start_workshop(workshop_id: int, user: Annotated[Actor, Depends(actor)]):
        await workshops.start(user.id, workshop_id)
        return await workshops.get(user.id, workshop_id)

    @router.post(
        '/{workshop_id}/end',
        summary='End a workshop (its instructors)',
        response_model=WorkshopOut,
        responses=manage,
    )
    async def end_workshop(workshop_id: int, user: Annotated[Actor, Depends(actor)]):
        await workshops.end(user.id, workshop_id)
        return await workshops.get(user.id, workshop_id)

    @router.get(
        '/{workshop_id}/activity',
        summary="The workshop's activity feed, newest first (its instructors)",
        response_model=Page[ActivityOut],
        responses=manage,
    )
    async def workshop_activity(
        workshop_id: int, user: Annotated[Actor, Depends(actor)], page: Annotated[PageParams, Depends(page_params)]
    ):
        items, total = await workshops.workshop_activity(user.id, workshop_id, limit=page.limit, offset=page.offset)
        return page_of(items, total, page)

    @router.post(
        '/{workshop_id}/announcements',
        summary='Broadcast an announcement to the attendees (its instructors)',
        response_model=AnnouncementOut,
        status_code=201,
        responses=problem_responses(401, 403, 404, 422),
    )
    async def announce(workshop_id: int, body: AnnouncementIn, user: Annotated[Actor, Depends(actor)]):
        return await workshops.announce(user.id, workshop_id, body.text)

    @router.get(
        '/{workshop_id}/export',
        summary='Export attendees, progress and usage as JSON (its instructors)',
        response_model=dict[str, Any],
        responses=manage,
    )
    async def export_workshop(workshop_id: int, user: Annotated[Actor, Depends(actor)]):
        return await summary(workshops, user.id, workshop_id)

    preflight = services.preflight

    @router.get(
        '/{workshop_id}/preflight',
        summary="Ready to teach: the workshop's models on every host, warm-up speeds and the capacity forecast "
        '(its instructors)',
        response_model=PreflightOut,
        responses=manage,
    )
    async def preflight_check(
        workshop_id: int,
        user: Annotated[Actor, Depends(actor)],
        attendees: Annotated[
            int | None, Query(ge=0, le=10_000, description='N for the forecast (default: online now, else joined).')
        ] = None,
        interval_s: Annotated[float, Query(ge=1, le=3600, description='Seconds between questions per attendee.')] = 60,
        tokens: Annotated[int, Query(ge=1, le=8192, description='Tokens per answer.')] = 200,
    ):
        report = await preflight.check(user.id, workshop_id)
        return preflight_out(preflight, report, attendees, interval_s, tokens)

    @router.post(
        '/{workshop_id}/preflight',
        summary='Pull what is missing and warm every model up on every host, in the background (its instructors)',
        response_model=PreflightOut,
        status_code=202,
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def preflight_start(workshop_id: int, user: Annotated[Actor, Depends(actor)]):
        report = await preflight.start(user.id, workshop_id)
        return preflight_out(preflight, report, None, 60, 200)

    return router
