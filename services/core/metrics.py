"""Prometheus metrics: what the monitoring a self-hoster already runs needs to see during a workshop.

Off unless `METRICS_TOKEN` is set; then `GET /metrics` with `Authorization: Bearer <token>` answers the text format.
One registry for the process. Counters and histograms are updated where things happen (HTTP requests here, model
calls in the one model-call path, errors where the API answers them, ingestion from its progress events); the rest —
slots and queues per host, websocket clients, attendees online, running ingestion jobs, the process tree's memory —
is read at scrape time by collectors that the composition root registers (`add_collector`), so nothing is counted
twice and nothing costs anything between scrapes.

Label values are bounded: routes are templates (`/api/v1/knowledge/{kb_id}`), never raw paths; models and hosts are
the platform's own; error kinds are the API's problem types.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

HTTP_REQUESTS = Counter(
    'owp_http_requests', 'HTTP requests answered, by route, method and status.', ['route', 'method', 'status'],
    registry=REGISTRY,
)  # fmt: skip
HTTP_SECONDS = Histogram(
    'owp_http_request_duration_seconds', 'Time to answer an HTTP request (streams: until the last byte).',
    ['route', 'method'], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)  # fmt: skip
MODEL_CALLS = Counter(
    'owp_model_calls', 'Model calls, by model, host, purpose and outcome (ok or error).',
    ['model', 'host', 'purpose', 'outcome'], registry=REGISTRY,
)  # fmt: skip
MODEL_TOKENS = Counter(
    'owp_model_tokens', 'Tokens of model calls, by model, host, purpose and direction (prompt or completion).',
    ['model', 'host', 'purpose', 'direction'], registry=REGISTRY,
)  # fmt: skip
MODEL_TTFT = Histogram(
    'owp_model_time_to_first_token_seconds', 'Time from a model call starting to its first token.',
    ['model', 'host'], registry=REGISTRY, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120),
)  # fmt: skip
MODEL_SECONDS = Histogram(
    'owp_model_call_duration_seconds', 'Time a model call took, waiting for a slot excluded.',
    ['model', 'host', 'purpose'], registry=REGISTRY, buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 300),
)  # fmt: skip
ERRORS = Counter('owp_errors', 'Errors answered to users, by kind.', ['kind'], registry=REGISTRY)
INGEST_CHUNKS = Counter('owp_ingest_chunks', 'Chunks embedded and stored by ingestion jobs.', registry=REGISTRY)


def model_call(
    *, model: str, host: str, purpose: str, ok: bool, prompt: int | None, completion: int | None,
    seconds: float, ttft: float | None,
) -> None:  # fmt: skip
    """One finished model call (called by the one model-call path as it writes the ledger row)."""
    MODEL_CALLS.labels(model, host, purpose, 'ok' if ok else 'error').inc()
    if prompt:
        MODEL_TOKENS.labels(model, host, purpose, 'prompt').inc(prompt)
    if completion:
        MODEL_TOKENS.labels(model, host, purpose, 'completion').inc(completion)
    MODEL_SECONDS.labels(model, host, purpose).observe(seconds)
    if ttft is not None:
        MODEL_TTFT.labels(model, host).observe(ttft)


def error(kind: str) -> None:
    ERRORS.labels(kind).inc()


# ----- read at scrape time ---------------------------------------------------------------------------------------
Reading = Callable[[], Iterable[Metric]]
_readings: dict[str, Reading] = {}


def add_collector(name: str, reading: Reading) -> None:
    """Metrics read at scrape time; registering the same name again replaces it (the test harness rebuilds the app)."""
    _readings[name] = reading


class _ScrapeTime:
    def collect(self) -> Iterable[Metric]:
        for name, reading in list(_readings.items()):
            try:
                yield from reading()
            except Exception:  # one broken reading must not take the whole scrape down
                log.exception('reading the %s metrics failed', name)

    def describe(self) -> Iterable[Metric]:
        return []


REGISTRY.register(_ScrapeTime())


def gauge(name: str, documentation: str, labels: list[str], values: Iterable[tuple[list[str], float]]) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in values:
        family.add_metric(label_values, value)
    return family


def counter(name: str, documentation: str, value: float) -> Metric:
    return CounterMetricFamily(name, documentation, value=value)


def process_tree_rss() -> Iterable[Metric]:
    """Resident memory of this process and every process it started (Milvus Lite, extraction workers)."""
    total = 0
    for pid in [os.getpid(), *_descendants(os.getpid())]:
        total += _rss_bytes(pid)
    yield gauge('owp_process_tree_resident_memory_bytes', 'Resident memory of the app and its child processes.',
                [], [([], total)])  # fmt: skip


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f'/proc/{parent}/task').glob('*/children'):
            try:
                children = [int(c) for c in task.read_text().split()]
            except (OSError, ValueError):
                continue
            found += children
            todo += children
    return found


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


add_collector('process tree', process_tree_rss)


def exposition() -> bytes:
    return generate_latest(REGISTRY)


# ----- HTTP ------------------------------------------------------------------------------------------------------
class HttpMetrics:
    """Pure ASGI middleware: each HTTP request counted by route template, method and status, and timed."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message) -> None:
            nonlocal status
            if message['type'] == 'http.response.start':
                status = message['status']
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get('route'), 'path', None) or _family(scope.get('path', ''))
            method = scope.get('method', '')
            HTTP_REQUESTS.labels(route, method, str(status)).inc()
            HTTP_SECONDS.labels(route, method).observe(time.perf_counter() - started)


def _family(path: str) -> str:
    """A bounded label for a request no route matched (static files, NiceGUI internals, unknown paths)."""
    for prefix in ('/_nicegui', '/static', '/api/', '/v1/'):
        if path.startswith(prefix):
            return prefix.rstrip('/') + '/…'
    return '(unmatched)'
