"""/api/v1/tools: declarative tools (yours, shared and built in) and the tool console (call a tool, see the result)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.deps import Actor, Authenticator, Page, PageParams, page_params, paginate
from api.problems import problem_responses
from api.schemas import Deleted
from services.tools.library import ToolDraft
from services.wiring import Services


class ToolOut(BaseModel):
    ref: str = Field(description='"tool:<id>" or "builtin:<name>": how a conversation refers to it.')
    id: int | None
    name: str
    description: str
    parameters: dict[str, Any] = Field(description='JSON schema of the arguments.')
    kind: str
    config: dict[str, Any] = Field(description="HTTP header values of other people's tools are hidden.")
    visibility: str
    workshop_id: int | None
    owner_id: int | None
    owner_name: str
    can_edit: bool


class ToolIn(BaseModel):
    name: str = Field(max_length=64, examples=['weather'])
    description: str = Field(max_length=1000, examples=['The weather in a city'])
    parameters: dict[str, Any] = Field({}, description='JSON schema of the arguments (type "object").')
    kind: Literal['builtin', 'http', 'static'] = 'static'
    config: dict[str, Any] = Field(
        {}, description='static: {"response": ...}; http: {"method", "url", "headers", ...}; builtin: {"builtin"}'
    )
    visibility: Literal['private', 'workshop', 'public'] = 'private'
    workshop_id: int | None = None

    def draft(self) -> ToolDraft:
        return ToolDraft(**self.model_dump())


class CallIn(BaseModel):
    arguments: dict[str, Any] = Field({}, examples=[{'city': 'Paris'}])


class CallOut(BaseModel):
    name: str
    arguments: dict[str, Any]
    ok: bool
    result: Any = None
    error: str | None = Field(None, description='Why the call failed (bad arguments, HTTP error, refused URL...).')
    duration_ms: float


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/api/v1/tools', tags=['tools'])
    actor = Authenticator(services)
    tools = services.tools
    one = problem_responses(401, 404)

    @router.get(
        '',
        summary='List tools you can see (yours, shared and public)',
        response_model=Page[ToolOut],
        responses=problem_responses(401),
    )
    async def list_tools(
        user: Annotated[Actor, Depends(actor)],
        page: Annotated[PageParams, Depends(page_params)],
        search: Annotated[str, Query(max_length=200, description='Part of the name.')] = '',
    ):
        return paginate(await tools.list_tools(user.id, search), page)

    @router.get(
        '/builtin', summary='The built-in tools', response_model=list[ToolOut], responses=problem_responses(401)
    )
    async def builtin_tools(user: Annotated[Actor, Depends(actor)]):
        return tools.builtin_infos()

    @router.post(
        '/builtin/{name}/call',
        summary='Call a built-in tool with arguments (the tool console)',
        response_model=CallOut,
        responses=problem_responses(401, 404, 422),
    )
    async def call_builtin(name: str, body: CallIn, user: Annotated[Actor, Depends(actor)]):
        return await tools.execute(user.id, f'builtin:{name}', body.arguments)

    @router.post(
        '',
        summary='Create a tool',
        response_model=ToolOut,
        status_code=201,
        responses=problem_responses(401, 409, 422),
    )
    async def create_tool(body: ToolIn, user: Annotated[Actor, Depends(actor)]):
        return await tools.create(user.id, body.draft())

    @router.get('/{tool_id}', summary='One tool', response_model=ToolOut, responses=one)
    async def get_tool(tool_id: int, user: Annotated[Actor, Depends(actor)]):
        return await tools.get(user.id, tool_id)

    @router.put(
        '/{tool_id}',
        summary='Change a tool (owner only)',
        response_model=ToolOut,
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def update_tool(tool_id: int, body: ToolIn, user: Annotated[Actor, Depends(actor)]):
        return await tools.update(user.id, tool_id, body.draft())

    @router.delete(
        '/{tool_id}',
        summary='Delete a tool (owner only)',
        response_model=Deleted,
        responses=problem_responses(401, 403, 404),
    )
    async def delete_tool(tool_id: int, user: Annotated[Actor, Depends(actor)]):
        await tools.delete(user.id, tool_id)
        return Deleted()

    @router.post(
        '/{tool_id}/call',
        summary='Call a tool with arguments (the tool console): the result, or why it failed',
        response_model=CallOut,
        responses=problem_responses(401, 404, 422),
    )
    async def call_tool(tool_id: int, body: CallIn, user: Annotated[Actor, Depends(actor)]):
        return await tools.execute(user.id, f'tool:{tool_id}', body.arguments)

    return router
