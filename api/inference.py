"""/api/v1/chat and /api/v1/embeddings: Ollama-style model calls (quota-checked and recorded in the activity log)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import Actor, Authenticator
from api.problems import problem_responses
from api.streaming import Streaming, ndjson, primed
from services.chat.inference import message_dict
from services.wiring import Services

ERRORS = problem_responses(401, 403, 404, 422, 429, 502, 503, 504)


class ToolCallIn(BaseModel):
    function: dict[str, Any] = Field(description='{"name": ..., "arguments": {...}}')


class MessageIn(BaseModel):
    role: Literal['system', 'user', 'assistant', 'tool']
    content: str = ''
    images: list[str] | None = Field(None, description='Base64-encoded images (vision models).')
    tool_calls: list[ToolCallIn] | None = None
    tool_name: str | None = Field(None, description='For role "tool": the tool whose result this is.')


class ChatRequest(BaseModel):
    model: str = Field(min_length=1, max_length=200, examples=['llama3.2'])
    messages: list[MessageIn] = Field(min_length=1, max_length=500)
    stream: bool = Field(False, description='Stream the reply as NDJSON (one JSON object per line).')
    tools: list[dict[str, Any]] | None = Field(None, description='Tool definitions (OpenAI function format).')
    options: dict[str, Any] | None = Field(
        None,
        description='Model options, e.g. {"temperature": 0.2}, within the platform\'s ranges. Host-level ones '
        '(num_gpu, num_thread, num_batch, use_mmap, ...) only for instructors and admins (an attendee: 403).',
    )
    format: Any = Field(None, description='"json" or a JSON schema for structured output.')
    think: bool | str | None = Field(None, description='Thinking models: true/false or "low"/"medium"/"high".')
    keep_alive: str | int | float | None = Field(
        None,
        description='How long the model stays loaded after the call ("5m", seconds; 0 unloads it, -1 keeps it). '
        'Instructors and admins only: an attendee is refused with 403.',
    )


class MessageOut(BaseModel):
    role: str
    content: str
    thinking: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChatOut(BaseModel):
    model: str
    message: MessageOut
    done_reason: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float


class ChatChunk(BaseModel):
    model: str
    message: MessageOut
    done: bool
    done_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str | None = Field(None, description='Set on a final line when the reply broke off.')


class EmbeddingsRequest(BaseModel):
    model: str = Field(min_length=1, max_length=200, examples=['nomic-embed-text'])
    input: str | list[str] = Field(description='One text or a list of texts.')
    dimensions: int | None = Field(None, ge=1, le=8192)


class EmbeddingsOut(BaseModel):
    model: str
    embeddings: list[list[float]]
    prompt_tokens: int


def _chunk(part: Any) -> dict:
    return {
        'model': part.model,
        'message': message_dict(part.message),
        'done': bool(part.done),
        'done_reason': part.done_reason,
        'prompt_tokens': part.prompt_eval_count if part.done else None,
        'completion_tokens': part.eval_count if part.done else None,
    }


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/api/v1', tags=['chat and embeddings'])
    actor = Authenticator(services)
    inference = services.inference

    @router.post(
        '/chat',
        summary='Chat with a model (set "stream": true for NDJSON)',
        response_model=ChatOut,
        responses={
            200: {
                'description': 'The reply; with "stream": true, NDJSON chunks (application/x-ndjson).',
                'content': {'application/x-ndjson': {'schema': ChatChunk.model_json_schema()}},
            },
            **ERRORS,
        },
    )
    async def chat(body: ChatRequest, user: Annotated[Actor, Depends(actor)]):
        kwargs = {
            'model': body.model,
            'messages': [m.model_dump(exclude_none=True) for m in body.messages],
            'tools': body.tools,
            'options': body.options,
            'format': body.format,
            'think': body.think,
            'keep_alive': body.keep_alive,
            'via': 'api',
        }
        if not body.stream:
            return await inference.chat(user.id, **kwargs)
        parts = await primed(await inference.chat_stream(user.id, **kwargs))
        return Streaming(ndjson(parts, _chunk), media_type='application/x-ndjson')

    @router.post('/embeddings', summary='Embed texts', response_model=EmbeddingsOut, responses=ERRORS)
    async def embeddings(body: EmbeddingsRequest, user: Annotated[Actor, Depends(actor)]):
        inputs = [body.input] if isinstance(body.input, str) else body.input
        return await inference.embed(user.id, model=body.model, inputs=inputs, dimensions=body.dimensions, via='api')

    return router
