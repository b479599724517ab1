"""/api/v1/users (admins) and /api/v1/me (everyone)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from api.deps import Actor, Authenticator, Page, PageParams, page_params, paginate
from api.problems import problem_responses
from api.schemas import RoleName, UsageOut, UserOut
from services.core.auth import Role
from services.wiring import Services


class UserCreate(BaseModel):
    email: str = Field(examples=['ada@example.org'])
    display_name: str = Field(examples=['Ada Lovelace'])
    password: str = Field(min_length=1, max_length=1024)
    role: RoleName = 'attendee'


class RoleChange(BaseModel):
    role: RoleName


class PasswordReset(BaseModel):
    password: str = Field(min_length=1, max_length=1024)


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/api/v1', tags=['users'])
    actor = Authenticator(services)
    auth = services.auth
    admin_errors = problem_responses(401, 403, 404, 422)

    @router.get('/me', summary='Your profile', response_model=UserOut, responses=problem_responses(401))
    async def me(user: Annotated[Actor, Depends(actor)]):
        return await auth.require(user.id)

    @router.get(
        '/me/usage',
        summary='Your usage against every quota that applies to you',
        response_model=list[UsageOut],
        responses=problem_responses(401),
    )
    async def my_usage(user: Annotated[Actor, Depends(actor)]):
        return await services.quotas.usage(user.id)

    @router.get('/users', summary='List accounts (admins)', response_model=Page[UserOut], responses=admin_errors)
    async def list_users(
        user: Annotated[Actor, Depends(actor)],
        page: Annotated[PageParams, Depends(page_params)],
        search: Annotated[str, Query(max_length=200, description='Part of a name or email.')] = '',
    ):
        return paginate(await auth.list_users(user.id, search), page)

    @router.post(
        '/users',
        summary='Create an account (admins)',
        response_model=UserOut,
        status_code=201,
        responses=problem_responses(401, 403, 409, 422),
    )
    async def create_user(body: UserCreate, user: Annotated[Actor, Depends(actor)]):
        return await auth.create_user(user.id, body.email, body.display_name, body.password, Role(body.role))

    @router.put(
        '/users/{user_id}/role',
        summary="Change an account's role (admins)",
        response_model=UserOut,
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def set_role(user_id: int, body: RoleChange, user: Annotated[Actor, Depends(actor)]):
        return await auth.set_role(user.id, user_id, Role(body.role))

    @router.post(
        '/users/{user_id}/deactivate',
        summary='Deactivate an account (admins); its tokens stop working at once',
        response_model=UserOut,
        responses=problem_responses(401, 403, 404, 409),
    )
    async def deactivate(user_id: int, user: Annotated[Actor, Depends(actor)]):
        return await auth.set_active(user.id, user_id, False)

    @router.post(
        '/users/{user_id}/activate',
        summary='Reactivate an account (admins)',
        response_model=UserOut,
        responses=problem_responses(401, 403, 404),
    )
    async def activate(user_id: int, user: Annotated[Actor, Depends(actor)]):
        return await auth.set_active(user.id, user_id, True)

    @router.post(
        '/users/{user_id}/password',
        summary="Reset an account's password (admins)",
        status_code=204,
        response_class=Response,
        responses=admin_errors,
    )
    async def reset_password(user_id: int, body: PasswordReset, user: Annotated[Actor, Depends(actor)]) -> Response:
        await auth.reset_password(user.id, user_id, body.password)
        return Response(status_code=204)

    return router
