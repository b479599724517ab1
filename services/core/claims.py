"""Claims on background jobs that any app process may run (issue 16 item 2): ingestion jobs, model pulls.

A job is a row with `claimed_by` (the process running it: its live-bus origin) and `lease_until`. A process takes a
job with one conditional UPDATE — only if nobody holds it, its lease ran out, or it is already this process's — so
of several processes asking at once exactly one gets it. While it runs the job the process renews the lease every
third of it; a process that dies (-9, a lost machine) stops renewing, and once the lease runs out the next sweep of
any process takes the job over. A process that shuts down cleanly hands its jobs back at once (`lease_until` None).

`Claims` also runs the jobs this process holds (`launch`, `keep_sweeping`, `stop`): one runner for ingestion jobs,
re-indexing jobs and model pulls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from nicegui import background_tasks, core
from tortoise.expressions import Q

log = logging.getLogger(__name__)


class Claims:
    def __init__(self, model: Any, owner: str, lease_seconds: float, what: str = 'job', **active: Any) -> None:
        self.model = model  # the Tortoise model of the jobs (with claimed_by and lease_until)
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.what = what  # what a job is called in the log and in task names ('ingestion job', 'pull')
        self.active = active  # the filter of jobs still to run, e.g. state__in=(...)
        self.tasks: dict[int, asyncio.Task] = {}  # job id -> its task, for the jobs running in this process
        self._sweeper: asyncio.Task | None = None

    # ----- running the jobs this process holds ----------------------------------------------------------------
    def launch(self, job_id: int, coroutine: Awaitable[Any], on_done: Callable[[int], Any] | None = None) -> None:
        """Run a job this process holds as a background task (NiceGUI's, inside the app; a plain one in scripts)."""
        name = f'{self.what.replace(" ", "-")}-{job_id}'
        if core.loop is not None and core.loop.is_running():
            task = background_tasks.create(coroutine, name=name)  # type: ignore[arg-type]
        else:
            task = asyncio.get_running_loop().create_task(coroutine, name=name)  # type: ignore[arg-type]
        self.tasks[job_id] = task

        def done(_task: asyncio.Task) -> None:
            self.tasks.pop(job_id, None)
            if on_done is not None:
                on_done(job_id)

        task.add_done_callback(done)

    async def take_unclaimed(self, look_again: Callable[[], Awaitable[Any]]) -> list[int]:
        """Claim the active jobs nobody holds (the caller launches them), and keep the sweep running that calls
        `look_again` every third of the lease (so that jobs of a process that died are taken over)."""
        if self._sweeper is None or self._sweeper.done():
            sweep = self.sweep(self.what, self.tasks, look_again)
            self._sweeper = asyncio.get_running_loop().create_task(sweep, name=f'{self.what.replace(" ", "-")}-sweeper')
        return await self.unclaimed(self.tasks)

    async def stop(self) -> None:
        """At shutdown: stop the sweep and the jobs running here where they are, and hand them back; they stay
        active, and the next process to look (this one restarted, or another) resumes them."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        running = list(self.tasks)
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        if running:
            try:
                await self.hand_back(running)
            except Exception as exc:
                log.warning('could not hand back %ss %s: %s', self.what, running, exc)

    # ----- the rows ---------------------------------------------------------------------------------------------

    def lease(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.lease_seconds)

    async def claim(self, job_id: int) -> bool:
        """Take the job if nobody holds it (or its holder's lease ran out, or it is this process's)."""
        now = datetime.now(UTC)
        taken = await self.model.filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(claimed_by=self.owner), id=job_id, **self.active
        ).update(claimed_by=self.owner, lease_until=self.lease())
        return bool(taken)

    async def unclaimed(self, running_here: Iterable[int]) -> list[int]:
        """Active jobs not running in this process, oldest first, that this process has just claimed."""
        here = set(running_here)
        taken = []
        for job_id in await self.model.filter(**self.active).order_by('id').values_list('id', flat=True):
            if job_id not in here and await self.claim(job_id):
                taken.append(job_id)
        return taken

    async def renew(self, running_here: Iterable[int]) -> set[int]:
        """Renew the leases of the jobs running here; returns those another process has taken over meanwhile (this
        one stalled past its lease): stop them here."""
        mine = list(running_here)
        if not mine:
            return set()
        await self.model.filter(id__in=mine, claimed_by=self.owner).update(lease_until=self.lease())
        still = await self.model.filter(id__in=mine, claimed_by=self.owner).values_list('id', flat=True)
        return set(mine) - set(still)

    async def sweep(
        self, what: str, running: dict[int, asyncio.Task], look_again: Callable[[], Awaitable[Any]]
    ) -> None:
        """Forever, every third of the lease: renew the leases of the jobs `running` here (stopping those another
        process took over meanwhile), then `look_again` for jobs nobody holds."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                for job_id in await self.renew(running):  # taken over (this process stalled past its lease)
                    log.warning('%s %s was taken over by another process; stopping it here', what, job_id)
                    running[job_id].cancel()
                await look_again()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is busy or restarting: try again next round
                log.warning('%s sweep failed: %s', what, exc)

    async def hand_back(self, job_ids: Iterable[int]) -> None:
        """Shutting down: the jobs stay active and the next process to look resumes them at once."""
        ids = list(job_ids)
        if ids:
            await self.model.filter(id__in=ids, claimed_by=self.owner).update(lease_until=None)


__all__ = ['Claims']
