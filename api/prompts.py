"""/api/v1/prompts: versioned prompt templates (yours and those shared with you), their runs, export and import."""

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.deps import Actor, Authenticator, Page, PageParams, page_params, paginate
from api.problems import problem_responses
from api.schemas import Deleted
from services.prompts.library import PromptDraft
from services.wiring import Services


class VariableOut(BaseModel):
    name: str
    type: str
    default: Any = None
    choices: list[str] = []
    label: str = ''


class VersionOut(BaseModel):
    number: int
    system_template: str
    user_template: str
    variables: list[VariableOut]
    default_model: str
    options: dict[str, Any]
    message: str
    created_at: datetime


class PromptSummaryOut(BaseModel):
    id: int
    name: str
    description: str
    tags: list[str]
    visibility: str
    workshop_id: int | None
    owner_id: int
    owner_name: str
    current_version: int
    updated_at: datetime


class PromptOut(PromptSummaryOut):
    can_edit: bool
    forked_from_id: int | None
    current: VersionOut
    versions: list[VersionOut]


class PromptIn(BaseModel):
    name: str = Field(max_length=200, examples=['Summarise'])
    description: str = ''
    tags: list[str] = []
    visibility: Literal['private', 'workshop', 'public'] = 'private'
    workshop_id: int | None = Field(None, description='With visibility "workshop": the workshop to share with.')
    system_template: str = ''
    user_template: str = Field(examples=['Summarise in {{ words }} words: {{ text }}'])
    variables: list[dict[str, Any]] = Field(
        [], description='[{"name", "type": text|number|boolean|choice, "default", "choices", "label"}]'
    )
    default_model: str = ''
    options: dict[str, Any] = {}
    message: str = Field('', max_length=200, description='What changed (the version message).')

    def draft(self) -> PromptDraft:
        return PromptDraft(**self.model_dump(exclude={'message'}))


class RunIn(BaseModel):
    values: dict[str, Any] = Field({}, description='Values of the template variables.')
    model: str = Field('', max_length=200, description="Empty: the prompt's default model.")
    version: int | None = Field(None, ge=1, description='Empty: the current version.')
    options: dict[str, Any] | None = None


class RunOut(BaseModel):
    id: int
    prompt_id: int
    version: int
    model: str
    values: dict[str, Any]
    system_prompt: str
    user_prompt: str
    options: dict[str, Any]
    output: str
    error: str | None = Field(description='Set when the model failed (the run is saved anyway).')
    metrics: dict[str, Any]
    rating: int | None
    created_at: datetime


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/api/v1/prompts', tags=['prompts'])
    actor = Authenticator(services)
    prompts, runs = services.prompts, services.prompt_runs
    one = problem_responses(401, 404)
    edit = problem_responses(401, 403, 404, 422)

    @router.get(
        '',
        summary='List prompts you can see (yours, shared and public)',
        response_model=Page[PromptSummaryOut],
        responses=problem_responses(401),
    )
    async def list_prompts(
        user: Annotated[Actor, Depends(actor)],
        page: Annotated[PageParams, Depends(page_params)],
        search: Annotated[str, Query(max_length=200, description='Part of the name.')] = '',
        mine: Annotated[bool, Query(description='Only your own prompts.')] = False,
    ):
        return paginate(await prompts.list_prompts(user.id, search, mine_only=mine), page)

    @router.post(
        '',
        summary='Create a prompt (version 1)',
        response_model=PromptOut,
        status_code=201,
        responses=problem_responses(401, 403, 422),
    )
    async def create_prompt(body: PromptIn, user: Annotated[Actor, Depends(actor)]):
        return await prompts.create(user.id, body.draft(), body.message)

    @router.post(
        '/import',
        summary='Import a prompt export (becomes your private prompt)',
        response_model=PromptOut,
        status_code=201,
        responses=problem_responses(401, 403, 422),
    )
    async def import_prompt(body: dict[str, Any], user: Annotated[Actor, Depends(actor)]):
        return await prompts.import_json(user.id, json.dumps(body))

    @router.get('/{prompt_id}', summary='A prompt with all its versions', response_model=PromptOut, responses=one)
    async def get_prompt(prompt_id: int, user: Annotated[Actor, Depends(actor)]):
        return await prompts.get(user.id, prompt_id)

    @router.put(
        '/{prompt_id}',
        summary='Save a new version (it becomes current; owner only)',
        response_model=PromptOut,
        responses=edit,
    )
    async def save_prompt(prompt_id: int, body: PromptIn, user: Annotated[Actor, Depends(actor)]):
        return await prompts.save(user.id, prompt_id, body.draft(), body.message)

    @router.delete(
        '/{prompt_id}',
        summary='Delete a prompt (owner only)',
        response_model=Deleted,
        responses=problem_responses(401, 403, 404),
    )
    async def delete_prompt(prompt_id: int, user: Annotated[Actor, Depends(actor)]):
        await prompts.delete(user.id, prompt_id)
        return Deleted()

    @router.get(
        '/{prompt_id}/versions',
        summary='The versions of a prompt, newest first',
        response_model=list[VersionOut],
        responses=one,
    )
    async def versions(prompt_id: int, user: Annotated[Actor, Depends(actor)]):
        return (await prompts.get(user.id, prompt_id)).versions

    @router.post(
        '/{prompt_id}/fork',
        summary='Copy a prompt you can see into a private prompt of your own',
        response_model=PromptOut,
        status_code=201,
        responses=one,
    )
    async def fork_prompt(prompt_id: int, user: Annotated[Actor, Depends(actor)]):
        return await prompts.fork(user.id, prompt_id)

    @router.get(
        '/{prompt_id}/export',
        summary='Export a prompt with all its versions (JSON)',
        response_model=dict[str, Any],
        responses=one,
    )
    async def export_prompt(prompt_id: int, user: Annotated[Actor, Depends(actor)]):
        return json.loads(await prompts.export_json(user.id, prompt_id))

    @router.post(
        '/{prompt_id}/runs',
        summary='Run a prompt with variable values against one model (saved)',
        response_model=RunOut,
        status_code=201,
        responses=problem_responses(401, 403, 404, 422, 429, 502, 503, 504),
    )
    async def run_prompt(prompt_id: int, body: RunIn, user: Annotated[Actor, Depends(actor)]):
        return await runs.run(user.id, prompt_id, body.values, body.model, version=body.version, options=body.options)

    @router.get(
        '/{prompt_id}/runs',
        summary='Your runs of a prompt, newest first',
        response_model=list[RunOut],
        responses=one,
    )
    async def list_runs(
        prompt_id: int,
        user: Annotated[Actor, Depends(actor)],
        limit: Annotated[int, Query(ge=1, le=200, description='At most this many runs.')] = 50,
    ):
        return await runs.runs(user.id, prompt_id, limit)

    return router
