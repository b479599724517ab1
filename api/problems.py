"""Errors of the HTTP API, mapped in ONE place.

`/api/...` answers RFC 9457 problem details (`application/problem+json` with type, title, status, detail);
`/v1/...` (the OpenAI-compatible gateway) answers OpenAI-shaped errors `{"error": {"message", "type", "param",
"code"}}`. Service errors (`ServiceError`), Ollama errors (`OllamaError`) and request validation errors all come
through here. Refused requests (401, 403, 404) are written to the audit log.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.core import audit as audit_actions
from services.core import faults, metrics
from services.core import logs as applog
from services.core.client_address import client_address
from services.core.errors import NotAuthenticated, ServiceError, Throttled
from services.models.errors import ModelNotFound, OllamaBadRequest, OllamaBusy, OllamaError, OllamaTimeout
from services.wiring import Services

log = logging.getLogger(__name__)

PROBLEM_TYPE = 'https://ollama-workshop.invalid/problems/'
OPENAI_TYPES = {
    400: 'invalid_request_error',
    401: 'authentication_error',
    403: 'permission_error',
    404: 'not_found_error',
    409: 'invalid_request_error',
    422: 'invalid_request_error',
    429: 'rate_limit_exceeded',
}


class Problem(BaseModel):
    """An RFC 9457 problem details body."""

    type: str
    title: str
    status: int
    detail: str


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIError(BaseModel):
    error: OpenAIErrorDetail


class ApiError(Exception):
    """An HTTP-level refusal raised by API code that is not a service error."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the problem bodies a route may answer."""
    return {
        s: {'model': Problem, 'description': HTTPStatus(s).phrase, 'content': {'application/problem+json': {}}}
        for s in statuses
    }


def openai_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {'model': OpenAIError, 'description': HTTPStatus(s).phrase} for s in statuses}


def is_gateway(request: Request) -> bool:
    return request.url.path.startswith('/v1/') or request.url.path == '/v1'


def is_api(request: Request) -> bool:
    return request.url.path.startswith(('/api/', '/v1/'))


def error_response(request: Request, status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault('WWW-Authenticate', 'Bearer')
    title = HTTPStatus(status).phrase
    metrics.error(title.lower().replace(' ', '-').replace("'", ''))
    if is_gateway(request):
        kind = OPENAI_TYPES.get(status, 'api_error')
        code = {401: 'invalid_api_key', 404: 'not_found', 429: 'rate_limit_exceeded'}.get(status)
        body = {'error': {'message': detail, 'type': kind, 'param': None, 'code': code}}
        return JSONResponse(body, status_code=status, headers=headers)
    slug = title.lower().replace(' ', '-').replace("'", '')
    body = {'type': f'{PROBLEM_TYPE}{slug}', 'title': title, 'status': status, 'detail': detail}
    return JSONResponse(body, status_code=status, headers=headers, media_type='application/problem+json')


def ollama_status(exc: OllamaError) -> int:
    if isinstance(exc, ModelNotFound):
        return 404
    if isinstance(exc, OllamaBadRequest):
        return 400
    if isinstance(exc, OllamaBusy):
        return 503
    if isinstance(exc, OllamaTimeout):
        return 504
    return 502


def install(app: FastAPI, services: Services) -> None:
    """Register the exception handlers (called once by app.py)."""

    async def audited(request: Request, status: int, detail: str, already: bool = False) -> None:
        if status in (401, 403, 404) and not already and is_api(request):
            await services.audit.record(
                getattr(request.state, 'actor_id', None),
                audit_actions.REQUEST_REFUSED,
                outcome='refused',
                target=f'{request.method} {request.url.path}'[:300],
                ip=client_address(request) or None,
                status=status,
                detail=detail[:300],
            )

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        if not is_api(request):
            raise exc  # pages handle their own errors; anything left is a bug (500)
        headers = {}
        if isinstance(exc, Throttled) and exc.retry_after:
            headers['Retry-After'] = str(int(exc.retry_after) + 1)
        status = exc.status_code if not isinstance(exc, NotAuthenticated) else 401
        await audited(request, status, exc.message, getattr(exc, 'audited', False))
        return error_response(request, status, exc.message, headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        await audited(request, exc.status, exc.detail)
        return error_response(request, exc.status, exc.detail, exc.headers)

    @app.exception_handler(OllamaError)
    async def ollama_error(request: Request, exc: OllamaError) -> JSONResponse:
        if not is_api(request):
            raise exc
        return error_response(request, ollama_status(exc), exc.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        if not is_api(request):
            return await request_validation_exception_handler(request, exc)
        parts = []
        for error in exc.errors()[:5]:
            where = '.'.join(str(x) for x in error.get('loc', ()) if x != 'body')
            parts.append(f'{where}: {error.get("msg")}' if where else str(error.get('msg')))
        status = 400 if is_gateway(request) else 422  # OpenAI answers 400 for invalid requests
        return error_response(request, status, 'The request is not valid: ' + '; '.join(parts))

    async def unknown_route(request: Request, exc: Exception) -> JSONResponse:
        detail = f'There is no {request.method} {request.url.path} endpoint. The API is documented at /docs.'
        return error_response(request, 404, detail)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(request, exc.status_code, str(exc.detail), dict(exc.headers or {}))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        fault = faults.explain(exc)  # a full disk or a locked database: say so (503), it is not a bug
        if fault:
            log.warning('%s %s could not be done: %s (%s)', request.method, request.url.path, fault, exc)
            return error_response(request, 503, fault, {'Retry-After': '30'})
        log.exception('unexpected error in %s %s', request.method, request.url.path, exc_info=exc)
        request_id = applog.request_id_var.get()
        detail = (
            'Something went wrong on the server. It was logged (request id ' + request_id + '); try again, or tell an'
            ' admin if it keeps happening.'
        )
        return error_response(request, 500, detail)  # X-Request-ID: set around everything (services/core/logs.py)

    async def overflow(request: Request, exc: Exception) -> JSONResponse:
        # an id or number too large for the database (e.g. /knowledge/99999999999999999999999999): the input's fault
        return error_response(request, 422, 'A number in the request is too large. Check the ids and values sent.')

    # NiceGUI renders HTML error pages for these; under /api and /v1 answer in the API's format instead
    _for_api(app, 404, unknown_route)
    _for_api(app, StarletteHTTPException, http_error)
    _for_api(app, OverflowError, overflow)
    _for_api(app, Exception, unexpected)


def _for_api(app: FastAPI, key: int | type[Exception], handler) -> None:
    """Install `handler` for API paths and keep the existing handler for everything else (idempotent: the test
    harness runs app.py once per test, so never wrap a wrapper)."""
    previous = app.exception_handlers.get(key)
    previous = getattr(previous, 'original_handler', previous)
    if previous is None and key is StarletteHTTPException:
        previous = http_exception_handler

    async def dispatch(request: Request, exc: Exception):
        if is_api(request):
            return await handler(request, exc)
        if previous is None:
            raise exc
        return await previous(request, exc)

    dispatch.original_handler = previous  # type: ignore[attr-defined]
    app.exception_handlers[key] = dispatch
