"""The OpenAI-compatible gateway under /v1: models, chat completions (streaming as SSE, tools) and embeddings.

Authenticated with personal API tokens, backed by the platform's Ollama hosts through the same InferenceService as
the REST API, so quotas apply and every call lands in the activity log. The official `openai` SDK works with only
`base_url` (…/v1) and `api_key` changed. Errors are OpenAI-shaped (see api/problems.py).
"""

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api import openai_format as fmt
from api.deps import Actor, Authenticator
from api.problems import openai_responses
from api.streaming import Streaming, primed
from services.chat.inference import message_dict
from services.core.errors import NotFound, ServiceError
from services.core.i18n import N_
from services.models.errors import OllamaError
from services.wiring import Services

ERRORS = openai_responses(400, 401, 403, 404, 422, 429, 502, 503)


class ModelObject(BaseModel):
    id: str
    object: Literal['model'] = 'model'
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal['list'] = 'list'
    data: list[ModelObject]


class ChatCompletionRequest(BaseModel):
    # other fields are ignored, except the names of Ollama options (the SDK's extra_body puts them at the top level)
    model_config = ConfigDict(extra='allow')

    model: str = Field(min_length=1, max_length=200)
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=500)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    options: dict[str, Any] | None = Field(
        None,
        description='Ollama options (extra_body), e.g. {"top_k": 40, "num_ctx": 8192}; an option may also be named at '
        'the top level. Host-level ones (num_gpu, ...) only for instructors and admins.',
    )
    keep_alive: str | int | float | None = Field(
        None, description='How long the model stays loaded (extra_body), e.g. "5m". Instructors and admins only.'
    )


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int = 0
    total_tokens: int


class Choice(BaseModel):
    index: int
    message: dict[str, Any]
    finish_reason: str
    logprobs: Any = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal['chat.completion'] = 'chat.completion'
    created: int
    model: str
    system_fingerprint: str
    choices: list[Choice]
    usage: Usage


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra='ignore')

    model: str = Field(min_length=1, max_length=200)
    input: str | list[str]
    encoding_format: Literal['float'] | None = Field(None, description='Only "float" is supported.')
    dimensions: int | None = Field(None, ge=1, le=8192)


class Embedding(BaseModel):
    object: Literal['embedding'] = 'embedding'
    embedding: list[float]
    index: int


class EmbeddingList(BaseModel):
    object: Literal['list'] = 'list'
    data: list[Embedding]
    model: str
    usage: Usage


SSE_DOC = {
    200: {
        'description': 'A chat.completion; with "stream": true, server-sent events: `data: {chat.completion.chunk}` '
        'lines ending with `data: [DONE]`.',
        'content': {'text/event-stream': {'schema': {'type': 'string'}}},
    }
}


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/v1', tags=['OpenAI-compatible gateway'])
    actor = Authenticator(services)

    async def model_objects(user_id: int) -> list[dict]:
        seen: dict[str, dict] = {}
        for m in await services.catalogue.api_models(user_id):
            created = int(m.modified_at.timestamp()) if m.modified_at else 0
            seen.setdefault(m.name, {'id': m.name, 'object': 'model', 'created': created, 'owned_by': 'library'})
        return list(seen.values())

    @router.get('/models', summary='List models (OpenAI format)', response_model=ModelList, responses=ERRORS)
    async def list_models(user: Annotated[Actor, Depends(actor)]):
        return {'object': 'list', 'data': await model_objects(user.id)}

    @router.get(
        '/models/{model:path}', summary='One model (OpenAI format)', response_model=ModelObject, responses=ERRORS
    )
    async def get_model(model: str, user: Annotated[Actor, Depends(actor)]):
        wanted = model if ':' in model else f'{model}:latest'
        for item in await model_objects(user.id):
            if item['id'] in (model, wanted):
                return item
        raise NotFound(
            N_('The model "{model}" does not exist on this platform. GET /v1/models lists the models.', model=model)
        )

    @router.post(
        '/chat/completions',
        summary='Create a chat completion (OpenAI format; SSE when streaming; tools)',
        response_model=ChatCompletion,
        responses={**SSE_DOC, **ERRORS},
    )
    async def chat_completions(body: ChatCompletionRequest, user: Annotated[Actor, Depends(actor)]):
        kwargs: dict[str, Any] = {
            'model': body.model,
            'messages': fmt.messages_to_ollama(body.messages),
            'tools': fmt.tools_to_ollama(body.tools) if body.tool_choice != 'none' else None,
            'options': fmt.options_from(body),
            'format': fmt.format_from(body.response_format),
            'keep_alive': body.keep_alive,
            'via': 'openai',
        }
        if not body.stream:
            result = await services.inference.chat(user.id, **kwargs)
            return fmt.completion(
                body.model, result.message, result.done_reason, result.prompt_tokens, result.completion_tokens
            )
        parts = await primed(await services.inference.chat_stream(user.id, **kwargs))
        include_usage = bool((body.stream_options or {}).get('include_usage'))
        return Streaming(
            _sse(parts, body.model, include_usage),
            media_type='text/event-stream',
            headers={'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no'},
        )

    @router.post(
        '/embeddings', summary='Create embeddings (OpenAI format)', response_model=EmbeddingList, responses=ERRORS
    )
    async def embeddings(body: EmbeddingRequest, user: Annotated[Actor, Depends(actor)]):
        inputs = [body.input] if isinstance(body.input, str) else body.input
        result = await services.inference.embed(
            user.id, model=body.model, inputs=inputs, dimensions=body.dimensions, via='openai'
        )
        return {
            'object': 'list',
            'data': [{'object': 'embedding', 'embedding': e, 'index': i} for i, e in enumerate(result.embeddings)],
            'model': body.model,
            'usage': {'prompt_tokens': result.prompt_tokens, 'total_tokens': result.prompt_tokens},
        }

    return router


async def _sse(parts: AsyncIterator[Any], model: str, include_usage: bool) -> AsyncIterator[bytes]:
    ident = fmt.new_id('chatcmpl-')
    yield fmt.sse(fmt.chunk(ident, model, {'role': 'assistant', 'content': ''}))
    tool_index = 0
    done_reason, prompt, completion = None, 0, 0
    started = time.time()
    try:
        async for part in parts:
            message = message_dict(part.message)
            if message.get('content'):
                yield fmt.sse(fmt.chunk(ident, model, {'content': message['content']}))
            for call in fmt.tool_calls_to_openai(message.get('tool_calls')) or []:
                yield fmt.sse(fmt.chunk(ident, model, {'tool_calls': [{'index': tool_index, **call}]}))
                tool_index += 1
            if part.done:
                done_reason, prompt, completion = part.done_reason, part.prompt_eval_count or 0, part.eval_count or 0
    except (OllamaError, ServiceError) as exc:
        error = {'error': {'message': exc.message, 'type': 'api_error', 'param': None, 'code': None}}
        yield fmt.sse(error)
        yield fmt.sse('[DONE]')
        return
    finally:
        await parts.aclose()  # type: ignore[attr-defined]
    yield fmt.sse(fmt.chunk(ident, model, {}, fmt.finish_reason(done_reason, tool_index > 0)))
    if include_usage:
        usage = {'prompt_tokens': prompt, 'completion_tokens': completion, 'total_tokens': prompt + completion}
        yield fmt.sse({**fmt.chunk(ident, model, {}), 'choices': [], 'usage': usage, 'created': int(started)})
    yield fmt.sse('[DONE]')
