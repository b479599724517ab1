"""/api/v1/conversations: files of your conversations. Their images (yours only), conversations exported as Markdown
or JSON (one or all) and a JSON export imported as new conversations (`services.chat.transfer`)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import Actor, Authenticator
from api.problems import problem_responses
from services.chat.transfer import ExportFile
from services.wiring import Services

FORMAT = Query(description='"json" (to import again, images as base64) or "markdown" (to read; images named only).')
EXPORTED = {
    200: {
        'description': 'The export (attachment).',
        'content': {
            'application/json': {'schema': {'type': 'object'}},
            'text/markdown': {'schema': {'type': 'string'}},
        },
    }
}


class ImportedOut(BaseModel):
    id: int = Field(description='The new conversation (ids in the file are never used).')
    title: str


class ImportResultOut(BaseModel):
    conversations: list[ImportedOut]
    warnings: list[str] = Field(description='Settings that were reset, models that no host has, ...')


def _attachment(exported: ExportFile) -> Response:
    return Response(
        exported.content,
        media_type=exported.media_type,
        headers={'Content-Disposition': f'attachment; filename="{exported.filename}"'},
    )


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/api/v1/conversations', tags=['conversations'])
    actor = Authenticator(services)
    transfer = services.chat_transfer

    @router.get(
        '/export',
        summary='Export all your conversations (JSON or Markdown)',
        response_class=Response,
        responses={**EXPORTED, **problem_responses(401, 422)},
    )
    async def export_all(
        user: Annotated[Actor, Depends(actor)], format: Annotated[Literal['json', 'markdown'], FORMAT] = 'json'
    ):
        return _attachment(await transfer.export(user.id, None, format))

    @router.post(
        '/import',
        summary='Import conversations from a JSON export (multipart, field "file")',
        description='Every conversation of the file becomes a new conversation of yours (all or none: the file is '
        'checked first and a refusal names the conversation, message and field). Images are checked like uploads.',
        response_model=ImportResultOut,
        status_code=201,
        responses=problem_responses(401, 413, 422),
    )
    async def import_conversations(
        user: Annotated[Actor, Depends(actor)],
        file: Annotated[UploadFile, File(description='A JSON export of conversations.')],
    ):
        limit = services.settings.chat_import_max_mb * 1024 * 1024
        return await transfer.import_file(user.id, await file.read(limit + 1))

    @router.get(
        '/{conversation_id}/export',
        summary='Export one of your conversations (JSON or Markdown)',
        response_class=Response,
        responses={**EXPORTED, **problem_responses(401, 404, 422)},
    )
    async def export_one(
        conversation_id: int,
        user: Annotated[Actor, Depends(actor)],
        format: Annotated[Literal['json', 'markdown'], FORMAT] = 'json',
    ):
        return _attachment(await transfer.export(user.id, conversation_id, format))

    @router.get(
        '/{conversation_id}/images/{file}',
        summary='An image attached to a message of one of your conversations',
        response_class=Response,
        responses={
            200: {
                'description': 'The image as it was attached.',
                'content': {t: {'schema': {'type': 'string', 'format': 'binary'}} for t in ('image/png', 'image/jpeg')},
            },
            **problem_responses(401, 404),
        },
    )
    async def image(conversation_id: int, file: str, user: Annotated[Actor, Depends(actor)]):
        found = await services.chat.images.read(user.id, conversation_id, file)
        return Response(
            found.data,
            media_type=found.type,
            headers={'Cache-Control': 'private, max-age=3600', 'X-Content-Type-Options': 'nosniff'},
        )

    return router
