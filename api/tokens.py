"""/api/v1/tokens: your personal API tokens."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import Actor, Authenticator, Page, PageParams, page_params, paginate
from api.problems import problem_responses
from services.wiring import Services


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=80, examples=['laptop notebook'])
    expires_in_days: int | None = Field(None, ge=1, le=3650, description='Days until it expires; null: never.')


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description='The first characters of the secret, to recognise it.')
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(BaseModel):
    token: TokenOut
    secret: str = Field(description='The token itself. Shown only in this reply: store it now.')


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/api/v1/tokens', tags=['tokens'])
    actor = Authenticator(services)

    @router.get('', summary='List your API tokens', response_model=Page[TokenOut], responses=problem_responses(401))
    async def list_tokens(user: Annotated[Actor, Depends(actor)], page: Annotated[PageParams, Depends(page_params)]):
        return paginate(await services.tokens.list(user.id), page)

    @router.post(
        '',
        summary='Create an API token (the secret is shown once)',
        description=(
            'The new token expires no later than the token this request is made with, and is revoked with it: '
            'revoking a leaked token also revokes every token created with it.'
        ),
        response_model=NewTokenOut,
        status_code=201,
        responses=problem_responses(401, 422),
    )
    async def create_token(body: TokenCreate, user: Annotated[Actor, Depends(actor)]):
        return await services.tokens.create(
            user.id, body.name, expires_in_days=body.expires_in_days, parent_token_id=user.token_id
        )

    @router.delete(
        '/{token_id}',
        summary='Revoke one of your API tokens (it stops working at once)',
        response_model=TokenOut,
        responses=problem_responses(401, 404),
    )
    async def revoke_token(token_id: int, user: Annotated[Actor, Depends(actor)]):
        return await services.tokens.revoke(user.id, token_id)

    return router
