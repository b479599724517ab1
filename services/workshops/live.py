"""The in-memory state of each live workshop, updated by activity events and pushed to dashboards as small deltas.

One `LiveWorkshop` per live workshop (rebuilt from the database when first needed), one background sampler per
workshop (presence, stuck markers, usage over time, Ollama load) and one coalesced `changed` emit per burst of
changes: every dashboard subscribes and only renders the precomputed payload. Attendee pages subscribe to
`broadcast` (announcements, moves, end) and to their own `personal` event (hands, automatic progress).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from nicegui import Event

from services.core import actions
from services.core.i18n import N_
from services.workshops import checks as workshop_checks
from services.workshops import rules as workshop_rules

if TYPE_CHECKING:
    from models import Workshop

FEED_SIZE = 200
CHECK_CELLS = {'passed': '⚡', 'failed': '✗', 'partly': '◐', 'untried': ''}  # a step with checks, not ticked
TIMELINE_SIZE = 120

MODES = ('open', 'paced')  # a workshop's pacing: every step open, or opened by the instructor


@dataclass(kw_only=True, slots=True)
class Pace:
    mode: str = 'open'
    unlocked: int = 1  # in paced mode: steps 1..unlocked are open
    timer_ends: float | None = None  # epoch seconds
    timer_label: str = ''
    focus: str | None = None  # "eyes on the projector": the message over every attendee's screen

    def locked(self, index: int) -> bool:
        return self.mode == 'paced' and index >= self.unlocked

    def remaining(self, now: float | None = None) -> int | None:
        """Whole seconds left on the timer (0 once it ran out); None when no timer runs."""
        if self.timer_ends is None:
            return None
        return max(0, int(self.timer_ends - (now or time.time()) + 0.999))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, workshop: Workshop) -> Pace:
        ends = workshop.timer_ends_at
        return cls(
            mode=workshop.pacing if workshop.pacing in MODES else 'open',
            unlocked=max(1, workshop.unlocked_steps),
            timer_ends=ends.timestamp() if ends else None,
            timer_label=workshop.timer_label or '',
            focus=workshop.focus_message,
        )


@dataclass(kw_only=True, slots=True)
class AttendeeLive:
    user_id: int
    membership_id: int
    name: str
    number: int  # 1..N in joining order: the name shown in projector mode
    current_step: int = 0
    done: dict[int, str] = field(default_factory=dict)  # step id -> how
    checks: dict[tuple[int, str], tuple[bool, str]] = field(default_factory=dict)  # (step, check) -> passed, reason
    connections: int = 0
    last_seen: float = 0.0
    last_progress: float = 0.0
    error_streak: int = 0
    requests: int = 0
    tokens: int = 0
    latency_sum: float = 0.0
    latency_n: int = 0
    errors: int = 0
    presence: str = 'offline'
    stuck: str = ''

    def row(self, steps: list[dict[str, Any]]) -> dict[str, Any]:
        row: dict[str, Any] = {
            'id': self.user_id,
            'name': self.name,
            'alias': N_('Attendee {number}', number=self.number),
            'presence': self.presence,
            'last_seen': time.strftime('%H:%M:%S', time.localtime(self.last_seen)) if self.last_seen else '',
            'step': self.current_step + 1,
            'done': len(self.done),
            'stuck': self.stuck,
            'requests': self.requests,
            'tokens': self.tokens,
            'latency': round(self.latency_sum / self.latency_n) if self.latency_n else 0,
            'errors': self.errors,
        }
        for i, step in enumerate(steps):
            how = self.done.get(step['id'])
            row[f's{i}'] = '✔' if how == 'manual' else '⚡' if how == 'auto' else ''
            if how is None and step.get('checks'):
                state = workshop_checks.step_state(step['checks'], self.checks, step['id'])
                row[f's{i}'] = CHECK_CELLS[state]
        return row


@dataclass(kw_only=True, slots=True)
class Bucket:
    requests: int = 0
    tokens: int = 0
    latency_sum: float = 0.0
    latency_n: int = 0
    errors: int = 0


class LiveWorkshop:
    def __init__(self, *, workshop_id: int, title: str, stuck_minutes: int, steps: list[dict[str, Any]]) -> None:
        self.id = workshop_id
        self.title = title
        self.stuck_seconds = stuck_minutes * 60
        self.idle_seconds = 300.0
        self.steps = steps
        self.pace = Pace()  # open or paced steps, the step timer, "eyes on the projector" (set from the workshop row)
        self.attendees: dict[int, AttendeeLive] = {}
        self.hands: dict[int, dict[str, Any]] = {}  # open hands (raised or acknowledged)
        self.feed: deque[dict[str, Any]] = deque(maxlen=FEED_SIZE)
        self.models: dict[str, Bucket] = defaultdict(Bucket)
        self.timeline: deque[dict[str, Any]] = deque(maxlen=TIMELINE_SIZE)
        self.load: dict[str, Any] = {}
        self._bucket: dict[str, Bucket] = defaultdict(Bucket)  # per model, since the last sample
        self._host_requests: dict[str, int] = defaultdict(int)
        self.changed: Event[dict[str, Any]] = Event()  # dashboards
        self.broadcast: Event[dict[str, Any]] = Event()  # every attendee page
        self.personal: dict[int, Event[dict[str, Any]]] = {}  # one attendee's pages
        self._dirty_rows: set[int] = set()
        self._new_feed: list[dict[str, Any]] = []
        self._hands_dirty = False
        self._checks_dirty = False
        self._flush_handle: asyncio.TimerHandle | None = None
        # pushes to dashboards: at once while the room is calm, coalesced when it is busy — a token bucket of
        # `push_burst` pushes refilled at `push_rate` a second (per workshop, and so per dashboard)
        self.push_rate = 30.0
        self.push_burst = 10.0
        self._push_tokens = self.push_burst
        self._push_at = 0.0
        # the matrix is re-sent whole (one table) by each dashboard: coalesce its changes more (2 per second)
        self.rows_interval = 0.5
        self._last_rows = 0.0
        self._rows_handle: asyncio.TimerHandle | None = None
        self.task: asyncio.Task | None = None

    # ----- reading ---------------------------------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        return [a.row(self.steps) for a in self.attendees.values()]

    def counts(self) -> list[int]:
        return [sum(1 for a in self.attendees.values() if s['id'] in a.done) for s in self.steps]

    def open_hands(self) -> list[dict[str, Any]]:
        return sorted(self.hands.values(), key=lambda h: h['id'])

    def check_summary(self) -> list[dict[str, Any]]:
        return workshop_checks.class_summary(self.steps, [a.checks for a in self.attendees.values()])

    def snapshot(self) -> dict[str, Any]:
        return {
            'checks': self.check_summary(),
            'rows': self.rows(),
            'counts': self.counts(),
            'feed': list(self.feed),
            'hands': self.open_hands(),
            'timeline': list(self.timeline),
            'models': self.model_usage(),
            'load': self.load,
        }

    def model_usage(self) -> dict[str, dict[str, Any]]:
        return {
            m: {
                'requests': b.requests,
                'tokens': b.tokens,
                'latency': round(b.latency_sum / b.latency_n) if b.latency_n else 0,
                'errors': b.errors,
            }
            for m, b in self.models.items()
        }

    def personal_event(self, user_id: int) -> Event[dict[str, Any]]:
        event = self.personal.get(user_id)
        if event is None:
            event = self.personal[user_id] = Event()
        return event

    # ----- changes ---------------------------------------------------------------------------------------------------
    def add_attendee(self, attendee: AttendeeLive) -> None:
        self.attendees[attendee.user_id] = attendee
        self._refresh_presence(attendee, time.time())
        self.mark_row(attendee.user_id)

    def mark_row(self, user_id: int) -> None:
        self._dirty_rows.add(user_id)
        self._schedule()

    def mark_hands(self) -> None:
        self._hands_dirty = True
        self._schedule()

    def mark_checks(self) -> None:
        self._checks_dirty = True
        self._schedule()

    def seen(self, user_id: int, *, connected: int = 0) -> None:
        attendee = self.attendees.get(user_id)
        if attendee is None:
            return
        attendee.connections = max(0, attendee.connections + connected)
        attendee.last_seen = time.time()
        if self._refresh_presence(attendee, attendee.last_seen) or connected:
            self.mark_row(user_id)

    def progress(self, user_id: int, step_id: int, how: str | None) -> None:
        attendee = self.attendees.get(user_id)
        if attendee is None:
            return
        if how is None:
            attendee.done.pop(step_id, None)
        else:
            attendee.done[step_id] = how
            attendee.last_progress = time.time()
            attendee.stuck = ''
        self.mark_row(user_id)
        self.personal_event(user_id).emit({'kind': 'progress', 'step_id': step_id, 'how': how})

    def feed_item(self, activity: Any) -> dict[str, Any]:
        attendee = self.attendees.get(activity.user_id) if activity.user_id else None
        return {
            'id': activity.id,
            'at': activity.created_at.strftime('%H:%M:%S'),
            'user_id': activity.user_id,
            'name': attendee.name if attendee else '',
            'alias': N_('Attendee {number}', number=attendee.number) if attendee else '',
            'action': activity.action,
            'model': activity.model or '',
            'tokens': activity.tokens or 0,
            'latency': round(activity.latency_ms or 0),
            'error': (activity.error or '')[:200],
            'detail': _detail(activity.details),
        }

    def apply_activity(self, activity: Any) -> list[int]:
        """Fold one activity into the state; returns step ids that it completes automatically (for persisting)."""
        attendee = self.attendees.get(activity.user_id) if activity.user_id else None
        now = time.time()
        model = activity.model or ''
        item = self.feed_item(activity)
        self.feed.append(item)
        self._new_feed.append(item)
        bucket = self._bucket[model]
        bucket.requests += 1
        bucket.tokens += activity.tokens or 0
        if activity.latency_ms is not None:
            bucket.latency_sum += activity.latency_ms
            bucket.latency_n += 1
        if activity.error:
            bucket.errors += 1
        if activity.host:
            self._host_requests[activity.host] += 1
        completed: list[int] = []
        if attendee is not None:
            _count(attendee, activity)
            attendee.error_streak = attendee.error_streak + 1 if activity.error else 0
            attendee.last_seen = now
            self._refresh_presence(attendee, now)
            for index, step in enumerate(self.steps):
                if self.pace.locked(index):
                    break  # a locked step of a paced workshop cannot be completed, not even automatically
                if (
                    step['id'] not in attendee.done
                    and not step.get('checks')
                    and workshop_rules.matches(step['rule'], activity.action, activity.error, activity.details)
                ):
                    completed.append(step['id'])
            if self._stuck_changed(attendee, now):
                self.mark_row(attendee.user_id)
        self._schedule()
        return completed

    # ----- presence, stuck, sampling ---------------------------------------------------------------------------------
    def _refresh_presence(self, attendee: AttendeeLive, now: float) -> bool:
        if not attendee.connections:
            presence = 'offline'
        else:
            presence = 'idle' if now - attendee.last_seen > self.idle_seconds else 'online'
        changed = presence != attendee.presence
        attendee.presence = presence
        return changed

    def _stuck_changed(self, attendee: AttendeeLive, now: float) -> bool:
        stuck = ''
        if attendee.error_streak >= 3:
            stuck = N_('{count} errors in a row', count=attendee.error_streak)
        elif len(attendee.done) < len(self.steps) and now - (attendee.last_progress or now) > self.stuck_seconds:
            stuck = N_('no progress for {minutes} min', minutes=int((now - attendee.last_progress) // 60))
        changed = stuck != attendee.stuck
        attendee.stuck = stuck
        return changed

    def sample(self, load: dict[str, Any]) -> None:
        """Called by the workshop's one sampler task: presence/stuck sweeps, a usage point, Ollama load."""
        now = time.time()
        for attendee in self.attendees.values():
            changed = self._refresh_presence(attendee, now)
            if self._stuck_changed(attendee, now) or changed:
                self._dirty_rows.add(attendee.user_id)
        point: dict[str, Any] = {'t': time.strftime('%H:%M:%S'), 'models': {}}
        for model, b in self._bucket.items():
            total = self.models[model]
            total.requests += b.requests
            total.tokens += b.tokens
            total.latency_sum += b.latency_sum
            total.latency_n += b.latency_n
            total.errors += b.errors
            point['models'][model or '(none)'] = {
                'requests': b.requests,
                'tokens': b.tokens,
                'latency': round(b.latency_sum / b.latency_n) if b.latency_n else 0,
                'errors': b.errors,
            }
        self._bucket.clear()
        load['rates'] = dict(self._host_requests)
        self._host_requests.clear()
        self.load = load
        self.timeline.append(point)
        # usage columns change with every action: refresh them on the sampler's beat, not on every action
        self._dirty_rows.update(a.user_id for a in self.attendees.values() if a.requests)
        self._flush(extra={'point': point, 'models': self.model_usage(), 'load': load, 'top': self.top_attendees()})

    def top_attendees(self, n: int = 15) -> list[dict[str, Any]]:
        ranked = sorted(self.attendees.values(), key=lambda a: a.requests, reverse=True)[:n]
        return [
            {'name': a.name, 'alias': N_('Attendee {number}', number=a.number), 'requests': a.requests}
            for a in ranked
            if a.requests
        ]

    # ----- pushing ---------------------------------------------------------------------------------------------------
    def _schedule(self) -> None:
        if self._flush_handle is not None:
            return
        loop = asyncio.get_running_loop()
        tokens = self._refill(loop.time())
        delay = 0.0 if tokens >= 1 else (1 - tokens) / self.push_rate
        self._flush_handle = loop.call_later(delay, self._flush)  # 0: after this tick, so one burst is one push

    def _refill(self, now: float) -> float:
        self._push_tokens = min(self.push_burst, self._push_tokens + (now - self._push_at) * self.push_rate)
        self._push_at = now
        return self._push_tokens

    def _rows_due(self) -> None:
        self._rows_handle = None
        self._schedule()

    def _flush(self, extra: dict[str, Any] | None = None) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        now = asyncio.get_running_loop().time()
        self._push_tokens = max(0.0, self._refill(now) - 1)
        payload: dict[str, Any] = dict(extra or {})
        if self._dirty_rows and now - self._last_rows >= self.rows_interval:
            payload['rows'] = [self.attendees[u].row(self.steps) for u in self._dirty_rows if u in self.attendees]
            payload['counts'] = self.counts()
            self._dirty_rows = set()
            self._last_rows = now
        elif self._dirty_rows and self._rows_handle is None:
            delay = self._last_rows + self.rows_interval - now
            self._rows_handle = asyncio.get_running_loop().call_later(delay, self._rows_due)
        if self._new_feed:
            payload['feed'] = self._new_feed
            self._new_feed = []
        if self._hands_dirty:
            payload['hands'] = self.open_hands()
            self._hands_dirty = False
        if self._checks_dirty:
            payload['checks'] = self.check_summary()
            self._checks_dirty = False
        if payload:
            self.changed.emit(payload)

    def stop(self) -> None:
        for handle in (self._flush_handle, self._rows_handle):
            if handle is not None:
                handle.cancel()
        if self.task is not None:
            self.task.cancel()


def _count(attendee: AttendeeLive, activity: Any) -> None:
    attendee.requests += 1
    attendee.tokens += activity.tokens or 0
    if activity.latency_ms is not None:
        attendee.latency_sum += activity.latency_ms
        attendee.latency_n += 1
    if activity.error:
        attendee.errors += 1


def _detail(details: dict[str, Any]) -> str:
    shown = [(k, v) for k, v in details.items() if k not in actions.PRIVATE_DETAILS]
    return ', '.join(f'{k}={v}' for k, v in shown[:4])[:120]


def merge_live(live: LiveWorkshop, keep_id: int, drop_id: int) -> None:
    """The live state after a merge: the dropped attendee's row folds into the kept one's."""
    gone = live.attendees.pop(drop_id, None)
    kept = live.attendees.get(keep_id)
    live.personal.pop(drop_id, None)
    if gone is not None and kept is not None:
        gained = {step: how for step, how in gone.done.items() if step not in kept.done}
        kept.done.update(gained)
        kept.current_step = max(kept.current_step, gone.current_step)
        kept.connections += gone.connections
        kept.last_seen = max(kept.last_seen, gone.last_seen)
        kept.last_progress = max(kept.last_progress, gone.last_progress)
        for key in ('requests', 'tokens', 'latency_sum', 'latency_n', 'errors'):
            setattr(kept, key, getattr(kept, key) + getattr(gone, key))
        for step_id, how in gained.items():  # the kept attendee's open pages tick them
            live.personal_event(keep_id).emit({'kind': 'progress', 'step_id': step_id, 'how': how})
    for hand in live.hands.values():
        if hand['user_id'] == drop_id:
            hand['user_id'] = keep_id
            hand['name'] = kept.name if kept is not None else hand['name']
    live.changed.emit({'reload': True})  # dashboards: a row left the matrix
