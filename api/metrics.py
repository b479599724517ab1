"""`GET /metrics`: Prometheus metrics (services/core/metrics.py), off unless `METRICS_TOKEN` is set; then only with
`Authorization: Bearer <METRICS_TOKEN>` (Prometheus: `authorization: {credentials: <token>}` in the scrape config).
"""

import hmac
from typing import Annotated

from fastapi import APIRouter, Security
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from api.deps import bearer
from api.problems import ApiError
from services.core import metrics
from services.wiring import Services


def create_router(services: Services) -> APIRouter:
    router = APIRouter(tags=['health'])
    token = services.settings.metrics_token

    @router.get(
        '/metrics',
        summary='Prometheus metrics (needs METRICS_TOKEN as a bearer token; off when it is not set)',
        response_class=Response,
        responses={200: {'content': {CONTENT_TYPE_LATEST: {}}, 'description': 'The Prometheus text format'}},
    )
    async def scrape(credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]) -> Response:
        if not token:
            raise ApiError(404, 'Metrics are off. Set METRICS_TOKEN to turn them on (see docs/deployment.md).')
        given = credentials.credentials if credentials else ''
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise ApiError(401, 'Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>".')
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return router
