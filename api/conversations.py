"""/api/v1/conversations: your playground conversations, and sending a message in one (saved and recorded exactly as
in the playground, through `services.chat.conversations.send`)."""

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import Actor, Authenticator, Page, PageParams, page_of, page_params
from api.problems import problem_responses
from api.schemas import Deleted
from api.streaming import Streaming, ndjson, primed
from services.chat.conversations import ChatDelta, ChatResult
from services.chat.images import MAX_IMAGES, decode
from services.chat.types import MAX_TITLE
from services.models.callers import Purpose
from services.models.errors import (
    ModelNotFound,
    OllamaBadRequest,
    OllamaBusy,
    OllamaError,
    OllamaStreamError,
    OllamaTimeout,
    OllamaUnreachable,
)
from services.wiring import Services

# a reply that failed before any text came back answers the matching problem (api/problems.py maps Ollama errors)
FAILURES = {
    cls.kind: cls
    for cls in (ModelNotFound, OllamaBadRequest, OllamaBusy, OllamaStreamError, OllamaTimeout, OllamaUnreachable)
}


class ConversationSummaryOut(BaseModel):
    id: int
    title: str
    model: str
    updated_at: datetime
    message_count: int


class SettingsOut(BaseModel):
    options: dict[str, Any]
    keep_alive: str | int | None
    format: str | dict | None
    think: bool


class ConversationOut(BaseModel):
    id: int
    title: str
    model: str
    system_prompt: str
    settings: SettingsOut
    messages: list[dict[str, Any]] = Field(description='{"role", "content", ...}; replies carry model and metrics.')


class ConversationCreate(BaseModel):
    model: str = Field(min_length=1, max_length=200, examples=['llama3.2'])
    system_prompt: str = ''
    settings: dict[str, Any] | None = Field(None, description='{"options": {...}, "keep_alive", "format", "think"}')


class ConversationPatch(BaseModel):
    title: str | None = Field(None, max_length=MAX_TITLE)
    model: str | None = Field(None, min_length=1, max_length=200)
    system_prompt: str | None = None
    settings: dict[str, Any] | None = None


class MessageSend(BaseModel):
    content: str = Field('', description="The message (the platform's prompt limit applies; may be empty with images).")
    images: list[str] = Field(
        [],
        max_length=MAX_IMAGES,
        description=f'Images as base64 (PNG, JPEG, WebP or GIF; at most {MAX_IMAGES}) for a model with vision; '
        'stored with the conversation (GET .../images/{file}). A model without vision is refused (422).',
    )
    image_names: list[str] = Field([], description='Optional file names of the images, in the same order.')
    stream: bool = Field(False, description='Stream the reply as NDJSON (one JSON object per line).')


class MetricsOut(BaseModel):
    ttft_ms: float | None
    tokens_per_s: float | None
    prompt_tokens: int | None
    output_tokens: int
    total_ms: float


class ReplyOut(BaseModel):
    model: str
    content: str
    thinking: str
    metrics: MetricsOut
    error: str | None = Field(None, description='Set when the reply broke off; the partial reply is saved.')
    error_kind: str | None = None


class ReplyChunk(BaseModel):
    done: bool
    content: str = ''
    thinking: str = ''
    reply: ReplyOut | None = Field(None, description='On the last line: the whole reply and its metrics.')


def _reply(result: ChatResult) -> dict:
    return {
        'model': result.model,
        'content': result.content,
        'thinking': result.thinking,
        'metrics': result.metrics,
        'error': result.error,
        'error_kind': result.error_kind,
    }


def _chunk(event: ChatDelta | ChatResult) -> dict:
    if isinstance(event, ChatDelta):
        return {'done': False, 'content': event.content, 'thinking': event.thinking}
    return {'done': True, 'reply': {**_reply(event), 'metrics': asdict(event.metrics)}}


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/api/v1/conversations', tags=['conversations'])
    actor = Authenticator(services)
    chat = services.chat
    one = problem_responses(401, 404)

    @router.get('', summary='List your conversations', response_model=Page[ConversationSummaryOut], responses=one)
    async def list_conversations(
        user: Annotated[Actor, Depends(actor)], page: Annotated[PageParams, Depends(page_params)]
    ):
        items, total = await chat.page_conversations(user.id, limit=page.limit, offset=page.offset)
        return page_of(items, total, page)

    @router.post(
        '',
        summary='Start a conversation with a model',
        response_model=ConversationOut,
        status_code=201,
        responses=problem_responses(401, 403, 404, 422),
    )
    async def create_conversation(body: ConversationCreate, user: Annotated[Actor, Depends(actor)]):
        return await chat.create_conversation(user.id, body.model, body.system_prompt, body.settings)

    @router.get(
        '/{conversation_id}',
        summary='One of your conversations with its messages',
        response_model=ConversationOut,
        responses=one,
    )
    async def get_conversation(conversation_id: int, user: Annotated[Actor, Depends(actor)]):
        return await chat.get_conversation(user.id, conversation_id)

    @router.patch(
        '/{conversation_id}',
        summary='Rename a conversation or change its model, system prompt or settings',
        response_model=ConversationOut,
        responses=problem_responses(401, 403, 404, 422),
    )
    async def update_conversation(
        conversation_id: int, body: ConversationPatch, user: Annotated[Actor, Depends(actor)]
    ):
        if body.title is not None:
            await chat.rename(user.id, conversation_id, body.title)
        if body.model is not None or body.system_prompt is not None or body.settings is not None:
            return await chat.update_conversation(
                user.id, conversation_id, model=body.model, system_prompt=body.system_prompt, settings=body.settings
            )
        return await chat.get_conversation(user.id, conversation_id)

    @router.delete('/{conversation_id}', summary='Delete a conversation', response_model=Deleted, responses=one)
    async def delete_conversation(conversation_id: int, user: Annotated[Actor, Depends(actor)]):
        await chat.delete_conversation(user.id, conversation_id)
        return Deleted()

    @router.post(
        '/{conversation_id}/messages',
        summary='Send a message and get the reply (set "stream": true for NDJSON); both are saved',
        response_model=ReplyOut,
        responses={
            200: {
                'description': 'The reply; with "stream": true, NDJSON chunks (application/x-ndjson).',
                'content': {'application/x-ndjson': {'schema': ReplyChunk.model_json_schema()}},
            },
            **problem_responses(401, 404, 422, 429, 502, 503, 504),
        },
    )
    async def send_message(conversation_id: int, body: MessageSend, user: Annotated[Actor, Depends(actor)]):
        images = decode(body.images, body.image_names)
        events = chat.send(user.id, conversation_id, body.content, purpose=Purpose.CONVERSATION, images=images)
        if body.stream:
            return Streaming(ndjson(await primed(events), _chunk), media_type='application/x-ndjson')
        result = None
        async for event in events:
            if isinstance(event, ChatResult):
                result = event
        assert result is not None
        if result.error and not result.content:  # saved in the conversation as a failed reply, as in the playground
            raise FAILURES.get(result.error_kind or '', OllamaError)(result.error)
        return _reply(result)

    return router
