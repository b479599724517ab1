"""/api/v1/vector-databases: the vector databases knowledge bases can keep their vectors in (admins manage them)."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import Actor, Authenticator
from api.problems import problem_responses
from api.schemas import Deleted
from services.wiring import Services


class VectorDatabaseOut(BaseModel):
    id: int | None = Field(description='None for the built-in store (MILVUS_URI); use it as vector_db_id otherwise.')
    name: str
    uri: str = Field(description='The server address without credentials.')
    has_token: bool = Field(description='Whether a token is stored (it is never returned).')
    knowledge_bases: int = Field(description='How many knowledge bases keep their vectors here.')
    builtin: bool


class VectorDatabaseIn(BaseModel):
    name: str = Field(min_length=1, max_length=80, examples=['Team Milvus'])
    uri: str = Field(min_length=1, max_length=300, examples=['http://milvus.example.org:19530'])
    token: str = Field('', max_length=500, description='Milvus token ("user:password" or an API key); write-only.')


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/api/v1/vector-databases', tags=['vector databases'])
    actor = Authenticator(services)
    databases = services.vector_databases

    @router.get(
        '',
        summary='List the vector databases (the built-in one first) and how many knowledge bases use each',
        description='Tokens are never returned, only whether one is set.',
        response_model=list[VectorDatabaseOut],
        responses=problem_responses(401),
    )
    async def list_databases(user: Annotated[Actor, Depends(actor)]):
        return await databases.list(user.id)

    @router.post(
        '',
        summary='Add a Milvus server (admins); its connection is tested first',
        description='Answers 422 with the reason when the URI is not valid or the server cannot be reached with the '
        'token; nothing is stored then. Answers 409 when the name is taken.',
        response_model=VectorDatabaseOut,
        status_code=201,
        responses=problem_responses(401, 403, 409, 422),
    )
    async def create_database(body: VectorDatabaseIn, user: Annotated[Actor, Depends(actor)]):
        return await databases.create(user.id, body.name, body.uri, body.token)

    @router.delete(
        '/{vector_db_id}',
        summary='Remove a vector database configuration (admins)',
        description='Refused with 409 while knowledge bases use it. The data on the server is left as it is.',
        response_model=Deleted,
        responses=problem_responses(401, 403, 404, 409),
    )
    async def delete_database(vector_db_id: int, user: Annotated[Actor, Depends(actor)]):
        await databases.delete(user.id, vector_db_id)
        return Deleted()

    return router
