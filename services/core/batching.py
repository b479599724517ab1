"""Group small database writes from many concurrent replies into one transaction (one commit instead of dozens).

When 50 replies end at about the same time, each would save its conversation and record its activity with its own
commit; on SQLite every commit is an fsync that holds the one connection, so the next users' reads (before their
first token) wait behind them. `WriteBatcher.run(write)` queues the write, a single task runs everything queued in one
transaction, and `run` returns once the write is committed (or raises its error).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nicegui import background_tasks
from tortoise.transactions import in_transaction

log = logging.getLogger(__name__)

Write = Callable[[], Awaitable[None]]


class WriteBatcher:
    def __init__(self, max_batch: int = 200) -> None:
        self.max_batch = max_batch
        self._queue: list[tuple[Write, asyncio.Future]] = []
        self._task: asyncio.Task | None = None

    async def run(self, write: Write) -> None:
        future = asyncio.get_running_loop().create_future()
        self._queue.append((write, future))
        if self._task is None or self._task.done():
            self._task = background_tasks.create(self._drain(), name='write-batcher')
        await future

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let writes that are about to be queued join this batch
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                async with in_transaction():
                    for write, _ in batch:
                        await write()
            except Exception:
                log.warning('batched write failed; retrying %d write(s) one by one', len(batch), exc_info=True)
                for write, future in batch:
                    try:
                        await write()
                    except Exception as exc:
                        future.set_exception(exc)
                    else:
                        future.set_result(None)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
