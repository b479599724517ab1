"""Health: a background monitor of the Ollama hosts (one loop per process, not per viewer) and readiness checks."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nicegui import Event, background_tasks

from models import Role
from services.core import db, faults
from services.core.auth import AuthService
from services.models.calls import ModelCalls
from services.models.hosts import HostDirectory, HostInfo, HostStatus

log = logging.getLogger(__name__)


@dataclass(kw_only=True, slots=True)
class HostSummary:
    url: str
    ok: bool
    version: str
    latency_ms: float | None
    error: str


class HealthMonitor:
    """Checks every Ollama host periodically and emits `changed` when any host's reachability changes."""

    def __init__(self, calls: ModelCalls, hosts: HostDirectory, auth: AuthService, interval: float) -> None:
        self.calls = calls
        self.hosts = hosts
        self.auth = auth
        self.interval = interval
        self.statuses: dict[str, HostStatus] = {}
        self.changed: Event[list[HostStatus]] = Event()
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._task = background_tasks.create(self._loop(), name='ollama-health')

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()

    def snapshot(self) -> list[HostStatus]:
        return list(self.statuses.values())

    def down(self) -> list[HostStatus]:
        return [s for s in self.statuses.values() if not s.ok]

    async def check_now(self) -> list[HostStatus]:
        urls = await self.hosts.urls()
        results = await asyncio.gather(*(self.calls.check_host(url) for url in urls))
        before = {url: s.ok for url, s in self.statuses.items()}
        self.statuses = {s.url: s for s in results}
        for status in results:
            if status.ok:
                self.calls.mark_up(status.url)  # a host that failed comes back as soon as it answers again
        if before != {url: s.ok for url, s in self.statuses.items()}:
            for status in results:
                if not status.ok:
                    log.warning('ollama host %s is down: %s', status.url, status.error)
            self.changed.emit(self.snapshot())
        return self.snapshot()

    async def check_hosts(self, actor_id: int) -> list[HostInfo]:
        """Every registered host (enabled or not) with a fresh check of each (admins)."""
        hosts = await self.hosts.list_hosts(actor_id)
        statuses = await asyncio.gather(*(self.calls.check_host(h.url) for h in hosts))
        for host, status in zip(hosts, statuses, strict=True):
            host.status = status
        return hosts

    async def check_host(self, actor_id: int, host_id: int) -> HostStatus:
        """A fresh check of one registered host (admins)."""
        await self.auth.require(actor_id, Role.ADMIN)
        return await self.calls.check_host(await self.hosts.url_of(actor_id, host_id))

    async def summaries(self, actor_id: int) -> list[HostSummary]:
        """The enabled hosts and their last known health (for everyone: attendees see neutral labels, not URLs)."""
        user = await self.auth.require(actor_id)
        known = {s.url: s for s in self.snapshot()}
        result = []
        for url in await self.hosts.urls():
            status = known.get(url)
            result.append(
                HostSummary(
                    url=url if user.at_least(Role.INSTRUCTOR) else f'host {len(result) + 1}',
                    ok=bool(status and status.ok),
                    version=status.version if status else '',
                    latency_ms=status.latency_ms if status else None,
                    error=status.error if status else 'not checked yet',
                )
            )
        return result

    def poke(self) -> None:
        """Check again soon (e.g. after a call failed with 'unreachable')."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                await self.check_now()
            except Exception:
                log.exception('ollama health check failed')
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except TimeoutError:
                pass


class VectorStoreLike(Protocol):
    """What readiness needs of the vector store (services.knowledge.vectors.VectorStore)."""

    display_uri: str

    async def ping(self) -> None: ...


async def readiness(
    monitor: HealthMonitor,
    vectors: VectorStoreLike,
    data_dir: Path | None = None,
    min_free_mb: int = 100,
    startup_error: str | None = None,
) -> tuple[bool, dict[str, Any]]:
    """Whether this process can serve, and how well. `status` is `ok`; `degraded` when it can serve pages but some
    of what it talks to is down (every Ollama host, or the vector store: a load balancer must keep it in, since
    taking the UI offline while Ollama restarts helps nobody); `down` when it cannot serve (the database does not
    answer, the data directory is full or cannot be written, start-up failed). Ready means ok or degraded."""
    if startup_error:  # nothing else was started: the reason is the whole report
        startup = {'status': 'down', 'error': startup_error}
        return False, {'status': 'down', 'startup': startup, 'problems': [f'startup: {startup_error}']}
    report: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        await db.ping()
        report['database'] = {'status': 'ok', 'latency_ms': round((time.perf_counter() - started) * 1000, 1)}
    except Exception as exc:
        report['database'] = {'status': 'down', 'error': faults.explain(exc) or str(exc)}
    if data_dir is not None:
        report['disk'] = await asyncio.to_thread(faults.disk_report, data_dir, min_free_mb)
    started = time.perf_counter()
    try:
        await vectors.ping()
        report['vector_store'] = {
            'status': 'ok',
            'uri': vectors.display_uri,
            'latency_ms': round((time.perf_counter() - started) * 1000, 1),
        }
    except Exception as exc:
        report['vector_store'] = {'status': 'down', 'uri': vectors.display_uri, 'error': str(exc)}
    hosts = await monitor.check_now()
    report['ollama'] = [
        {
            'url': h.url,
            'status': 'ok' if h.ok else 'down',
            'version': h.version,
            'latency_ms': h.latency_ms,
            **({'error': h.error} if h.error else {}),
        }
        for h in hosts
    ]
    can_serve = report['database']['status'] == 'ok' and report.get('disk', {}).get('status', 'ok') == 'ok'
    complete = report['vector_store']['status'] == 'ok' and any(h.ok for h in hosts)
    report['status'] = 'down' if not can_serve else 'ok' if complete else 'degraded'
    problems = [
        f'{name}: {part["error"]}' for name, part in report.items() if isinstance(part, dict) and part.get('error')
    ]
    problems += [f'Ollama {h.url}: {h.error or "down"}' for h in hosts if not h.ok]
    if problems:
        report['problems'] = problems
    return can_serve, report
