"""Model management for instructors and admins: pull (a background job with live progress), create, copy, delete,
unload. Attendees may see and use models but every method here refuses them (checked against the database, so a
crafted websocket event or a stale page cannot get around it).

A pull is a row (`models.ModelPull`) claimed by the process running it (`services.core.claims`): its progress is
written every second, the models pages of every process show it (live over the bus, and from the database after a
restart), and if its process dies, another takes it over when the lease runs out and pulls again (Ollama resumes the
layers it already has). A process shutting down hands its pulls back, and the next process to start resumes them."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from nicegui import Event

from models import ModelPull, Role
from services.core import actions
from services.core import audit as audit_actions
from services.core.activity import ActivityService
from services.core.audit import AuditService
from services.core.auth import AuthService
from services.core.bus import LiveBus
from services.core.claims import Claims
from services.core.errors import Conflict, InvalidInput, NotFound
from services.core.i18n import N_
from services.models.calls import ModelCalls
from services.models.catalogue import Catalogue
from services.models.errors import ModelNotFound, OllamaError
from services.models.hosts import HostDirectory
from services.models.names import validate as validate_name
from services.models.options import validate_options

log = logging.getLogger(__name__)
STATES = (N_('running'), N_('done'), N_('failed'), N_('cancelled'))  # a pull's states, shown through _()

PULL_MISSING = 'file does not exist'
EMIT_EVERY = 0.1  # seconds between progress events of one pull
SAVE_EVERY = 1.0  # seconds between progress writes of one pull
KEEP_FINISHED = 10  # finished pulls the models page lists


@dataclass(kw_only=True, slots=True)
class PullLayer:
    digest: str
    total: int = 0
    completed: int = 0
    speed: float = 0.0  # bytes per second
    _mark: tuple[float, int] = (0.0, 0)

    @property
    def percent(self) -> float:
        return round(100 * self.completed / self.total, 1) if self.total else 0.0


@dataclass(kw_only=True, slots=True)
class PullJob:
    id: int
    model: str
    host: str
    user_id: int
    status: str = 'starting'
    state: str = 'running'  # running | done | failed | cancelled (shown through _(): STATES)
    error: str = ''
    layers: list[PullLayer] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    @property
    def total(self) -> int:
        return sum(layer.total for layer in self.layers)

    @property
    def completed(self) -> int:
        return sum(layer.completed for layer in self.layers)

    @property
    def percent(self) -> float:
        return round(100 * self.completed / self.total, 1) if self.total else 0.0

    def snapshot(self) -> PullJob:
        return replace(self, layers=[replace(layer) for layer in self.layers])


class ModelAdmin:
    def __init__(
        self,
        calls: ModelCalls,
        hosts: HostDirectory,
        auth: AuthService,
        activity: ActivityService,
        catalogue: Catalogue,
        audit: AuditService,
        bus: LiveBus | None = None,
        lease_seconds: float = 30.0,
    ) -> None:
        self.calls = calls
        self.hosts = hosts
        self.auth = auth
        self.activity = activity
        self.catalogue = catalogue
        self.audit = audit  # every model change goes to the audit log
        self.pulls_changed: Event[list[PullJob]] = Event()
        self._jobs: dict[int, PullJob] = {}
        self._last_emit = 0.0
        self._remote: dict[str, list[PullJob]] = {}  # other processes' pulls (REDIS_URL), by process
        self._stored: list[PullJob] = []  # recent pulls from the database (before a restart, or by other processes)
        self._stopping = False
        self.bus = bus
        self.claims = Claims(ModelPull, bus.origin if bus else uuid.uuid4().hex, lease_seconds, 'pull', state='running')
        self._tasks = self.claims.tasks  # pull id → task, for the pulls running here
        if bus is not None:
            bus.on('pulls', self._on_remote_pulls)
            bus.on('pull_cancel', self._on_remote_cancel)

    async def _audit(self, actor_id: int, action: str, target: str, error: str | None, **details: Any) -> None:
        outcome = 'ok' if error is None else 'failed'
        await self.audit.record(actor_id, action, outcome=outcome, target=target, error=error, **details)

    async def _host(self, host: str | None) -> str:
        return await self.hosts.require_enabled(host) if host else await self.hosts.default()

    # ----- pull ----------------------------------------------------------------------------------------------------
    def pulls(self) -> list[PullJob]:
        """Current and recent pull jobs, of this process and of every other (visible to everyone on the models
        page), newest first."""
        jobs = {job.id: job.snapshot() for job in self._stored}
        jobs |= {job.id: job.snapshot() for remote in self._remote.values() for job in remote}
        jobs |= {job.id: job.snapshot() for job in self._jobs.values()}
        return sorted(jobs.values(), key=lambda j: -j.started_at)

    def _on_remote_pulls(self, payload: dict[str, Any]) -> None:
        jobs = []
        for raw in payload.get('jobs', []):
            layers = [PullLayer(**{k: v for k, v in layer.items() if k != '_mark'}) for layer in raw.pop('layers', [])]
            jobs.append(PullJob(**raw, layers=layers))
        self._remote[payload['origin']] = jobs
        self.pulls_changed.emit(self.pulls())

    def _on_remote_cancel(self, payload: dict[str, Any]) -> None:
        task = self._tasks.get(payload.get('job_id', -1))
        if task is not None and not task.done():
            log.info('pull %s cancelled from another process', payload['job_id'])
            task.cancel()

    async def start_pull(self, actor_id: int, name: str, host: str | None = None) -> PullJob:
        await self.auth.require(actor_id, Role.INSTRUCTOR)
        name = validate_name(name)
        url = await self._host(host)
        if any(j.model == name and j.host == url and j.state == 'running' for j in self.pulls()):
            raise Conflict(N_('"{name}" is already being pulled on this host; its progress is shown below.', name=name))
        if await ModelPull.filter(model=name, host=url, state='running').exists():
            raise Conflict(N_('"{name}" is already being pulled on this host; its progress is shown below.', name=name))
        row = await ModelPull.create(
            model=name, host=url, user_id=actor_id, claimed_by=self.claims.owner, lease_until=self.claims.lease()
        )
        job = PullJob(id=row.id, model=name, host=url, user_id=actor_id, started_at=row.started_at.timestamp())
        await self.audit.record(actor_id, audit_actions.MODEL_PULL, outcome='started', target=name, host=url)
        self._launch(job)
        return job.snapshot()

    def _launch(self, job: PullJob) -> None:
        self._jobs[job.id] = job
        for old in [j for j in self._jobs.values() if j.state != 'running'][:-KEEP_FINISHED]:
            self._jobs.pop(old.id, None)
        self.claims.launch(job.id, self._run_pull(job))
        self._emit(force=True)

    async def resume_interrupted(self) -> list[int]:
        """Pull again what a process left unfinished (this one before a restart, or one that died), each taken by
        exactly one process; load the recent pulls for the models page. Keeps the sweeper running."""
        resumed = await self.claims.take_unclaimed(self.resume_interrupted)
        for row in await ModelPull.filter(id__in=resumed):
            log.info('resuming the pull of %s on %s (pull %s)', row.model, row.host, row.id)
            job = PullJob(
                id=row.id, model=row.model, host=row.host, user_id=row.user_id or 0, status=N_('resuming'),
                started_at=row.started_at.timestamp(),
            )  # fmt: skip
            self._launch(job)
        rows = await ModelPull.all().order_by('-id').limit(KEEP_FINISHED + 10)
        self._stored = [_stored_job(row) for row in rows]
        return resumed

    async def stop(self) -> None:
        """At shutdown: stop the pulls running here and hand them back; the next process to look resumes them."""
        self._stopping = True
        await self.claims.stop()

    async def pull_stream(self, actor_id: int, name: str, host: str | None = None) -> AsyncIterator[dict[str, Any]]:
        """For the API: check permissions and the name now, then return the pull's progress as dicts (status,
        completed, total) while it runs in the caller's request."""
        user = await self.auth.require(actor_id, Role.INSTRUCTOR)
        name = validate_name(name)
        url = await self._host(host)
        return self._pull_parts(await self.calls.caller(user.id), url, name)

    async def _pull_parts(self, caller: Any, url: str, name: str) -> AsyncIterator[dict[str, Any]]:
        started = time.perf_counter()
        error: str | None = 'stopped before it finished'
        try:
            async for part in self.calls.pull(caller, url, name):
                yield {'status': part.status or '', 'completed': part.completed, 'total': part.total}
            error = None
        except OllamaError as exc:
            error = exc.message
            raise
        finally:
            latency = (time.perf_counter() - started) * 1000
            await self.activity.record(
                caller.user_id, actions.MODEL_PULL, model=name, host=url, latency_ms=latency, error=error
            )
            await self._audit(caller.user_id, audit_actions.MODEL_PULL, name, error, host=url)
            if error is None:
                await self.catalogue.changed_models(url)

    async def cancel_pull(self, actor_id: int, job_id: int) -> None:
        await self.auth.require(actor_id, Role.INSTRUCTOR)
        task = self._tasks.get(job_id)
        if task is not None and not task.done():
            task.cancel()
            return
        remote = next((j for jobs in self._remote.values() for j in jobs if j.id == job_id), None)
        if remote is not None and remote.state == 'running' and self.bus is not None:
            self.bus.publish('pull_cancel', job_id=job_id)  # the process running it stops it
            return
        # nobody runs it (its process died and nobody took it over yet): cancel the row
        cancelled = await ModelPull.filter(id=job_id, state='running').update(
            state='cancelled', status='cancelled', error=N_('Cancelled.'), finished_at=datetime.now(UTC)
        )
        if not cancelled:
            raise NotFound(N_('That pull is not running any more.'))
        self._stored = [
            replace(j, state='cancelled', status='cancelled') if j.id == job_id else j for j in self._stored
        ]
        self._emit(force=True)

    async def cancel_all(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()

    async def wait(self, job_id: int) -> PullJob:
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.wait([task])
        return self._jobs[job_id].snapshot() if job_id in self._jobs else _stored_job(await ModelPull.get(id=job_id))

    async def _run_pull(self, job: PullJob) -> None:
        started = time.perf_counter()
        saved = time.monotonic()
        try:
            caller = await self.calls.caller(job.user_id)
            async for part in self.calls.pull(caller, job.host, job.model):
                self._progress(job, part)
                if time.monotonic() - saved >= SAVE_EVERY:
                    saved = time.monotonic()
                    await self._save(job)
            job.state, job.status = 'done', N_('success')
        except asyncio.CancelledError:
            if self._stopping:  # shutting down: handed back, resumed by the next process (nothing recorded)
                self._tasks.pop(job.id, None)
                raise
            job.state, job.status, job.error = 'cancelled', 'cancelled', N_('Cancelled.')
        except OllamaError as exc:
            job.state, job.status = 'failed', 'failed'
            if PULL_MISSING in (exc.detail or ''):
                job.error = N_(
                    '"{model}" was not found in the model registry. Check the name and tag (see '
                    'ollama.com/library), then try again.',
                    model=job.model,
                )
            else:
                job.error = exc.message
        except Exception as exc:  # never leave a job "running" forever
            log.exception('pull of %s failed', job.model)
            job.state, job.status, job.error = 'failed', 'failed', N_('The pull failed unexpectedly: {exc}', exc=exc)
        finally:
            if not (self._stopping and job.state == 'running'):
                await self._finish(job, started)

    async def _save(self, job: PullJob) -> None:
        """Write the pull's progress (only while this process holds it)."""
        fields: dict[str, Any] = {'status': job.status[:200], 'total': job.total, 'completed': job.completed}
        if job.state != 'running':
            finished = datetime.fromtimestamp(job.finished_at or time.time(), UTC)
            fields |= {'state': job.state, 'error': job.error, 'finished_at': finished, 'lease_until': None}
        try:
            await ModelPull.filter(id=job.id, claimed_by=self.claims.owner).update(**fields)
        except Exception as exc:  # the database is busy: the next write (or the end) catches up
            log.warning('saving the progress of pull %s failed: %s', job.id, exc)

    async def _finish(self, job: PullJob, started: float) -> None:
        """The pull ended (done, failed or cancelled): save it, tell the pages, record it."""
        job.finished_at = time.time()
        self._tasks.pop(job.id, None)
        await self._save(job)
        self._emit(force=True)
        await self.activity.record(
            job.user_id,
            actions.MODEL_PULL,
            model=job.model,
            host=job.host,
            latency_ms=(time.perf_counter() - started) * 1000,
            error=job.error or None,
            state=job.state,
        )
        outcome = {'done': 'ok', 'cancelled': 'cancelled'}.get(job.state, 'failed')
        await self.audit.record(
            job.user_id,
            audit_actions.MODEL_PULL,
            outcome=outcome,
            target=job.model,
            host=job.host,
            error=job.error or None,
        )
        if job.state == 'done':
            await self.catalogue.changed_models(job.host)

    def _progress(self, job: PullJob, part: Any) -> None:
        job.status = part.status or job.status
        if part.digest:
            layer = next((la for la in job.layers if la.digest == part.digest), None)
            if layer is None:
                layer = PullLayer(digest=part.digest, _mark=(time.perf_counter(), 0))
                job.layers.append(layer)
            layer.total = int(part.total or layer.total)
            completed = int(part.completed or layer.completed)
            now = time.perf_counter()
            mark_time, mark_bytes = layer._mark
            if now - mark_time >= 0.25 or completed >= layer.total:
                if now > mark_time and completed > mark_bytes:
                    layer.speed = (completed - mark_bytes) / (now - mark_time)
                layer._mark = (now, completed)
            layer.completed = completed
        self._emit()

    def _emit(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_emit >= EMIT_EVERY:
            self._last_emit = now
            self.pulls_changed.emit(self.pulls())
            if self.bus is not None and self.bus.shared:  # the models pages of the other processes show it too
                mine = [asdict(job.snapshot()) for job in self._jobs.values()]
                self.bus.publish('pulls', origin=self.bus.origin, jobs=mine)

    # ----- create, copy, delete, unload ----------------------------------------------------------------------------
    async def create(
        self, actor_id: int, name: str, base: str, system: str = '', parameters: dict[str, Any] | None = None
    ) -> str:
        """A custom model from `base` with a system prompt and parameters, on the host that has the base."""
        user = await self.auth.require(actor_id, Role.INSTRUCTOR)
        name = validate_name(name)
        if not base:
            raise InvalidInput(N_('Choose the base model to build on.'))
        if len(system or '') > 20_000:
            raise InvalidInput(N_('The system prompt is too long (at most 20,000 characters).'))
        params = validate_options(parameters or {}, staff=True)  # instructors and admins only (required above)
        params.pop('keep_alive', None)
        url = await self.calls.route(base)
        if self.catalogue.host_has(url, name):
            raise Conflict(
                N_('A model named "{name}" already exists. Pick another name or delete it first.', name=name)
            )
        started, error = time.perf_counter(), None
        try:
            kwargs: dict[str, Any] = {'from_': base}
            if system:
                kwargs['system'] = system
            if params:
                kwargs['parameters'] = params
            async for _ in self.calls.create(await self.calls.caller(user.id), url, name, **kwargs):
                pass
        except OllamaError as exc:
            error = exc.message
            raise
        finally:
            await self.activity.record(
                actor_id,
                actions.MODEL_CREATE,
                model=name,
                host=url,
                latency_ms=(time.perf_counter() - started) * 1000,
                error=error,
                base=base,
                system=(system or '')[:2000],  # for a workshop step's checks (never shown in the feed)
            )
            await self._audit(actor_id, audit_actions.MODEL_CREATE, name, error, host=url, base=base)
        await self.catalogue.changed_models(url)
        return name

    async def copy(self, actor_id: int, host: str, source: str, destination: str) -> str:
        await self.auth.require(actor_id, Role.INSTRUCTOR)
        url = await self.hosts.require_enabled(host)
        destination = validate_name(destination)
        if self.catalogue.host_has(url, destination):
            raise Conflict(N_('A model named "{destination}" already exists on this host.', destination=destination))
        error = None
        try:
            await self.calls.copy(await self.calls.caller(actor_id), url, source, destination)
        except OllamaError as exc:
            error = exc.message
            raise
        finally:
            await self.activity.record(
                actor_id, actions.MODEL_COPY, model=destination, host=url, error=error, source=source
            )
            await self._audit(actor_id, audit_actions.MODEL_COPY, destination, error, host=url, source=source)
        await self.catalogue.changed_models(url)
        return destination

    async def delete(self, actor_id: int, host: str | None, name: str) -> None:
        await self.auth.require(actor_id, Role.INSTRUCTOR)
        url = await self._host(host)
        error = None
        try:
            await self.calls.delete(await self.calls.caller(actor_id), url, name)
        except ModelNotFound as exc:
            error = exc.message
            raise NotFound(N_('The model "{name}" is not on {url}.', name=name, url=url)) from exc
        except OllamaError as exc:
            error = exc.message
            raise
        finally:
            await self.activity.record(actor_id, actions.MODEL_DELETE, model=name, host=url, error=error)
            await self._audit(actor_id, audit_actions.MODEL_DELETE, name, error, host=url)
        await self.catalogue.changed_models(url)

    async def unload(self, actor_id: int, host: str, name: str) -> None:
        await self.auth.require(actor_id, Role.INSTRUCTOR)
        url = await self.hosts.require_enabled(host)
        error = None
        try:
            await self.calls.unload(await self.calls.caller(actor_id), url, name)
        except OllamaError as exc:
            error = exc.message
            raise
        finally:
            await self.activity.record(actor_id, actions.MODEL_UNLOAD, model=name, host=url, error=error)
            await self._audit(actor_id, audit_actions.MODEL_UNLOAD, name, error, host=url)


def _stored_job(row: ModelPull) -> PullJob:
    """A pull as the database has it (its layers are known only to the process running it: one summary layer)."""
    layers = [PullLayer(digest='', total=row.total, completed=row.completed)] if row.total else []
    return PullJob(
        id=row.id, model=row.model, host=row.host, user_id=row.user_id or 0, status=row.status, state=row.state,
        error=row.error, layers=layers, started_at=row.started_at.timestamp(),
        finished_at=row.finished_at.timestamp() if row.finished_at else None,
    )  # fmt: skip
