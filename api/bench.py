"""Benchmark-only endpoints, mounted only when BENCH_ENDPOINT=true (never in production).

They do exactly what the public flows do (join by code, sign in, record one chat-like action, announce), without
driving the NiceGUI forms over the websocket, so `benchmarks/bench_dashboard.py` can simulate hundreds of browsers.
"""

from __future__ import annotations

import gc
import logging
import time

from fastapi import APIRouter, HTTPException, Request
from nicegui import app

from services.core import actions, sessions
from services.core import logs as applog
from services.core.client_address import client_address
from services.core.errors import ServiceError
from services.wiring import Services

log = logging.getLogger(__name__)


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/api/bench', include_in_schema=False)
    log.warning('benchmark endpoints are enabled (BENCH_ENDPOINT=true): do not run like this in production')
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    started: dict[str, float] = {}

    def on_gc(phase: str, info: dict) -> None:
        if phase == 'start':
            started['t'] = time.perf_counter()
        elif 't' in started:
            pauses[info['generation']].append((time.perf_counter() - started.pop('t')) * 1000)

    gc.callbacks.append(on_gc)

    @router.get('/stats')
    async def stats(reset: bool = False) -> dict:
        result = {
            f'gc_gen{g}': {'count': len(p), 'total_ms': round(sum(p), 1), 'max_ms': round(max(p, default=0), 1)}
            for g, p in pauses.items()
        }
        result['gc_objects'] = len(gc.get_objects())
        result['gc_frozen'] = gc.get_freeze_count()
        if reset:
            for p in pauses.values():
                p.clear()
        return result

    @router.post('/fault')
    async def fault(request: Request) -> dict:
        """An unexpected error on purpose (fault injection for the error-tracking test): a bug the API must answer
        with a plain 500 and report, without the request's body."""
        secret = request.headers.get('authorization', '').removeprefix('Bearer ').strip()
        if secret:
            user, _ = await services.tokens.authenticate(secret)
            applog.bind(user_id=user.id, workshop_id=await services.workshops.workshop_of(user.id))
        await request.body()
        raise RuntimeError('injected fault for the error-tracking test')

    @router.post('/freeze')
    async def freeze() -> dict:
        """What app.py does after start-up, again once the attendees are in: keep the big stable heap out of
        full collections (the tail latency at hundreds of clients)."""
        started_at = time.perf_counter()
        gc.collect()
        gc.freeze()
        return {'ms': round((time.perf_counter() - started_at) * 1000, 1), 'frozen': gc.get_freeze_count()}

    def session_user() -> int:
        user_id = app.storage.user.get('user_id')
        if not user_id:
            raise HTTPException(status_code=401, detail='Please sign in.')
        return user_id

    @router.post('/join')
    async def join(request: Request, code: str, name: str) -> dict:
        try:
            result = await services.workshops.join(code, name, client_address=client_address(request))
        except ServiceError as exc:
            raise HTTPException(status_code=exc.status_code, detail=exc.message) from exc
        await sessions.sign_in(request, result.user_id)
        return {'user_id': result.user_id, 'workshop_id': result.workshop_id}

    @router.post('/login')
    async def login(request: Request, email: str, password: str) -> dict:
        try:
            user = await services.auth.login(email, password, client_address(request))
        except ServiceError as exc:
            raise HTTPException(status_code=exc.status_code, detail=exc.message) from exc
        await sessions.sign_in(request, user.id)
        return {'user_id': user.id}

    @router.post('/act')
    async def act(note: str = '', model: str = 'llama3.2:latest', error: str = '') -> dict:
        user_id = session_user()
        activity = await services.activity.record(
            user_id,
            actions.CHAT,
            model=model,
            host=await services.hosts.default(),
            tokens=42,
            latency_ms=12.5,
            error=error or None,
            note=note[:100],
        )
        return {'id': activity.id, 'workshop_id': activity.workshop_id}

    @router.post('/announce')
    async def announce(workshop_id: int, text: str) -> dict:
        try:
            info = await services.workshops.announce(session_user(), workshop_id, text)
        except ServiceError as exc:
            raise HTTPException(status_code=exc.status_code, detail=exc.message) from exc
        return {'id': info.id}

    return router
