"""After the session: each attendee's completion record (the certificate) and the instructor's timeline replay.

The replay is computed from what the database keeps: when each attendee joined (`WorkshopMembership.joined_at`), when
each step was completed (`StepProgress.at`; a step unticked later leaves no trace) and the raised hands (created, and
resolved at their last update). It is cut into evenly spaced frames over the session for a slider, and each step gets
how long attendees took on it and how many hands went up while they were on it: where the class got stuck.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from models import HandState, RaisedHand, StepProgress, User, WorkshopMembership
from services.core.errors import NotFound
from services.core.i18n import N_

if TYPE_CHECKING:
    from services.workshops.service import WorkshopService

FRAMES = 60


@dataclass(kw_only=True, slots=True)
class CertificateStep:
    title: str
    passed: bool
    how: str = ''  # manual, auto
    at: datetime | None = None


@dataclass(kw_only=True, slots=True)
class Certificate:
    workshop_id: int
    user_id: int
    workshop_title: str
    attendee_name: str
    instructor_name: str
    date: datetime
    ended: bool
    steps: list[CertificateStep] = field(default_factory=list)

    @property
    def passed(self) -> list[CertificateStep]:
        return [s for s in self.steps if s.passed]


async def certificate(
    service: WorkshopService, actor_id: int, workshop_id: int, user_id: int | None = None
) -> Certificate:
    """An attendee's own record; managers may open any attendee's (anyone else: NotFound)."""
    if user_id is None or user_id == actor_id:
        _, workshop, membership = await service._member(actor_id, workshop_id)
    else:
        _, workshop = await service._manage(actor_id, workshop_id)
        membership = await WorkshopMembership.get_or_none(workshop_id=workshop_id, user_id=user_id)
        if membership is None:
            raise NotFound(N_('This person is not an attendee of this workshop.'))
    person = await User.get(id=membership.user_id)  # type: ignore[attr-defined]
    owner = await User.get(id=workshop.owner_id)  # type: ignore[attr-defined]
    done = {
        p['step_id']: p
        for p in await StepProgress.filter(membership_id=membership.id, done=True).values('step_id', 'how', 'at')
    }
    steps = [
        CertificateStep(
            title=s.title,
            passed=s.id in done,
            how=done[s.id]['how'] if s.id in done else '',
            at=done[s.id]['at'] if s.id in done else None,
        )
        for s in await service.steps(workshop_id)
    ]
    return Certificate(
        workshop_id=workshop.id,
        user_id=person.id,
        workshop_title=workshop.title,
        attendee_name=person.display_name,
        instructor_name=owner.display_name,
        date=workshop.ended_at or workshop.started_at or membership.joined_at,
        ended=workshop.ended_at is not None,
        steps=steps,
    )


async def timeline(
    service: WorkshopService, actor_id: int, workshop_id: int, *, frames: int = FRAMES
) -> dict[str, Any]:
    """The session replayed for its managers: frames over time, the hands, and the steps where the class got stuck."""
    _, workshop = await service._manage(actor_id, workshop_id)
    steps = await service.steps(workshop_id)
    members = (
        await WorkshopMembership.filter(workshop_id=workshop_id)
        .order_by('id')
        .values('id', 'joined_at', name='user__display_name')
    )
    progress = await StepProgress.filter(membership__workshop_id=workshop_id, done=True).values(
        'membership_id', 'step_id', 'at'
    )
    hands = (
        await RaisedHand.filter(membership__workshop_id=workshop_id)
        .order_by('created_at')
        .values(
            'id', 'membership_id', 'message', 'state', 'created_at', 'updated_at', name='membership__user__display_name'
        )
    )
    moments = [m['joined_at'] for m in members] + [p['at'] for p in progress] + [h['created_at'] for h in hands]
    start = min([t for t in (workshop.started_at, *moments) if t is not None], default=workshop.created_at)
    end = max([t for t in (workshop.ended_at, *moments) if t is not None], default=start)
    if workshop.ended_at is None and workshop.started_at is not None:
        end = max(end, datetime.now(UTC))
    step_index = {s.id: i for i, s in enumerate(steps)}
    for h in hands:
        h['resolved_at'] = h['updated_at'] if str(h['state']) == HandState.RESOLVED.value else None
    return {
        'workshop': {'id': workshop.id, 'title': workshop.title, 'start': start.isoformat(), 'end': end.isoformat()},
        'steps': [s.title for s in steps],
        'attendees': len(members),
        'frames': _frames(start, end, frames, members, progress, hands, step_index),
        'hands': [
            {
                'at': h['created_at'].isoformat(),
                'minute': _minutes(start, h['created_at']),
                'name': h['name'],
                'message': h['message'],
                'step': _step_of(h, progress, steps),
                'resolved_after_min': _minutes(h['created_at'], h['resolved_at']) if h['resolved_at'] else None,
            }
            for h in hands
        ],
        'per_step': _per_step(steps, members, progress, hands),
    }


def _minutes(start: datetime, at: datetime) -> float:
    return round((at - start).total_seconds() / 60, 1)


def _frames(
    start: datetime,
    end: datetime,
    count: int,
    members: list[dict[str, Any]],
    progress: list[dict[str, Any]],
    hands: list[dict[str, Any]],
    step_index: dict[int, int],
) -> list[dict[str, Any]]:
    """`count` evenly spaced moments from start to end: what the class had done by each."""
    span = (end - start).total_seconds()
    frames = []
    for i in range(max(count, 2)):
        at = start if span <= 0 else datetime.fromtimestamp(start.timestamp() + span * i / (max(count, 2) - 1), UTC)
        per_step = [0] * len(step_index)
        for p in progress:
            if p['at'] <= at and p['step_id'] in step_index:
                per_step[step_index[p['step_id']]] += 1
        frames.append(
            {
                'at': at.isoformat(),
                'minute': _minutes(start, at),
                'attendees': sum(1 for m in members if m['joined_at'] <= at),
                'completed': sum(per_step),
                'per_step': per_step,
                'hands_raised': sum(1 for h in hands if h['created_at'] <= at),
                'hands_open': sum(
                    1 for h in hands if h['created_at'] <= at and (h['resolved_at'] is None or h['resolved_at'] > at)
                ),
            }
        )
        if span <= 0:
            break
    return frames


def _step_of(hand: dict[str, Any], progress: list[dict[str, Any]], steps: list) -> str:
    """The step the attendee was on when raising the hand: the first one of the agenda not yet done at that moment."""
    done = {
        p['step_id'] for p in progress if p['membership_id'] == hand['membership_id'] and p['at'] <= hand['created_at']
    }
    return next((s.title for s in steps if s.id not in done), steps[-1].title if steps else '')


def _per_step(
    steps: list, members: list[dict[str, Any]], progress: list[dict[str, Any]], hands: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per step: how many did it, the median minutes it took (since the attendee's previous completion, or joining),
    and the hands raised while on it. Sorted by the agenda; `stuck` marks the step that cost the class most."""
    joined = {m['id']: m['joined_at'] for m in members}
    by_member: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for p in progress:
        by_member[p['membership_id']].append(p)
    took: dict[int, list[float]] = defaultdict(list)
    for membership_id, rows in by_member.items():
        previous = joined.get(membership_id)
        for p in sorted(rows, key=lambda r: r['at']):
            if previous is not None:
                took[p['step_id']].append(max(0.0, (p['at'] - previous).total_seconds() / 60))
            previous = p['at']
    hand_steps: dict[str, int] = defaultdict(int)
    for h in hands:
        hand_steps[_step_of(h, progress, steps)] += 1
    rows = [
        {
            'title': s.title,
            'done': sum(1 for p in progress if p['step_id'] == s.id),
            'not_done': len(members) - sum(1 for p in progress if p['step_id'] == s.id),
            'median_minutes': round(statistics.median(took[s.id]), 1) if took[s.id] else None,
            'hands': hand_steps.get(s.title, 0),
            'stuck': False,
        }
        for s in steps
    ]
    if rows and members:
        worst = max(rows, key=lambda r: (r['hands'], r['median_minutes'] or 0, r['not_done']))
        if worst['hands'] or worst['median_minutes'] or worst['not_done']:
            worst['stuck'] = True
    return rows
