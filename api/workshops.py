"""/api/v1/workshops: workshops you run or attend, joining by code, and the instructor actions (activity feed,
announcements, export). Attendees asking for an instructor action get 403; instructors asking about a workshop that
is not theirs get 404."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from api.deps import Actor, Authenticator, Page, PageParams, page_of, page_params, paginate
from api.problems import problem_responses
from api.schemas import ActivityOut
from services.wiring import Services
from services.workshops.report import summary


class StepOut(BaseModel):
    id: int
    position: int
    title: str
    instructions: str
    rule: dict[str, Any] | None
    rule_label: str
    link: str


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
        ip = request.client.host if request.client else ''
        return await workshops.join(body.code, client_address=ip, user_id=user.id)

    @router.get(
        '/{workshop_id}',
        summary='A workshop you run or attend',
        response_model=WorkshopOut,
        responses=problem_responses(401, 404),
    )
    async def get_workshop(workshop_id: int, user: Annotated[Actor, Depends(actor)]):
        return await workshops.get(user.id, workshop_id)

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

    return router
