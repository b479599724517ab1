"""Composition root: settings, database lifecycle, services built once, routers included, the ui.run guard."""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys

from config import load_settings

settings = load_settings()  # a wrong setting: one plain line per problem, exit code 2
settings.ensure_dirs()
os.environ.setdefault('NICEGUI_STORAGE_PATH', str(settings.storage_dir))  # read when nicegui is first imported
if settings.redis_url:  # browser sessions (NiceGUI's user storage) in Redis, seen by every app process
    os.environ['NICEGUI_REDIS_URL'] = settings.redis_url
    os.environ.setdefault('NICEGUI_REDIS_KEY_PREFIX', 'owp:nicegui:')

from nicegui import Client, app, ui  # noqa: E402

import api  # noqa: E402
import pages  # noqa: E402
from services.core import browser_guard, client_address, db, error_tracking, fast_lane, metrics, tls  # noqa: E402
from services.core import logs as applog  # noqa: E402
from services.core.auth import UsersReadOncePerRequest  # noqa: E402
from services.core.body_limit import BodyLimit  # noqa: E402
from services.core.middleware import AuthMiddleware, Startup, StartupGate  # noqa: E402
from services.wiring import build_services  # noqa: E402

applog.configure(settings.log_format, settings.log_level)
error_tracking.start(settings.sentry_dsn, environment=settings.sentry_environment, send_pii=settings.sentry_send_pii)
applog.install_ui_event_ids()
log = logging.getLogger('app')

services = build_services(settings)
app.state.services = services  # for diagnostics and tests; pages get services handed to them


metrics.add_collector('model calls', services.calls.metric_families)
metrics.add_collector('workshops', services.workshops.metric_families)
metrics.add_collector(
    'websockets',
    lambda: [
        metrics.gauge('owp_websocket_clients', 'Browser pages connected over the websocket.', [],
                      [([], sum(1 for c in Client.instances.values() if c.has_socket_connection))])
    ],
)  # fmt: skip

_chunks_seen: dict[int, int] = {}


def _count_ingested(progress) -> None:
    """Chunks stored by ingestion jobs, from their progress events (the counter behind owp_ingest_chunks_total)."""
    done = progress.chunks_done
    metrics.INGEST_CHUNKS.inc(max(0, done - _chunks_seen.get(progress.job_id, 0)))
    if progress.finished:
        _chunks_seen.pop(progress.job_id, None)
    else:
        _chunks_seen[progress.job_id] = done


services.ingest.progress.subscribe(_count_ingested)
metrics.add_collector(
    'ingestion',
    lambda: [metrics.gauge('owp_ingest_jobs_running', 'Ingestion jobs running in this process.', [],
                           [([], len(_chunks_seen))])],
)  # fmt: skip

started = Startup()
app.state.startup = started


async def startup() -> None:
    started.users += 1  # the test harness may run the lifespan more than once (one per simulated browser)
    if started.users > 1:
        return
    try:
        applied = await db.open_database(settings.db_url)
    except Exception as exc:
        started.error = f'the database could not be opened or migrated ({exc}). Check DATABASE_URL and the logs.'
        log.exception('database start-up failed')
        started.ready.set()
        return
    log.info('database ready (%d migration(s) applied)', len(applied))
    try:
        tls.ssl_context()  # load the CA bundle now, not in the middle of the first health check or tool call
        await services.bus.start()  # with REDIS_URL: live events from and to the other app processes
        services.health.start()
        services.catalogue.start()
        await services.ingest.resume_interrupted()  # jobs a previous process left running continue where they stopped
        await services.reindex.resume_interrupted()  # and so do re-index jobs (keyword search)
        await services.model_admin.resume_interrupted()  # and so do model pulls
    except Exception as exc:  # every request then gets this reason at once, not "still starting" after two minutes
        started.error = f'the platform could not start ({exc}). Correct the setting it names and restart.'
        log.exception('start-up failed')
        started.ready.set()
        return
    started.ready.set()
    gc.collect()
    gc.freeze()  # a big, stable heap after start-up: keep it out of full collections (tail latency)
    # hand the GIL over after 1 ms instead of 5: a database query runs in aiosqlite's thread, which otherwise waits
    # up to 5 ms for the event loop to let go on every query (measured: an action's request 14 → 8-10 ms under load)
    sys.setswitchinterval(0.001)
    # full collections of what a busy room adds (~30 ms on 2 cores with 100k objects) one tenth as often: a relayed
    # stream allocates steadily, and each full collection pauses every other request in the process
    gc.set_threshold(700, 10, 100)


async def shutdown() -> None:
    started.users -= 1
    if started.users > 0:
        return
    log.info('shutting down: requests in flight have finished or were cut after SHUTDOWN_TIMEOUT')
    await services.health.stop()
    await services.catalogue.stop()
    await services.preflight.stop()
    await services.model_admin.stop()  # running pulls are handed back: the next process resumes them
    await services.ingest.stop()
    await services.reindex.stop()
    await services.bus.stop()
    await services.calls.close()
    await services.tokens.flush()  # "last used" times of API tokens still waiting to be written
    await services.vector_databases.close()
    await services.vectors.close()
    await db.close_database()
    log.info('shut down cleanly (database closed)')


def _stop_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (`docker stop`) ends the process with exit code 0, after uvicorn's graceful shutdown.

    uvicorn handles SIGTERM itself while it serves (stops accepting, finishes requests in flight, runs the shutdown
    hooks) and then raises the signal again for the handler it found: this one. Without it the default action would
    end the process as killed by SIGTERM (exit code 143) — or, as PID 1 of a container, ignore it."""
    raise SystemExit(0)


app.on_startup(startup)
app.on_shutdown(shutdown)
app.add_middleware(UsersReadOncePerRequest)  # a token's user is not read twice in one API request
app.add_middleware(BodyLimit, max_body_mb=settings.max_body_mb, max_upload_mb=settings.max_upload_request_mb)
app.add_middleware(AuthMiddleware)
app.add_middleware(StartupGate, startup=started)
app.add_middleware(metrics.HttpMetrics)  # outermost: every request counted and timed, refusals included
# /api/v1 and /v1 skip the BaseHTTPMiddleware layers, session and GZip (streams); request ids around everything
fast_lane.install(app, around=applog.RequestIdMiddleware)
browser_guard.install(app, public_url=settings.public_url, cookie_secure=settings.cookie_secure)
# outermost: the client's address and scheme, from a trusted proxy's forwarded headers or the TCP peer
client_address.install(app, trusted=settings.trusted_proxies)
# FastAPI wraps the app's lifespan once per included router; the test harness re-runs this file for every test, so
# without restoring it the nesting grows until RecursionError. Our routers have no lifespan of their own.
lifespan = app.router.lifespan_context
for router in (*api.routers(services), *pages.routers(services)):  # API first: matched before ~100 page routes
    app.include_router(router)
app.router.lifespan_context = lifespan
api.install(app, services)
# Quasar's loading bar follows every XHR (an upload) with a progress bar that has no name; uploads show their own
app.config.quasar_config['loadingBar']['skipHijack'] = True

if __name__ in {'__main__', '__mp_main__'}:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    ui.run(
        host=settings.host,
        port=settings.port,
        title='Ollama Workshop Platform',
        favicon='🦙',
        language='en-GB',  # <html lang> and Quasar's texts; a tab served in another language says so (components.i18n)
        storage_secret=settings.secret,
        reload=False,
        show=False,
        fastapi_docs=True,
        show_welcome_message=True,
        proxy_headers=False,  # forwarded headers are read by services.core.client_address, from TRUSTED_PROXIES only
        timeout_graceful_shutdown=settings.shutdown_timeout,  # passed on to uvicorn
    )
