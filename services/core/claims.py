"""Claims on background jobs that any app process may run (issue 16 item 2): ingestion jobs, model pulls.

A job is a row with `claimed_by` (the process running it: its live-bus origin) and `lease_until`. A process takes a
job with one conditional UPDATE — only if nobody holds it, its lease ran out, or it is already this process's — so
of several processes asking at once exactly one gets it. While it runs the job the process renews the lease every
third of it; a process that dies (-9, a lost machine) stops renewing, and once the lease runs out the next sweep of
any process takes the job over. A process that shuts down cleanly hands its jobs back at once (`lease_until` None).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import Q

log = logging.getLogger(__name__)


class Claims:
    def __init__(self, model: Any, owner: str, lease_seconds: float, **active: Any) -> None:
        self.model = model  # the Tortoise model of the jobs (with claimed_by and lease_until)
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.active = active  # the filter of jobs still to run, e.g. state__in=(...)

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
