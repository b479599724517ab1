"""A workshop's usage from the activity log, summed by the database: requests, tokens, latency and errors per
attendee and model. One grouped query over the `(workshop_id, …)` index instead of every row into Python, so opening
a dashboard or exporting a summary stays fast when the room's history holds a million rows."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.functions import Count, Sum

from models import ActivityEvent


@dataclass(kw_only=True, slots=True)
class UsageRow:
    user_id: int | None
    model: str | None
    requests: int
    tokens: int
    latency_sum: float
    latency_n: int
    errors: int


async def workshop_usage(workshop_id: int) -> list[UsageRow]:
    """One row per (attendee, model) that has activity in the workshop."""
    rows = (
        await ActivityEvent.filter(workshop_id=workshop_id)
        .annotate(
            n=Count('id'),
            token_sum=Sum('tokens'),
            latency_total=Sum('latency_ms'),
            timed=Count('latency_ms'),
            failed=Count('error'),
        )
        .group_by('user_id', 'model')
        .values('user_id', 'model', 'n', 'token_sum', 'latency_total', 'timed', 'failed')
    )
    return [
        UsageRow(
            user_id=r['user_id'],
            model=r['model'],
            requests=int(r['n'] or 0),
            tokens=int(r['token_sum'] or 0),
            latency_sum=float(r['latency_total'] or 0.0),
            latency_n=int(r['timed'] or 0),
            errors=int(r['failed'] or 0),
        )
        for r in rows
    ]
