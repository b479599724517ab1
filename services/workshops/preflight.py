"""Ready to teach: the pre-flight check of a workshop's models on every Ollama host, the one-click "pull what is
missing and warm everything up", keeping a live workshop's models loaded, and the capacity forecast.

- **Which models.** The workshop's allowed models; a workshop that allows every model is checked with the chat
  models of the catalogue (at most `MAX_MODELS`, and the report says so).
- **The check** (`PreflightService.check`): for every model and every enabled host, is it pulled (the host's model
  list) and loaded (`ps`)? A host that does not answer is reported down. What earlier warm-ups measured on a host
  (load time, time to first token, tokens per second) is kept in memory and shown again.
- **Pull and warm up** (`PreflightService.start`): a background job per workshop. Each host works through the models
  one by one (hosts in parallel): a missing model is pulled there (`ModelAdmin.start_pull`, so the pull is audited and
  shown on the models page too), then warmed up with one short streamed chat (an embedding model: one embedding) with
  `keep_alive` (`WORKSHOP_KEEP_ALIVE`), which measures Ollama's `load_duration`, the time to the first token (without
  the load) and the tokens per second (`eval_count / eval_duration`). At the end every host is asked again what is
  loaded, so a model pushed out by the next one (a host without memory for all of them) shows as not loaded.
  Progress is pushed through `changed` (at most ~10 times a second per workshop).
- **Keep-alive.** After each sample of a live workshop (`WorkshopService.sampled`) the models it uses (its allowed
  models, else the ones warmed up for it here) that are pulled on a host but no longer loaded there are warmed again,
  at most once per `rewarm_seconds` per model and host; one that keeps being unloaded (`THRASH_LIMIT` times in
  `THRASH_WINDOW` seconds) is left alone and reported.
- **Who.** Only the workshop's managers (owner, co-instructors, admins: `WorkshopService._manage`). Every call here
  is `Purpose.WORKSHOP_CHECK`: staff or system work, never counted against quotas.
- **Forecast** (`PreflightService.forecasts`): the queueing model of `services.workshops.capacity` per chat model,
  with the slots of every host that has the model and the speeds measured there.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nicegui import Event, background_tasks

from models import Workshop, WorkshopMembership
from services.core.errors import Conflict, InvalidInput, ServiceError
from services.core.i18n import N_, joined
from services.core.membership import full_name
from services.models.admin import ModelAdmin, PullJob
from services.models.callers import SYSTEM, Caller, Purpose
from services.models.calls import ModelCalls
from services.models.catalogue import Catalogue
from services.models.errors import OllamaError
from services.models.hosts import HostDirectory
from services.models.options import validate_keep_alive
from services.workshops import capacity
from services.workshops.service import WorkshopService

log = logging.getLogger(__name__)

MAX_MODELS = 8  # a workshop that allows every model: check at most this many chat models of the catalogue
WARM_MESSAGES = [{'role': 'user', 'content': 'Greet a workshop audience in two short sentences.'}]
WARM_TOKENS = 64  # enough tokens to measure a speed
KEEP_MESSAGES = [{'role': 'user', 'content': 'Hi'}]
PULL_SHARE = 0.8  # of a model's progress bar: the pull; the rest is the warm-up
LOOK_TIMEOUT = 10.0  # seconds a host may take to list its models or say what is loaded
EMIT_EVERY = 0.1
THRASH_LIMIT = 3
THRASH_WINDOW = 600.0
DEFAULT_ATTENDEES = 20  # the forecast of a workshop nobody joined yet


@dataclass(kw_only=True, slots=True)
class HostState:
    url: str
    label: str
    slots: int  # generation slots (the host's own number, or OLLAMA_SLOTS)
    up: bool | None = None  # None: not asked yet
    error: str = ''


@dataclass(kw_only=True, slots=True)
class ModelCheck:
    """One model on one host."""

    model: str
    host: str
    host_label: str
    embedding: bool = False  # an embedding-only model: warmed with an embedding, no speed or forecast
    pulled: bool | None = None  # None: unknown (the host is down)
    loaded: bool | None = None
    phase: str = 'idle'  # idle | queued | pulling | warming | done | failed | down
    progress: float = 0.0  # 0..1 while the job runs
    status: str = ''
    error: str = ''
    warning: str = ''
    load_s: float | None = None  # Ollama's load_duration of the warm-up
    ttft_s: float | None = None  # time to the first token, without the load
    tokens_per_s: float | None = None  # eval_count / eval_duration
    measured_at: float | None = None
    pull_job: int | None = None

    @property
    def ready(self) -> bool:
        return bool(self.pulled and self.loaded)


@dataclass(kw_only=True, slots=True)
class ModelForecast:
    model: str
    forecast: capacity.Forecast | None
    reason: str = ''  # why there is no forecast


@dataclass(kw_only=True, slots=True)
class PreflightReport:
    workshop_id: int
    workshop_state: str
    models: list[str]
    source: str  # allowed | catalogue | none
    note: str
    hosts: list[HostState]
    checks: list[ModelCheck] = field(default_factory=list)
    running: bool = False  # pull and warm-up in progress
    checked_at: float | None = None
    attendees: int = 0  # joined
    online: int = 0  # online or idle now (a live workshop)

    @property
    def ready(self) -> bool:
        return bool(self.checks) and not self.running and all(c.ready for c in self.checks)

    @property
    def suggested_attendees(self) -> int:
        """N for the forecast: the people online in a live workshop, else those who joined, else a planning default."""
        return self.online or self.attendees or DEFAULT_ATTENDEES

    def check_of(self, model: str, host: str) -> ModelCheck | None:
        return next((c for c in self.checks if c.model == model and c.host == host), None)

    def problems(self) -> list[str]:
        """What stands between the workshop and ready, worst first: hosts down, failures, missing, not loaded."""
        down = [f'{h.label} ({h.url}) is down: {h.error}' for h in self.hosts if h.up is False]
        failed, missing, cold = [], [], []
        for c in self.checks:
            if c.phase == 'down':
                continue
            if c.error:
                failed.append(f'{c.model} on {c.host_label}: {c.error}')
            elif not c.pulled:
                missing.append(f'{c.model} is missing on {c.host_label}.')
            elif not c.loaded:
                cold.append(f'{c.model} is not loaded on {c.host_label}.')
        return down + failed + missing + cold

    def summary(self) -> str:
        if self.running:
            done = sum(1 for c in self.checks if c.phase in ('done', 'failed', 'down'))
            return N_('Pulling and warming up… {done} of {count} done.', done=done, count=len(self.checks))
        if not self.hosts:
            return N_('No Ollama host is enabled. An admin has to add one on the hosts page.')
        if not self.models:
            return N_('Nothing to check yet: no model to pull or warm up.')
        if self.ready:
            return N_(
                'Ready to teach: {models} model(s) pulled and loaded on {hosts} host(s).',
                models=len(self.models),
                hosts=len(self.hosts),
            )
        problems = self.problems()
        more = N_(' (and {count} more)', count=len(problems) - 3) if len(problems) > 3 else ''
        return N_('Not ready yet: {problems}{more}', problems=joined(problems[:3]), more=more)

    def snapshot(self) -> PreflightReport:
        return copy.deepcopy(self)


class PreflightService:
    def __init__(
        self,
        *,
        workshops: WorkshopService,
        calls: ModelCalls,
        hosts: HostDirectory,
        catalogue: Catalogue,
        model_admin: ModelAdmin,
        keep_alive: str | int = '30m',
        rewarm_seconds: float = 60.0,
        max_models: int = MAX_MODELS,
    ) -> None:
        self.workshops = workshops
        self.calls = calls
        self.hosts = hosts
        self.catalogue = catalogue
        self.model_admin = model_admin
        self.keep_alive = validate_keep_alive(keep_alive, staff=True)  # the platform keeps models loaded
        self.rewarm_seconds = rewarm_seconds
        self.max_models = max_models
        self.changed: Event[PreflightReport] = Event()  # a snapshot of one workshop's report, on every change
        self._reports: dict[int, PreflightReport] = {}
        self._jobs: dict[int, asyncio.Task] = {}
        self._metrics: dict[tuple[str, str], tuple[float | None, float | None, float | None, float]] = {}
        self._embedding: dict[str, bool] = {}  # model -> embedding-only (known answers only)
        self._warmed: dict[int, set[str]] = {}  # workshop -> models warmed up for it (keep-alive without allowed)
        self._rewarms: dict[tuple[str, str], deque[float]] = {}  # (model, host) -> when it was re-warmed
        self._warnings: dict[tuple[str, str], str] = {}
        self._keeping: dict[int, asyncio.Task] = {}
        self._last_emit: dict[int, float] = {}
        self._pending: dict[int, asyncio.TimerHandle] = {}
        self.rewarmed = 0  # keep-alive warm-ups made (for the logs and tests)
        workshops.sampled.subscribe(self._on_sample)
        model_admin.pulls_changed.subscribe(self._on_pulls)

    # ----- reading ------------------------------------------------------------------------------------------------
    async def view(self, actor_id: int, workshop_id: int) -> PreflightReport | None:
        """The last report of this workshop without asking any host (None: never checked in this process)."""
        await self.workshops._manage(actor_id, workshop_id)
        report = self._reports.get(workshop_id)
        return report.snapshot() if report else None

    async def check(self, actor_id: int, workshop_id: int) -> PreflightReport:
        """Ask every enabled host which of the workshop's models it has and has loaded. While a pull and warm-up
        runs, its live report is returned instead."""
        _, workshop = await self.workshops._manage(actor_id, workshop_id)
        if self.running(workshop_id):
            return self._reports[workshop_id].snapshot()
        report = await self._look(workshop)
        if self.running(workshop_id):  # a job started meanwhile: it wins
            return self._reports[workshop_id].snapshot()
        self._reports[workshop_id] = report
        self._emit(report, force=True)
        return report.snapshot()

    def running(self, workshop_id: int) -> bool:
        task = self._jobs.get(workshop_id)
        return task is not None and not task.done()

    # ----- pull and warm up ---------------------------------------------------------------------------------------
    async def start(self, actor_id: int, workshop_id: int) -> PreflightReport:
        """Pull every missing model on every host and warm everything up, in the background; progress is pushed
        through `changed`."""
        user, workshop = await self.workshops._manage(actor_id, workshop_id)
        busy = N_('Pulling and warming up is already running for this workshop; its progress is shown.')
        if self.running(workshop_id):
            raise Conflict(busy)
        caller = await self.calls.caller(user.id)
        report = await self._look(workshop)
        if not report.hosts:
            raise InvalidInput(N_('No Ollama host is enabled. An admin has to add one on the hosts page.'))
        if not report.models:
            raise InvalidInput(report.note or N_('There is no model to pull or warm up.'))
        if self.running(workshop_id):  # another start won meanwhile (nothing awaits from here to the task)
            raise Conflict(busy)
        report.running = True
        for check in report.checks:
            if check.phase != 'down':
                check.phase, check.status, check.progress, check.error = 'queued', N_('waiting'), 0.0, ''
        self._reports[workshop_id] = report
        self._jobs[workshop_id] = background_tasks.create(
            self._run(report, caller), name=f'workshop-{workshop_id}-preflight'
        )
        self._emit(report, force=True)
        return report.snapshot()

    async def wait(self, workshop_id: int) -> PreflightReport | None:
        """Wait for this workshop's pull and warm-up to finish (tests, the API); its final report."""
        task = self._jobs.get(workshop_id)
        if task is not None:
            await asyncio.wait([task])
        report = self._reports.get(workshop_id)
        return report.snapshot() if report else None

    async def stop(self) -> None:
        for task in [*self._jobs.values(), *self._keeping.values()]:
            task.cancel()

    async def _run(self, report: PreflightReport, caller: Caller) -> None:
        try:
            by_host: dict[str, list[ModelCheck]] = {}
            for check in report.checks:
                if check.phase != 'down':
                    by_host.setdefault(check.host, []).append(check)
            await asyncio.gather(*(self._run_host(report, caller, checks) for checks in by_host.values()))
            await self._refresh_loaded(report)
        except asyncio.CancelledError:
            for check in report.checks:
                if check.phase in ('queued', 'pulling', 'warming'):
                    check.phase, check.status = 'failed', N_('cancelled')
            raise
        except Exception:  # never leave the panel "running" forever
            log.exception('pre-flight of workshop %s failed', report.workshop_id)
        finally:
            report.running = False
            report.checked_at = time.time()
            self._emit(report, force=True)

    async def _run_host(self, report: PreflightReport, caller: Caller, checks: list[ModelCheck]) -> None:
        """One host, one model after the other: pull if missing, then warm up."""
        for check in checks:
            try:
                if not check.pulled and not await self._pull(report, caller, check):
                    continue
                await self._warm(report, caller, check)
            except asyncio.CancelledError:
                raise
            except (OllamaError, ServiceError) as exc:
                check.phase, check.status, check.error = 'failed', N_('failed'), exc.message
            except Exception as exc:
                log.exception('pre-flight of %s on %s failed', check.model, check.host)
                check.phase, check.status, check.error = (
                    'failed',
                    N_('failed'),
                    N_('Something unexpected went wrong: {exc}', exc=exc),
                )
            self._emit(report, force=True)

    async def _pull(self, report: PreflightReport, caller: Caller, check: ModelCheck) -> bool:
        check.phase, check.status, check.progress = 'pulling', N_('starting the pull'), 0.0
        self._emit(report, force=True)
        try:
            job = await self.model_admin.start_pull(caller.user_id, check.model, check.host)  # type: ignore[arg-type]
        except Conflict:  # someone is pulling it there already: follow that pull
            job = next(
                (
                    j
                    for j in self.model_admin.pulls()
                    if j.state == 'running' and j.host == check.host and full_name(j.model) == check.model
                ),
                None,
            )
            if job is None:
                raise
        check.pull_job = job.id
        final = await self.model_admin.wait(job.id)
        check.pull_job = None
        if final.state != 'done':
            check.phase, check.status, check.pulled = 'failed', f'pull {final.state}', False
            check.error = final.error or N_('The pull ended: {state}.', state=final.state)
            return False
        check.pulled, check.progress, check.status = True, PULL_SHARE, N_('pulled')
        self._embedding.pop(check.model, None)  # now it can be asked what it is
        check.embedding = await self._is_embedding(check.model, check.host)
        return True

    async def _warm(self, report: PreflightReport, caller: Caller, check: ModelCheck) -> None:
        check.phase, check.status = 'warming', N_('loading the model')
        check.progress = max(check.progress, 0.05)  # PULL_SHARE after a pull; a model already there starts at 0
        self._emit(report, force=True)
        start = check.progress

        def on_token(count: int) -> None:
            check.progress = start + (1 - start) * min(count, WARM_TOKENS) / WARM_TOKENS * 0.95
            check.status = f'measuring: {count} token(s)'
            self._emit(report)

        load_s, ttft_s, tokens_per_s = await self._measure(caller, check.model, check.host, check.embedding, on_token)
        self._metrics[(check.model, check.host)] = (load_s, ttft_s, tokens_per_s, time.time())
        check.load_s, check.ttft_s, check.tokens_per_s, check.measured_at = load_s, ttft_s, tokens_per_s, time.time()
        check.loaded, check.phase, check.status, check.progress, check.error = True, 'done', N_('ready'), 1.0, ''
        self._warmed.setdefault(report.workshop_id, set()).add(check.model)
        self._warnings.pop((check.model, check.host), None)
        self._rewarms.pop((check.model, check.host), None)

    async def _measure(
        self, caller: Caller, model: str, url: str, embedding: bool, on_token: Callable[[int], None]
    ) -> tuple[float | None, float | None, float | None]:
        """(load seconds, time to first token without the load, tokens per second) of one warm-up call."""
        if embedding:
            reply = await self.calls.embed(caller, Purpose.WORKSHOP_CHECK, model=model, inputs=['warm-up'], host=url)
            return _seconds(getattr(reply, 'load_duration', None)), None, None
        stream = await self.calls.chat_stream(
            caller,
            Purpose.WORKSHOP_CHECK,
            model=model,
            messages=WARM_MESSAGES,
            options={'num_predict': WARM_TOKENS},
            keep_alive=self.keep_alive,
            host=url,
        )
        sent = time.perf_counter()  # the slot is ours: from here it is Ollama's time
        first: float | None = None
        final: Any = None
        count = 0
        try:
            async for part in stream:
                message = getattr(part, 'message', None)
                if first is None and message is not None and (message.content or message.thinking):
                    first = time.perf_counter()
                if message is not None and (message.content or message.thinking):
                    count += 1
                    on_token(count)
                if getattr(part, 'done', False):
                    final = part
        finally:
            await stream.aclose()
        load_s = _seconds(getattr(final, 'load_duration', None))
        ttft_s = max(0.0, (first or time.perf_counter()) - sent - (load_s or 0.0)) if first else None
        evals, duration = getattr(final, 'eval_count', None), getattr(final, 'eval_duration', None)
        tokens_per_s = evals / (duration / 1e9) if evals and duration else None
        return load_s, ttft_s, tokens_per_s

    def _on_pulls(self, jobs: list[PullJob]) -> None:
        """Pull progress (from the models service) into the bars of the running reports."""
        by_id = {job.id: job for job in jobs}
        for workshop_id in list(self._jobs):
            report = self._reports.get(workshop_id)
            if report is None or not report.running:
                continue
            touched = False
            for check in report.checks:
                job = by_id.get(check.pull_job) if check.pull_job is not None else None
                if job is not None and job.state == 'running':
                    check.progress = PULL_SHARE * job.percent / 100
                    check.status = f'pulling {job.percent:.0f} %' if job.total else job.status or N_('pulling')
                    touched = True
            if touched:
                self._emit(report)

    # ----- looking at the hosts -----------------------------------------------------------------------------------
    async def _look(self, workshop: Workshop) -> PreflightReport:
        models, source, note = await self._plan(workshop)
        hosts = [
            HostState(
                url=url,
                label=await self.hosts.label_of(url),
                slots=await self.hosts.slots_of(url) or self.calls.room.default_slots,
            )
            for url in await self.hosts.urls()
        ]
        looks = await asyncio.gather(*(self._look_host(h) for h in hosts))
        state = workshop.state.value if hasattr(workshop.state, 'value') else str(workshop.state)
        report = PreflightReport(
            workshop_id=workshop.id, workshop_state=state, models=models, source=source, note=note, hosts=hosts
        )
        for model in models:
            for host, (pulled, loaded) in zip(hosts, looks, strict=True):
                check = ModelCheck(model=model, host=host.url, host_label=host.label)
                if host.up:
                    check.pulled, check.loaded = model in pulled, model in loaded
                else:
                    check.phase, check.error = 'down', f'{host.label} is down.'
                if (metrics := self._metrics.get((model, host.url))) is not None:
                    check.load_s, check.ttft_s, check.tokens_per_s, check.measured_at = metrics
                check.warning = self._warnings.get((model, host.url), '')
                report.checks.append(check)
            having = next((c.host for c in report.checks if c.model == model and c.pulled), None)
            embedding = await self._is_embedding(model, having)
            for check in report.checks:
                if check.model == model:
                    check.embedding = embedding
        await self._count_attendees(report)
        report.checked_at = time.time()
        return report

    async def _plan(self, workshop: Workshop) -> tuple[list[str], str, str]:
        """The models to check, where they come from, and a note for the panel."""
        allowed = list(dict.fromkeys(full_name(m) for m in workshop.allowed_models or [] if (m or '').strip()))
        if allowed:
            return allowed, 'allowed', N_('Checking the {count} model(s) this workshop allows.', count=len(allowed))
        view = self.catalogue.view()
        if view.loading or not view.models:
            view = await self.catalogue.refresh()
        names = list(dict.fromkeys(m.name for m in view.models if m.chat_capable))
        if not names:
            return (
                [],
                'none',
                N_(
                    'This workshop allows every model and the catalogue has no chat model yet. Pull one on the models '
                    'page, or list the models you teach with under "Models attendees may use".'
                ),
            )
        picked = names[: self.max_models]
        cap = f'the first {len(picked)} of {len(names)}' if len(names) > len(picked) else f'all {len(picked)}'
        return (
            picked,
            'catalogue',
            N_(
                'This workshop allows every model, so this checks the chat models of the catalogue '
                '({cap}). List the models you teach with under "Models attendees may use" to check '
                'exactly those.',
                cap=cap,
            ),
        )

    async def _look_host(self, host: HostState) -> tuple[set[str], set[str]]:
        """(models pulled there, models loaded there); marks the host down when it does not answer."""
        try:
            listed = await asyncio.wait_for(self.calls.list_models(host.url), LOOK_TIMEOUT)
            running = await asyncio.wait_for(self.calls.loaded(host.url, Purpose.WORKSHOP_CHECK), LOOK_TIMEOUT)
        except OllamaError as exc:
            host.up, host.error = False, exc.message
            return set(), set()
        except TimeoutError:
            host.up, host.error = (
                False,
                N_('{url} did not answer within {LOOK_TIMEOUT:.0f} s.', url=host.url, LOOK_TIMEOUT=LOOK_TIMEOUT),
            )
            return set(), set()
        host.up = True
        return {full_name(m.model) for m in listed if m.model}, {full_name(m.model) for m in running if m.model}

    async def _refresh_loaded(self, report: PreflightReport) -> None:
        """After the warm-ups: what is loaded now (a model pushed out by the next one shows as not loaded)."""
        for host in report.hosts:
            if not host.up:
                continue
            try:
                running = await asyncio.wait_for(self.calls.loaded(host.url, Purpose.WORKSHOP_CHECK), LOOK_TIMEOUT)
            except (OllamaError, TimeoutError):
                continue
            names = {full_name(m.model) for m in running if m.model}
            for check in report.checks:
                if check.host != host.url or check.phase == 'down':
                    continue
                check.loaded = check.model in names
                if check.phase == 'done' and not check.loaded:
                    check.warning = N_(
                        'Warmed up, but no longer loaded: this host probably cannot hold all of these models at once.'
                    )

    async def _is_embedding(self, model: str, url: str | None) -> bool:
        """An embedding-only model (it cannot chat): from the catalogue, else from the host that has it."""
        if model in self._embedding:
            return self._embedding[model]
        known = self.catalogue.known(model)
        capabilities: list[str] | None = list(known.capabilities) if known and known.capabilities else None
        if capabilities is None and url is not None:
            try:
                capabilities = list((await self.calls.show(url, model)).capabilities or [])
            except OllamaError:
                capabilities = None
        if not capabilities:
            return False
        self._embedding[model] = 'embedding' in capabilities and 'completion' not in capabilities
        return self._embedding[model]

    async def _count_attendees(self, report: PreflightReport) -> None:
        live = self.workshops.live.get(report.workshop_id)
        if live is not None:
            report.attendees = len(live.attendees)
            report.online = sum(1 for a in live.attendees.values() if a.presence != 'offline')
        else:
            report.attendees = await WorkshopMembership.filter(workshop_id=report.workshop_id).count()
            report.online = 0

    # ----- keep-alive (live workshops) ----------------------------------------------------------------------------
    def _on_sample(self, workshop_id: int, load: dict[str, Any]) -> None:
        """After each sample of a live workshop: fresh attendee counts and loaded flags for an open panel, and a
        re-warm of the models that are no longer loaded."""
        report = self._reports.get(workshop_id)
        live = self.workshops.live.get(workshop_id)
        if report is not None and live is not None and not report.running:
            joined = len(live.attendees)
            online = sum(1 for a in live.attendees.values() if a.presence != 'offline')
            touched = (joined, online) != (report.attendees, report.online)
            report.attendees, report.online = joined, online
            for check in report.checks:
                running = (load.get('hosts') or {}).get(check.host)
                if running is None or check.phase == 'down':
                    continue
                loaded = check.model in {full_name(m) for m in running if m}
                touched |= loaded != check.loaded
                check.loaded = loaded
                check.warning = self._warnings.get((check.model, check.host), '')
            if touched:
                self._emit(report)
        task = self._keeping.get(workshop_id)
        if self.running(workshop_id) or (task is not None and not task.done()):
            return
        self._keeping[workshop_id] = background_tasks.create(
            self._keep_alive(workshop_id, load), name=f'workshop-{workshop_id}-keep-alive'
        )

    async def _keep_alive(self, workshop_id: int, load: dict[str, Any]) -> None:
        try:
            models = await self._targets(workshop_id)
            if not models:
                return
            for url, running in (load.get('hosts') or {}).items():
                if running is None or self.calls.is_down(url):
                    continue
                loaded = {full_name(m) for m in running if m}
                try:
                    pulled = await self.calls.models_on(url)
                except OllamaError:
                    continue
                for model in models:
                    if model in loaded or model not in pulled or not self._due(model, url):
                        continue
                    await self._rewarm(workshop_id, model, url)
        except Exception:
            log.exception('keeping the models of workshop %s loaded failed', workshop_id)

    async def _targets(self, workshop_id: int) -> list[str]:
        """The models a live workshop keeps loaded: its allowed models, else the ones warmed up for it here."""
        allowed = await self.workshops.membership.allowed_models(workshop_id)
        return list(allowed) if allowed else sorted(self._warmed.get(workshop_id, ()))

    def _due(self, model: str, url: str) -> bool:
        """Not re-warmed in the last `rewarm_seconds`, and not unloaded again and again (then: a warning)."""
        key, now = (model, url), time.monotonic()
        times = self._rewarms.setdefault(key, deque())
        while times and now - times[0] > THRASH_WINDOW:
            times.popleft()
        if times and now - times[-1] < self.rewarm_seconds:
            return False
        if len(times) >= THRASH_LIMIT:
            if key not in self._warnings:
                log.warning('%s keeps being unloaded on %s; not warming it again for now', model, url)
            self._warnings[key] = N_(
                'Keeps being unloaded ({count} re-warms in {THRASH_WINDOW:.0f} min): this host '
                "probably cannot hold all of the workshop's models at once. Add a host or allow fewer "
                'or smaller models.',
                count=len(times),
                THRASH_WINDOW=THRASH_WINDOW / 60,
            )
            return False
        times.append(now)
        return True

    async def _rewarm(self, workshop_id: int, model: str, url: str) -> None:
        """Load a model again on one host (as the platform: staff/system work, not counted)."""
        try:
            if await self._is_embedding(model, url):
                await self.calls.embed(SYSTEM, Purpose.WORKSHOP_CHECK, model=model, inputs=['keep-alive'], host=url)
            else:
                await self.calls.chat(
                    SYSTEM,
                    Purpose.WORKSHOP_CHECK,
                    model=model,
                    messages=KEEP_MESSAGES,
                    options={'num_predict': 1},
                    keep_alive=self.keep_alive,
                    host=url,
                )
        except (OllamaError, ServiceError) as exc:
            log.warning('workshop %s: re-warming %s on %s failed: %s', workshop_id, model, url, exc)
            return
        self.rewarmed += 1
        log.info('workshop %s: %s was no longer loaded on %s; warmed it again', workshop_id, model, url)
        report = self._reports.get(workshop_id)
        check = report.check_of(model, url) if report else None
        if report is not None and check is not None and not report.running:
            check.loaded = True
            self._emit(report)

    # ----- the forecast -------------------------------------------------------------------------------------------
    def forecasts(
        self,
        report: PreflightReport,
        attendees: int | None = None,
        *,
        interval_s: float = capacity.DEFAULT_INTERVAL_S,
        tokens: int = capacity.DEFAULT_TOKENS,
    ) -> list[ModelForecast]:
        """The capacity forecast per model of a report (pure: no host is asked). `attendees` None: the report's
        suggestion (online now, else joined)."""
        n = report.suggested_attendees if attendees is None else attendees
        slots = {h.url: h.slots for h in report.hosts if h.up}
        result = []
        for model in report.models:
            checks = [c for c in report.checks if c.model == model and c.pulled and c.host in slots]
            if any(c.embedding for c in checks) or (not checks and self._embedding.get(model)):
                result.append(ModelForecast(model=model, forecast=None, reason=N_('An embedding model: no forecast.')))
                continue
            if not checks:
                result.append(
                    ModelForecast(model=model, forecast=None, reason=N_('Not pulled on any host that answers.'))
                )
                continue
            measured = [c for c in checks if c.tokens_per_s]
            if not measured:
                result.append(ModelForecast(model=model, forecast=None, reason=N_('Warm it up to measure its speed.')))
                continue
            mean_tps = sum(c.tokens_per_s or 0 for c in measured) / len(measured)
            mean_ttft = sum(c.ttft_s or 0 for c in measured) / len(measured)
            speeds = [
                capacity.HostSpeed(
                    slots=slots[c.host],
                    tokens_per_s=c.tokens_per_s or mean_tps,  # a host not measured yet: like the others
                    ttft_s=c.ttft_s if c.tokens_per_s and c.ttft_s is not None else mean_ttft,
                )
                for c in checks
            ]
            found = capacity.forecast(
                model, n, speeds, interval_s=interval_s, tokens=tokens, max_wait_s=self.calls.room.max_wait
            )
            result.append(ModelForecast(model=model, forecast=found, reason='' if found else N_('No speed measured.')))
        return result

    # ----- pushing ------------------------------------------------------------------------------------------------
    def _emit(self, report: PreflightReport, force: bool = False) -> None:
        """Push a snapshot of the report: now when forced or due, else once the interval is over."""
        workshop_id = report.workshop_id
        loop = asyncio.get_running_loop()
        now = loop.time()
        due = self._last_emit.get(workshop_id, 0.0) + EMIT_EVERY
        if force or now >= due:
            pending = self._pending.pop(workshop_id, None)
            if pending is not None:
                pending.cancel()
            self._last_emit[workshop_id] = now
            self.changed.emit(report.snapshot())
        elif workshop_id not in self._pending:
            self._pending[workshop_id] = loop.call_later(due - now, self._emit_pending, workshop_id)

    def _emit_pending(self, workshop_id: int) -> None:
        self._pending.pop(workshop_id, None)
        report = self._reports.get(workshop_id)
        if report is not None:
            self._emit(report, force=True)


def _seconds(nanoseconds: Any) -> float | None:
    return nanoseconds / 1e9 if isinstance(nanoseconds, int | float) and nanoseconds else None
