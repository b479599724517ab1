"""Health: a background monitor of the Ollama hosts (one loop per process, not per viewer) and readiness checks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from nicegui import Event, background_tasks

from services.core import db
from services.models.client import HostStatus, OllamaGateway

if TYPE_CHECKING:
    from services.knowledge.vectors import VectorStore

log = logging.getLogger(__name__)


class HealthMonitor:
    """Checks every Ollama host periodically and emits `changed` when any host's reachability changes."""

    def __init__(self, gateway: OllamaGateway, hosts: Callable[[], Awaitable[list[str]]], interval: float) -> None:
        self.gateway = gateway
        self.hosts = hosts
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
        urls = await self.hosts()
        results = await asyncio.gather(*(self.gateway.check(url) for url in urls))
        before = {url: s.ok for url, s in self.statuses.items()}
        self.statuses = {s.url: s for s in results}
        if before != {url: s.ok for url, s in self.statuses.items()}:
            for status in results:
                if not status.ok:
                    log.warning('ollama host %s is down: %s', status.url, status.error)
            self.changed.emit(self.snapshot())
        return self.snapshot()

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


async def readiness(monitor: HealthMonitor, vectors: VectorStore) -> tuple[bool, dict[str, Any]]:
    """Database, vector store and each Ollama host, with status and latency. Ready only if all required are up."""
    report: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        await db.ping()
        report['database'] = {'status': 'ok', 'latency_ms': round((time.perf_counter() - started) * 1000, 1)}
    except Exception as exc:
        report['database'] = {'status': 'down', 'error': str(exc)}
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
    ready = (
        report['database']['status'] == 'ok' and report['vector_store']['status'] == 'ok' and any(h.ok for h in hosts)
    )
    report['status'] = 'ok' if ready else 'down'
    return ready, report
