"""Request dependencies of the API: the acting user from a bearer token, and pagination parameters.

actor = Authenticator(services)
@router.get('/things')
async def things(user: Actor = Depends(actor)) -> ...:
    return await services.things.list(user.id)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from services.core import audit as audit_actions
from services.core import logs as applog
from services.core.auth import Role
from services.core.client_address import client_address
from services.core.errors import NotAuthenticated
from services.core.i18n import N_
from services.wiring import Services

# names under which clients commonly put tokens into URLs: refused, because URLs end up in logs and histories
QUERY_TOKEN_NAMES = frozenset({'access_token', 'token', 'api_key', 'apikey', 'api-key', 'key', 'auth'})

bearer = HTTPBearer(
    auto_error=False,
    scheme_name='PersonalToken',
    bearerFormat='owp_<40 characters>',
    description=(
        'A personal API token, created on the "API tokens" page (or POST /api/v1/tokens), sent as '
        '`Authorization: Bearer owp_...`. Tokens in the query string are refused.'
    ),
)


@dataclass(kw_only=True, slots=True, frozen=True)
class Actor:
    """Who is calling: the user (re-read from the database on this request) and the token used."""

    id: int
    role: Role
    token_id: int


class Authenticator:
    """A FastAPI dependency resolving `Authorization: Bearer <personal token>` to the acting user."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def __call__(
        self, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
    ) -> Actor:
        ip = client_address(request) or None
        if any(name.lower() in QUERY_TOKEN_NAMES for name in request.query_params):
            await self.services.audit.record(
                None,
                audit_actions.TOKEN_REFUSED,
                outcome='refused',
                ip=ip,
                reason='token_in_query',
                target=request.url.path,
            )
            error = NotAuthenticated(
                N_(
                    'API tokens are accepted only in the Authorization header ("Authorization: Bearer '
                    'owp_..."), never in the URL, where they leak into logs and browser history. Revoke '
                    'that token and create a new one.'
                )
            )
            error.audited = True
            raise error
        if credentials is None:
            raise NotAuthenticated(
                N_(
                    'Send your personal API token as "Authorization: Bearer owp_...". Create one on the '
                    '"API tokens" page.'
                )
            )
        user, token_id = await self.services.tokens.authenticate(credentials.credentials, ip=ip)
        request.state.actor_id = user.id
        applog.bind(user_id=user.id)
        return Actor(id=user.id, role=user.role, token_id=token_id)


# ----- pagination ------------------------------------------------------------------------------------------------
MAX_LIMIT = 200
T = TypeVar('T')


@dataclass(kw_only=True, slots=True, frozen=True)
class PageParams:
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f'Items per page (at most {MAX_LIMIT}).')] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description='Items to skip.')] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


class Page(BaseModel, Generic[T]):
    """One page of a list: `items`, the `total` number that match, and the `limit`/`offset` used."""

    items: list[T]
    total: int
    limit: int
    offset: int


def paginate(items: list, params: PageParams) -> dict:
    """A page of an in-memory list (for services that return whole lists)."""
    return {
        'items': items[params.offset : params.offset + params.limit],
        'total': len(items),
        'limit': params.limit,
        'offset': params.offset,
    }


def page_of(items: list, total: int, params: PageParams) -> dict:
    """A page the service already cut (limit/offset in the query)."""
    return {'items': items, 'total': total, 'limit': params.limit, 'offset': params.offset}
