"""Worker processes for CPU-heavy pure functions (splitting documents into chunks during ingestion).

Threads cannot help there: chunking is Python code plus many short tokenizer calls, so in threads it holds the GIL
against the event loop and the vector store, and every page slows down. A small pool of spawned processes (spawn,
not fork: the app process runs threads, gRPC among them) does that work on the machine's other cores. (A lower
scheduling priority for the workers was tried: it starved splitting and slowed ingestion by a fifth, while pages
stayed as fast without it.)

One pool per process, started on first use and kept for the life of the process. A worker that dies (killed, out of
memory) breaks the pool: the call is retried once on a fresh pool, then the error reaches the caller. With
`workers=0` calls run in a thread of this process instead.

`run_budgeted` runs a call that handles untrusted input (extracting the text of an upload) within a `Budget`: the
worker's address space may grow by at most `memory_mb` and the call may use at most `cpu_seconds` of CPU (resource
limits set in the worker around the call), and the caller waits at most twice that. A call over budget raises
`BudgetExceeded`; its worker is then replaced, so the memory it took goes back to the system.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import importlib.machinery
import logging
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from nicegui.run import io_bound as run_io

log = logging.getLogger(__name__)


@dataclass(kw_only=True, slots=True, frozen=True)
class Budget:
    memory_mb: int
    cpu_seconds: float


class BudgetExceeded(Exception):
    """A budgeted call used more memory (`what == 'memory'`) or time (`what == 'time'`) than it was given."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _over_cpu(signum: int, frame: Any) -> None:
    raise BudgetExceeded('time')


def _vm_bytes() -> int:
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[0]) * os.sysconf('SC_PAGE_SIZE')


def _budgeted(budget: Budget, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Runs in the worker: `fn(*args)` under an address-space and a CPU-time limit, both lifted afterwards."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_soft = int(usage.ru_utime + usage.ru_stime + budget.cpu_seconds) + 1
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    _, as_hard = resource.getrlimit(resource.RLIMIT_AS)
    previous = signal.signal(signal.SIGXCPU, _over_cpu)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_soft, cpu_hard))
    resource.setrlimit(resource.RLIMIT_AS, (_vm_bytes() + budget.memory_mb * 1024 * 1024, as_hard))
    try:
        return fn(*args)
    except MemoryError:
        raise BudgetExceeded('memory') from None
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (as_hard, as_hard))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_hard, cpu_hard))
        signal.signal(signal.SIGXCPU, previous)
        gc.collect()
        trim()


_libc: Any = None


def trim() -> None:
    """Give freed memory back to the system (glibc keeps it in its arenas otherwise)."""
    global _libc
    try:
        if _libc is None:  # looked up once: find_library runs ldconfig
            _libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        _libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _init_worker(parent: int, warm: Callable[[], Any] | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the app, which stops its workers
    threading.Thread(target=_exit_with, args=(parent,), daemon=True, name='parent-watch').start()
    if warm is not None:
        warm()
    # what a worker imported at start (libraries, `services`; the app's main script too if it was run again, see
    # `_spare_the_main_script`) lives as long as the worker: out of the collector's sight, the collection after each
    # budgeted call costs microseconds (with the app imported it was ~150 ms: a 20-file upload took 3.2 s for it).
    gc.collect()
    gc.freeze()


def _exit_with(parent: int) -> None:
    """A worker must not outlive its app: a killed app (kill -9) cannot tell its workers to stop."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _spare_the_main_script() -> None:
    """A spawned worker starts by running the parent's main script again, as `__mp_main__`, unless the main module
    has a module name. For `python app.py` that is the whole app: 2-3 s of start-up and 140-210 MB per worker, for
    processes that only run module-level functions of `services`. Naming the main module `__main__` (what
    multiprocessing does for an interactive session) makes the workers skip it. Under `python -m` (pytest) the main
    module has its name already and is left alone."""
    main = sys.modules.get('__main__')
    if main is not None and getattr(main, '__spec__', None) is None and getattr(main, '__file__', None):
        main.__spec__ = importlib.machinery.ModuleSpec('__main__', None)


class WorkerPool:
    def __init__(self, workers: int, *, warm: Callable[[], Any] | None = None) -> None:
        self.workers = workers
        self.warm = warm  # imported and run once in each worker as it starts (loads libraries ahead of work)
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                _spare_the_main_script()
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

    async def run_budgeted(self, budget: Budget, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(*args)` in a worker process within `budget`; raise `BudgetExceeded` when it needs more. The
        worker of a call over budget (or killed, or past twice its CPU time on the clock) is replaced."""
        loop = asyncio.get_running_loop()
        pool = self._pool()
        future = loop.run_in_executor(pool, _budgeted, budget, fn, args)
        try:
            return await asyncio.wait_for(future, timeout=budget.cpu_seconds * 2 + 5)
        except BudgetExceeded:
            self._discard(pool)
            raise
        except TimeoutError:
            self._kill(pool)
            raise BudgetExceeded('time') from None
        except BrokenProcessPool:  # killed by the kernel (out of memory) or by its hard CPU limit
            self._discard(pool)
            raise BudgetExceeded('memory') from None

    def _kill(self, pool: ProcessPoolExecutor) -> None:
        for process in list((getattr(pool, '_processes', None) or {}).values()):
            process.kill()
        self._discard(pool)

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
