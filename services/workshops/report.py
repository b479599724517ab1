"""After (or during) a workshop: the summary and the export of attendees, progress and usage (CSV and JSON)."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from models import RaisedHand, StepProgress, WorkshopMembership
from services.workshops.usage import workshop_usage

if TYPE_CHECKING:
    from services.workshops.service import WorkshopService


async def summary(service: WorkshopService, actor_id: int, workshop_id: int) -> dict[str, Any]:
    """Attendees with their progress and usage, per-step completion and per-model usage (managers only)."""
    _, workshop = await service._manage(actor_id, workshop_id)
    info = await service._info(workshop, can_manage=True)
    steps = info.steps
    memberships = (
        await WorkshopMembership.filter(workshop_id=workshop_id)
        .order_by('id')
        .values('id', 'user_id', 'joined_at', 'last_seen', 'current_step', name='user__display_name')
    )
    progress: dict[int, dict[int, str]] = defaultdict(dict)
    for p in await StepProgress.filter(membership__workshop_id=workshop_id, done=True).values(
        'membership_id', 'step_id', 'how'
    ):
        progress[p['membership_id']][p['step_id']] = p['how']
    usage: dict[int, dict[str, Any]] = defaultdict(lambda: {'requests': 0, 'tokens': 0, 'latency_sum': 0.0,
                                                           'latency_n': 0, 'errors': 0})  # fmt: skip
    models: dict[str, dict[str, Any]] = defaultdict(lambda: {'requests': 0, 'tokens': 0, 'latency_sum': 0.0,
                                                            'latency_n': 0, 'errors': 0})  # fmt: skip
    for row in await workshop_usage(workshop_id):
        for bucket in (usage[row.user_id], models[row.model or '(none)']):
            bucket['requests'] += row.requests
            bucket['tokens'] += row.tokens
            bucket['latency_sum'] += row.latency_sum
            bucket['latency_n'] += row.latency_n
            bucket['errors'] += row.errors
    hands = await RaisedHand.filter(membership__workshop_id=workshop_id).count()
    attendees = []
    for m in memberships:
        u = usage.get(m['user_id'], {})
        done = progress.get(m['id'], {})
        attendees.append(
            {
                'user_id': m['user_id'],
                'name': m['name'],
                'joined_at': m['joined_at'].isoformat(),
                'last_seen': m['last_seen'].isoformat() if m['last_seen'] else None,
                'steps_done': len(done),
                'progress': {s.title: done.get(s.id, '') for s in steps},
                **_usage(u),
            }
        )
    return {
        'workshop': {
            'id': info.id,
            'title': info.title,
            'state': info.state,
            'started_at': info.started_at.isoformat() if info.started_at else None,
            'ended_at': info.ended_at.isoformat() if info.ended_at else None,
            'owner': info.owner_name,
            'raised_hands': hands,
        },
        'steps': [
            {'title': s.title, 'done': sum(1 for m in memberships if s.id in progress.get(m['id'], {}))} for s in steps
        ],
        'attendees': attendees,
        'models': {name: _usage(b) for name, b in sorted(models.items())},
    }


def _usage(bucket: dict[str, Any]) -> dict[str, Any]:
    n = bucket.get('latency_n', 0)
    return {
        'requests': bucket.get('requests', 0),
        'tokens': bucket.get('tokens', 0),
        'avg_latency_ms': round(bucket['latency_sum'] / n, 1) if n else None,
        'errors': bucket.get('errors', 0),
    }


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def to_csv(data: dict[str, Any]) -> str:
    """One row per attendee: progress per step (manual/auto/empty) and usage."""
    steps = [s['title'] for s in data['steps']]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(['name', 'joined_at', 'last_seen', 'steps_done', *steps, 'requests', 'tokens', 'avg_latency_ms',
                     'errors'])  # fmt: skip
    for a in data['attendees']:
        writer.writerow(
            [_cell(a['name']), a['joined_at'], a['last_seen'] or '', a['steps_done'],
             *[a['progress'].get(s, '') for s in steps], a['requests'], a['tokens'], a['avg_latency_ms'] or '',
             a['errors']]
        )  # fmt: skip
    return out.getvalue()


def _cell(text: str) -> str:
    """Neutralise spreadsheet formulas in user-provided text (CSV injection)."""
    return f"'{text}" if text[:1] in ('=', '+', '-', '@', '\t', '\r') else text
