"""The running workshop: attendee progress, raised hands, announcements, presence and the live dashboard state.

Mixed into `WorkshopService`. Every method acting for a user takes `actor_id` first and checks it against the
database (`_manage` for instructors, `_member` for attendees).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from nicegui import Event, background_tasks

from models import (
    Role,
    StepProgress,
    Workshop,
    WorkshopAssistant,
    WorkshopMembership,
    WorkshopState,
)
from services.core import metrics
from services.core.activity import Activity, ActivityService
from services.core.auth import AuthService
from services.core.bus import LiveBus
from services.core.errors import NotFound, PermissionDenied
from services.core.i18n import N_
from services.core.membership import Membership
from services.models.callers import Purpose
from services.models.calls import ModelCalls
from services.models.errors import OllamaError
from services.models.hosts import HostDirectory
from services.workshops.checking import WorkshopChecks
from services.workshops.classroom import Classroom
from services.workshops.live import AttendeeLive, LiveWorkshop, Pace
from services.workshops.types import StepInfo
from services.workshops.usage import workshop_usage

if TYPE_CHECKING:
    from services.core.auth import UserInfo

log = logging.getLogger(__name__)

ASSISTANT_REFUSED = N_(
    "Only this workshop's instructors can do that. As an assistant you can claim and resolve hands and message "
    'attendees.'
)


class WorkshopSession(WorkshopChecks, Classroom):
    def __init__(
        self,
        *,
        auth: AuthService,
        activity: ActivityService,
        membership: Membership,
        calls: ModelCalls,
        hosts: HostDirectory,
        sample_seconds: float,
        gc_freeze: bool = True,
        bus: LiveBus | None = None,
    ) -> None:
        self.auth = auth
        self.activity = activity
        self.membership = membership  # which live workshop each user is in (forgotten on join, leave, start, end)
        self.calls = calls
        self.hosts = hosts
        self.sample_seconds = sample_seconds
        self.live: dict[int, LiveWorkshop] = {}
        self._loading: dict[int, asyncio.Lock] = {}
        self.gc_freeze = gc_freeze
        self._frozen_for = 0  # attendees in live workshops at the last freeze
        self._last_freeze = 0.0
        # after each sample of a live workshop: (workshop id, the load it saw: models loaded per host, the room).
        # The pre-flight service keeps the workshop's models loaded from here.
        self.sampled: Event[int, dict[str, Any]] = Event()
        activity.recorded.subscribe(self._on_activity)
        # changes made on other app processes (REDIS_URL): applied to this process's copy of the live state
        self.bus = bus or LiveBus()
        for kind in ('activity', 'attendee', 'presence', 'progress', 'step', 'hand', 'hand_state', 'broadcast',
                     'move_all', 'steps', 'closed', 'arena', 'gallery', 'check', 'merged', 'pace', 'hand_claim',
                     'private'):  # fmt: skip
            self.bus.on(kind, getattr(self, f'_live_{kind}'))
        self.bus.on_gap(self._live_gap)

    def _apply(self, kind: str, **payload: Any) -> Any:
        """A change to the live state: here now, and on every other process through the bus."""
        self.bus.publish(kind, **payload)
        return getattr(self, f'_live_{kind}')(payload)

    def _live_gap(self) -> None:
        """Events may have been missed (Redis reconnected): every live workshop is rebuilt from the database, and its
        open pages reload onto the rebuilt state."""
        for workshop_id in list(self.live):
            live = self.live.pop(workshop_id)
            live.stop()
            live.changed.emit({'reload': True})
            live.broadcast.emit({'kind': 'reload'})

    # ----- permissions ---------------------------------------------------------------------------------------------
    async def _workshop(self, workshop_id: int) -> Workshop:
        workshop = await Workshop.get_or_none(id=workshop_id)
        if workshop is None:
            raise NotFound(N_('No such workshop.'))
        return workshop

    async def _is_manager(self, user: UserInfo, workshop: Workshop) -> bool:
        """Its owner, a co-instructor or an admin (the one rule: `Membership.manages`)."""
        return await self.membership.manages(user.id, user.role, workshop.id)

    async def _manage(self, actor_id: int, workshop_id: int) -> tuple[UserInfo, Workshop]:
        """The acting manager and the workshop; attendees and the workshop's assistants get PermissionDenied (assistants
        with what they may do), other instructors NotFound."""
        user = await self.auth.require(actor_id)
        workshop = await self._workshop(workshop_id)
        if user.at_least(Role.INSTRUCTOR) and await self._is_manager(user, workshop):
            return user, workshop
        if await WorkshopAssistant.exists(workshop_id=workshop_id, user_id=user.id):
            raise PermissionDenied(ASSISTANT_REFUSED)
        await self.auth.require(actor_id, Role.INSTRUCTOR)  # an attendee: PermissionDenied, as before
        log.warning('user %s refused management of workshop %s', actor_id, workshop_id)
        raise NotFound(N_('No such workshop.'))

    async def _member(self, actor_id: int, workshop_id: int) -> tuple[UserInfo, Workshop, WorkshopMembership]:
        user = await self.auth.require(actor_id)
        workshop = await self._workshop(workshop_id)
        membership = await WorkshopMembership.get_or_none(workshop_id=workshop_id, user_id=user.id)
        if membership is None:
            raise NotFound(N_('No such workshop.'))
        return user, workshop, membership

    async def can_manage(self, actor_id: int, workshop_id: int) -> bool:
        user = await self.auth.get_user(actor_id)
        workshop = await Workshop.get_or_none(id=workshop_id)
        return bool(user and workshop and user.at_least(Role.INSTRUCTOR) and await self._is_manager(user, workshop))

    # ----- attribution of activity ---------------------------------------------------------------------------------
    async def workshop_of(self, user_id: int) -> int | None:
        """The live workshop this user attends."""
        return await self.membership.workshop_of(user_id)

    def _on_activity(self, activity: Activity) -> None:
        if activity.workshop_id is None:
            return
        self.bus.publish('activity', **activity.to_dict())  # dashboards on other processes count it too
        live = self.live.get(activity.workshop_id)
        if live is None:
            background_tasks.create(self.live_state(activity.workshop_id), name='workshop-load')  # rebuilds from DB
            return
        for step_id in live.apply_activity(activity):
            live.progress(activity.user_id, step_id, 'auto')  # type: ignore[arg-type]
            background_tasks.create(self._save_progress(activity.workshop_id, activity.user_id, step_id, 'auto'))
        self._run_checks(live, activity)

    def _live_activity(self, payload: dict[str, Any]) -> None:
        """Another process recorded it (and saved any step it completed): count it here."""
        live = self.live.get(payload.get('workshop_id') or 0)
        if live is None:
            return
        activity = Activity(**{**payload, 'created_at': datetime.fromisoformat(payload['created_at'])})
        for step_id in live.apply_activity(activity):
            live.progress(activity.user_id, step_id, 'auto')  # type: ignore[arg-type]

    # ----- the in-memory state -------------------------------------------------------------------------------------
    async def live_state(self, workshop_id: int) -> LiveWorkshop | None:
        """The live state of a live workshop, rebuilt from the database on first use; None if it is not live."""
        live = self.live.get(workshop_id)
        if live is not None:
            return live
        lock = self._loading.setdefault(workshop_id, asyncio.Lock())
        async with lock:
            if workshop_id in self.live:
                return self.live[workshop_id]
            workshop = await Workshop.get_or_none(id=workshop_id, state=WorkshopState.LIVE)
            if workshop is None:
                return None
            live = await self._build(workshop)
            self.live[workshop_id] = live
            live.task = background_tasks.create(self._sampler(live), name=f'workshop-{workshop_id}-sampler')
            return live

    async def _build(self, workshop: Workshop) -> LiveWorkshop:
        steps = [_step_dict(s) for s in await self.steps(workshop.id)]
        live = LiveWorkshop(
            workshop_id=workshop.id, title=workshop.title, stuck_minutes=workshop.stuck_minutes, steps=steps
        )
        live.pace = Pace.of(workshop)
        memberships = (
            await WorkshopMembership.filter(workshop_id=workshop.id)
            .order_by('id')
            .values('id', 'user_id', 'current_step', 'joined_at', 'last_seen', name='user__display_name')
        )
        for number, m in enumerate(memberships, start=1):
            live.attendees[m['user_id']] = AttendeeLive(
                user_id=m['user_id'],
                membership_id=m['id'],
                name=m['name'],
                number=number,
                current_step=m['current_step'],
                last_seen=(m['last_seen'] or m['joined_at']).timestamp(),
                last_progress=m['joined_at'].timestamp(),
            )
        by_membership = {a.membership_id: a for a in live.attendees.values()}
        for p in await StepProgress.filter(membership__workshop_id=workshop.id, done=True).values(
            'membership_id', 'step_id', 'how', 'at'
        ):
            attendee = by_membership.get(p['membership_id'])
            if attendee:
                attendee.done[p['step_id']] = p['how']
                attendee.last_progress = max(attendee.last_progress, p['at'].timestamp())
        for hand in await self._open_hands(workshop.id):
            live.hands[hand['id']] = hand
        for row in await workshop_usage(workshop.id):
            attendee = live.attendees.get(row.user_id)
            bucket = live.models[row.model or '']
            for target in (attendee, bucket) if attendee else (bucket,):
                target.requests += row.requests
                target.tokens += row.tokens
                target.latency_sum += row.latency_sum
                target.latency_n += row.latency_n
                target.errors += row.errors
        for activity in reversed(await self.activity.query(workshop_id=workshop.id, limit=50)):
            live.feed.append(live.feed_item(activity))
        await self._load_checks(live)
        return live

    async def _sampler(self, live: LiveWorkshop) -> None:
        while True:
            await asyncio.sleep(self.sample_seconds)
            try:
                load: dict[str, Any] = {'hosts': {}}
                for url in await self.hosts.urls():
                    try:
                        running = await asyncio.wait_for(self.calls.loaded(url, Purpose.WORKSHOP_CHECK), timeout=2)
                        load['hosts'][url] = [m.model for m in running]
                    except (OllamaError, TimeoutError):
                        load['hosts'][url] = None
                load['room'] = self.room_of(live)
                live.sample(load)
                self.sampled.emit(live.id, load)
                self._maybe_refreeze()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception('workshop %s sampler failed', live.id)

    def metric_families(self) -> list:
        """Attendees of each live workshop by presence (online, idle, offline) and stuck ones, read at scrape time."""
        presence, stuck = [], []
        for workshop_id, live in list(self.live.items()):
            counts = {'online': 0, 'idle': 0, 'offline': 0}
            for attendee in live.attendees.values():
                counts[attendee.presence] = counts.get(attendee.presence, 0) + 1
            presence += [([str(workshop_id), state], n) for state, n in counts.items()]
            stuck.append(([str(workshop_id)], sum(1 for a in live.attendees.values() if a.stuck)))
        return [
            metrics.gauge('owp_workshop_attendees', 'Attendees of each live workshop, by presence.',
                          ['workshop', 'presence'], presence),
            metrics.gauge('owp_workshop_attendees_stuck', 'Attendees of each live workshop marked stuck.',
                          ['workshop'], stuck),
        ]  # fmt: skip

    def room_of(self, live: LiveWorkshop) -> dict[str, Any]:
        """The room as this workshop's instructor sees it: slots in use and calls waiting per host, hosts marked
        down, this workshop's people waiting (and how long), and calls refused for being busy."""
        room = self.calls.room.snapshot()
        hosts = self.calls.room_hosts()
        names = {a.user_id: a.name for a in live.attendees.values()}
        waiting = [
            {'name': names.get(w.user_id, 'someone else'), 'kind': w.kind, 'waited_s': w.waited_s}
            for w in room.waiting
            if w.workshop_id == live.id or w.user_id in names
        ]
        return {
            'hosts': hosts,
            'waiting': waiting,
            'refused_busy': room.refused_busy,
            'waiting_total': len(room.waiting),
        }

    def _maybe_refreeze(self) -> None:
        """With hundreds of attendee pages the heap is big and stable; CPython's full collections then pause the loop
        for 250+ ms at random moments (the dashboard's tail latency). Instead: when attendees joined, a cheap young
        collection and `gc.freeze()` of the survivors (kept out of full collections); every 15 minutes one full
        collection at a moment we choose (unfreeze first, so frozen garbage of closed pages is reclaimed)."""
        attendees = sum(len(live.attendees) for live in self.live.values())
        now = time.monotonic()
        if not self.gc_freeze or attendees < 50:
            return
        started = time.perf_counter()
        if now - self._last_freeze > 900:
            gc.unfreeze()
            gc.collect()
        elif attendees > self._frozen_for * 1.1:
            gc.collect(1)
        else:
            return
        gc.freeze()
        self._frozen_for, self._last_freeze = attendees, now
        took = (time.perf_counter() - started) * 1000
        log.info('gc: froze %d objects in %.0f ms (%d attendees)', gc.get_freeze_count(), took, attendees)

    async def _reload_steps(self, workshop_id: int) -> None:
        self.bus.publish('steps', workshop_id=workshop_id)
        await self._live_steps({'workshop_id': workshop_id})

    async def _live_steps(self, payload: dict[str, Any]) -> None:
        live = self.live.get(payload['workshop_id'])
        if live is not None:
            live.steps = [_step_dict(s) for s in await self.steps(live.id)]
            live.changed.emit({'reload': True})
            live.broadcast.emit({'kind': 'reload'})

    async def _add_to_live(self, workshop_id: int, membership: WorkshopMembership) -> None:
        live = await self.live_state(workshop_id)
        if live is None or membership.user_id in live.attendees:
            return
        user = await membership.user
        self._apply(
            'attendee', workshop_id=workshop_id, user_id=user.id, membership_id=membership.id, name=user.display_name,
            current_step=membership.current_step, joined=membership.joined_at.timestamp(),
        )  # fmt: skip

    def _live_attendee(self, p: dict[str, Any]) -> None:
        live = self.live.get(p['workshop_id'])
        if live is None or p['user_id'] in live.attendees:
            return
        live.add_attendee(
            AttendeeLive(
                user_id=p['user_id'],
                membership_id=p['membership_id'],
                name=p['name'],
                number=len(live.attendees) + 1,
                current_step=p['current_step'],
                last_seen=p['joined'],
                last_progress=p['joined'],
            )
        )

    async def _close_live(self, workshop_id: int) -> None:
        self.membership.forget(workshop_id=workshop_id)
        self.bus.publish('closed', workshop_id=workshop_id)
        live = self._live_closed({'workshop_id': workshop_id})
        if live is None:
            return
        for attendee in live.attendees.values():
            if attendee.last_seen:
                seen = datetime.fromtimestamp(attendee.last_seen, UTC)
                await WorkshopMembership.filter(id=attendee.membership_id).update(last_seen=seen)

    def _live_closed(self, payload: dict[str, Any]) -> LiveWorkshop | None:
        live = self.live.pop(payload['workshop_id'], None)
        if live is not None:
            live.stop()
            live.broadcast.emit({'kind': 'ended'})
            live.changed.emit({'ended': True})
        return live

    async def dashboard(self, actor_id: int, workshop_id: int) -> LiveWorkshop | None:
        """The live state for a manager's or an assistant's dashboard (None when the workshop is not live)."""
        await self._staff(actor_id, workshop_id)  # type: ignore[attr-defined]
        return await self.live_state(workshop_id)


def _step_dict(step: StepInfo) -> dict[str, Any]:
    return {'id': step.id, 'title': step.title, 'rule': step.rule, 'checks': step.checks}


__all__ = ['UserInfo', 'WorkshopSession']
