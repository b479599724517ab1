"""/api/v1/workshops: workshop templates. A workshop exported to one file (its instructors) and a file imported to
create a new draft workshop (instructors and admins), with a report of what was created and what was skipped."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import Actor, Authenticator
from api.problems import problem_responses
from services.wiring import Services
from services.workshops.template_format import MAX_FILE_BYTES


class ReportItemOut(BaseModel):
    kind: str = Field(description='workshop, step, prompt, tool, knowledge, document, rag, section or field.')
    name: str
    link: str = Field(description='The page of what was created (empty for skipped parts).')
    note: str = Field(description='Created: what to know about it. Skipped: why.')


class ImportReportOut(BaseModel):
    workshop_id: int
    title: str
    link: str
    created: list[ReportItemOut]
    skipped: list[ReportItemOut]
    warnings: list[str] = Field(description='For example a model that no host has yet (the workshop is created).')


class ReadyTemplateOut(BaseModel):
    key: str
    title: str
    description: str
    steps: int


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/api/v1/workshops', tags=['workshops'])
    actor = Authenticator(services)
    templates = services.templates

    @router.get(
        '/templates/ready',
        summary='The workshop templates shipped with the platform',
        response_model=list[ReadyTemplateOut],
        responses=problem_responses(401),
    )
    async def ready_templates(user: Annotated[Actor, Depends(actor)]):
        await services.auth.require(user.id)
        return templates.ready()

    @router.post(
        '/import',
        summary='Create a draft workshop from a template file (multipart, field "file"; instructors and admins)',
        description='The file is a template exported here (.json, or .zip with documents). It is checked before '
        'anything is created; a refusal names the bad field. Parts that cannot be created are skipped and listed '
        'with the reason.',
        response_model=ImportReportOut,
        status_code=201,
        responses=problem_responses(401, 403, 422),
    )
    async def import_template(
        user: Annotated[Actor, Depends(actor)],
        file: Annotated[UploadFile, File(description='A workshop template (.json or .zip).')],
    ):
        return await templates.import_file(user.id, await file.read(MAX_FILE_BYTES + 1))

    @router.post(
        '/import/ready/{key}',
        summary='Create a draft workshop from a template shipped with the platform (instructors and admins)',
        response_model=ImportReportOut,
        status_code=201,
        responses=problem_responses(401, 403, 404),
    )
    async def import_ready(key: str, user: Annotated[Actor, Depends(actor)]):
        return await templates.import_ready(user.id, key)

    @router.get(
        '/{workshop_id}/template',
        summary='Export a workshop as a template file (its instructors): JSON, or a .zip with the documents',
        response_class=Response,
        responses={
            200: {
                'description': 'The template file (attachment).',
                'content': {'application/json': {'schema': {'type': 'object'}},
                            'application/zip': {'schema': {'type': 'string', 'format': 'binary'}}},
            },
            **problem_responses(401, 403, 404),
        },
    )  # fmt: skip
    async def export_template(
        workshop_id: int,
        user: Annotated[Actor, Depends(actor)],
        documents: Annotated[bool, Query(description='Include the documents of its knowledge bases (a .zip).')] = False,
    ):
        exported = await templates.export(user.id, workshop_id, include_documents=documents)
        return Response(
            exported.content,
            media_type=exported.media_type,
            headers={'Content-Disposition': f'attachment; filename="{exported.filename}"'},
        )

    return router
