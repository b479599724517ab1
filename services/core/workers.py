"""Worker processes for CPU-heavy pure functions (splitting documents into chunks during ingestion).

Threads cannot help there: chunking is Python code plus many short tokenizer calls, so in threads it holds the GIL
against the event loop and the vector store, and every page slows down. A small pool of spawned processes (spawn,
not fork: the app process runs threads, gRPC among them) does that work on the machine's other cores. (A lower
scheduling priority for the workers was tried: it starved splitting and slowed ingestion by a fifth, while pages
stayed as fast without it.)

One pool per process, started on first use and kept for the life of the process. A worker that dies (killed, out of
memory) breaks the pool: the call is retried once on a fresh pool, then the error reaches the caller. With
`workers=0` calls run in a thread of this process instead.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from nicegui.run import io_bound as run_io

log = logging.getLogger(__name__)


def _init_worker(parent: int, warm: Callable[[], Any] | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the app, which stops its workers
    threading.Thread(target=_exit_with, args=(parent,), daemon=True, name='parent-watch').start()
    if warm is not None:
        warm()


def _exit_with(parent: int) -> None:
    """A worker must not outlive its app: a killed app (kill -9) cannot tell its workers to stop."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


class WorkerPool:
    def __init__(self, workers: int, *, warm: Callable[[], Any] | None = None) -> None:
        self.workers = workers
        self.warm = warm  # imported and run once in each worker as it starts (loads libraries ahead of work)
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context('spawn'),
                    initializer=_init_worker,
                    initargs=(os.getpid(), self.warm),
                )
            return self._executor

    def _discard(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(*args)` in a worker process; `fn` and its arguments must be picklable (module-level functions)."""
        if self.workers <= 0:
            return await run_io(fn, *args)
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            pool = self._pool()
            try:
                return await loop.run_in_executor(pool, fn, *args)
            except BrokenProcessPool:
                self._discard(pool)
                if attempt == 2:
                    raise
                log.warning('a worker process died; starting a new pool and retrying')
        raise AssertionError('unreachable')

    async def start(self) -> None:
        """Start the workers now, so the first real call does not wait for them (start-up, in the background)."""
        if self.workers > 0:
            await asyncio.gather(*(self.run(os.getpid) for _ in range(self.workers)))

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


_shared: dict[tuple[int, Any], WorkerPool] = {}


def shared(workers: int, *, warm: Callable[[], Any] | None = None) -> WorkerPool:
    """The process-wide pool of this size: services built again (tests, the UI test harness) reuse its workers."""
    key = (workers, warm)
    if key not in _shared:
        _shared[key] = WorkerPool(workers, warm=warm)
    return _shared[key]
