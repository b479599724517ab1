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
    Announcement,
    HandState,
    RaisedHand,
    Role,
    StepProgress,
    Workshop,
    WorkshopAssistant,
    WorkshopMembership,
    WorkshopState,
    WorkshopStep,
)
from services.core import metrics
from services.core.activity import Activity, ActivityService
from services.core.auth import AuthService
from services.core.bus import LiveBus
from services.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from services.core.membership import Membership
from services.models.callers import Purpose
from services.models.calls import ModelCalls
from services.models.errors import OllamaError
from services.models.hosts import HostDirectory
from services.workshops.checking import WorkshopChecks
from services.workshops.identity import merge_live
from services.workshops.live import AttendeeLive, LiveWorkshop
from services.workshops.pacing import Pace
from services.workshops.types import AnnouncementInfo, HandInfo, StepInfo
from services.workshops.usage import workshop_usage

if TYPE_CHECKING:
    from services.core.auth import UserInfo

log = logging.getLogger(__name__)

ASSISTANT_REFUSED = (
    "Only this workshop's instructors can do that. As an assistant you can claim and resolve hands and message "
    'attendees.'
)


class WorkshopSession(WorkshopChecks):
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
            raise NotFound('No such workshop.')
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
        raise NotFound('No such workshop.')

    async def _member(self, actor_id: int, workshop_id: int) -> tuple[UserInfo, Workshop, WorkshopMembership]:
        user = await self.auth.require(actor_id)
        workshop = await self._workshop(workshop_id)
        membership = await WorkshopMembership.get_or_none(workshop_id=workshop_id, user_id=user.id)
        if membership is None:
            raise NotFound('No such workshop.')
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

    # ----- presence ------------------------------------------------------------------------------------------------
    def connected(self, workshop_id: int, user_id: int, delta: int) -> None:
        """An attendee page of this user connected (+1) or disconnected (-1)."""
        self._apply('presence', workshop_id=workshop_id, user_id=user_id, delta=delta)

    def _live_presence(self, p: dict[str, Any]) -> None:
        live = self.live.get(p['workshop_id'])
        if live is not None:
            live.seen(p['user_id'], connected=p['delta'])

    # ----- the attendee --------------------------------------------------------------------------------------------
    async def tick(self, actor_id: int, workshop_id: int, step_id: int, done: bool) -> None:
        _, workshop, membership = await self._member(actor_id, workshop_id)
        self._require_live(workshop)
        if not await WorkshopStep.exists(id=step_id, workshop_id=workshop_id):
            raise NotFound('No such step.')
        await self._require_open(workshop, step_id=step_id)  # type: ignore[attr-defined]
        await self._save_progress(workshop_id, actor_id, step_id, 'manual' if done else None, membership)
        how = 'manual' if done else None
        self._apply('progress', workshop_id=workshop_id, user_id=actor_id, step_id=step_id, how=how)

    def _live_progress(self, p: dict[str, Any]) -> None:
        live = self.live.get(p['workshop_id'])
        if live is not None:
            live.progress(p['user_id'], p['step_id'], p['how'])
            live.seen(p['user_id'])

    async def _save_progress(
        self,
        workshop_id: int,
        user_id: int,
        step_id: int,
        how: str | None,
        membership: WorkshopMembership | None = None,
    ) -> None:
        membership = membership or await WorkshopMembership.get_or_none(workshop_id=workshop_id, user_id=user_id)
        if membership is None:
            return
        if how is None:
            await StepProgress.filter(membership_id=membership.id, step_id=step_id).delete()
        else:
            await StepProgress.update_or_create(
                defaults={'done': True, 'how': how}, membership_id=membership.id, step_id=step_id
            )

    async def set_step(self, actor_id: int, workshop_id: int, index: int) -> None:
        """The attendee moves to another step of the agenda."""
        _, workshop, membership = await self._member(actor_id, workshop_id)
        count = await WorkshopStep.filter(workshop_id=workshop_id).count()
        index = max(0, min(int(index), max(count - 1, 0)))
        await self._require_open(workshop, index=index)  # type: ignore[attr-defined]
        membership.current_step = index
        await membership.save(update_fields=['current_step'])
        self._apply('step', workshop_id=workshop_id, user_id=actor_id, index=membership.current_step)

    def _live_step(self, p: dict[str, Any]) -> None:
        live = self.live.get(p['workshop_id'])
        if live is not None and p['user_id'] in live.attendees:
            live.attendees[p['user_id']].current_step = p['index']
            live.seen(p['user_id'])
            live.mark_row(p['user_id'])

    async def raise_hand(self, actor_id: int, workshop_id: int, message: str = '') -> HandInfo:
        user, workshop, membership = await self._member(actor_id, workshop_id)
        self._require_live(workshop)
        if await RaisedHand.exists(membership_id=membership.id, state__in=[HandState.RAISED, HandState.ACKNOWLEDGED]):
            raise Conflict('Your hand is already raised. An instructor will come to you.')
        hand = await RaisedHand.create(membership_id=membership.id, message=(message or '').strip()[:500])
        info = HandInfo(
            id=hand.id, user_id=user.id, name=user.display_name, message=hand.message, state='raised',
            created_at=hand.created_at,
        )  # fmt: skip
        self._apply('hand', workshop_id=workshop_id, user_id=actor_id, hand=_hand_dict(info))
        return info

    def _live_hand(self, p: dict[str, Any]) -> None:
        live = self.live.get(p['workshop_id'])
        if live is not None:
            live.hands[p['hand']['id']] = p['hand']
            live.mark_hands()
            live.seen(p['user_id'])

    async def lower_hand(self, actor_id: int, workshop_id: int) -> None:
        _, _, membership = await self._member(actor_id, workshop_id)
        hands = await RaisedHand.filter(membership_id=membership.id, state__not=HandState.RESOLVED)
        for hand in hands:
            await self._set_hand(workshop_id, hand, HandState.RESOLVED, actor_id)

    async def update_hand(self, actor_id: int, workshop_id: int, hand_id: int, state: str) -> None:
        """An instructor or assistant acknowledges or resolves a raised hand; the attendee learns it live."""
        await self._staff(actor_id, workshop_id)  # type: ignore[attr-defined]
        hand = await RaisedHand.get_or_none(id=hand_id, membership__workshop_id=workshop_id)
        if hand is None:
            raise NotFound('No such raised hand.')
        await self._set_hand(workshop_id, hand, HandState(state), None)

    async def _set_hand(self, workshop_id: int, hand: RaisedHand, state: HandState, user_id: int | None) -> None:
        hand.state = state
        await hand.save(update_fields=['state', 'updated_at'])
        if workshop_id not in self.live and not self.bus.shared:
            return
        if user_id is None:
            live = self.live.get(workshop_id)
            entry = live.hands.get(hand.id) if live is not None else None
            user_id = entry['user_id'] if entry else (await WorkshopMembership.get(id=hand.membership_id)).user_id
        self._apply('hand_state', workshop_id=workshop_id, hand_id=hand.id, state=state.value, user_id=user_id)

    def _live_hand_state(self, p: dict[str, Any]) -> None:
        live = self.live.get(p['workshop_id'])
        if live is None:
            return
        if p['state'] == HandState.RESOLVED.value:
            live.hands.pop(p['hand_id'], None)
        elif entry := live.hands.get(p['hand_id']):
            entry['state'] = p['state']
        live.mark_hands()
        live.personal_event(p['user_id']).emit({'kind': 'hand', 'state': p['state'], 'id': p['hand_id']})

    async def _open_hands(self, workshop_id: int) -> list[dict[str, Any]]:
        rows = await RaisedHand.filter(
            membership__workshop_id=workshop_id, state__in=[HandState.RAISED, HandState.ACKNOWLEDGED]
        ).values(
            'id',
            'message',
            'state',
            'created_at',
            'claimed_by_id',
            user_id='membership__user_id',
            name='membership__user__display_name',
            claimer='claimed_by__display_name',
        )
        return [
            _hand_dict(HandInfo(id=r['id'], user_id=r['user_id'], name=r['name'], message=r['message'],
                                state=str(r['state']), created_at=r['created_at'], claimed_by=r['claimer'] or '',
                                claimed_by_id=r['claimed_by_id']))
            for r in rows
        ]  # fmt: skip

    # ----- instructor actions --------------------------------------------------------------------------------------
    async def announce(self, actor_id: int, workshop_id: int, text: str) -> AnnouncementInfo:
        user, _ = await self._manage(actor_id, workshop_id)
        text = (text or '').strip()
        if not 1 <= len(text) <= 2000:
            raise InvalidInput('An announcement needs 1 to 2000 characters.')
        row = await Announcement.create(workshop_id=workshop_id, author_id=user.id, text=text)
        info = AnnouncementInfo(id=row.id, text=text, created_at=row.created_at)
        at = row.created_at.astimezone().strftime('%H:%M')
        notice = f'Announcement: {text[:200]}'
        event = {'kind': 'announcement', 'id': row.id, 'text': text, 'at': at, 'notice': notice}
        self._apply('broadcast', workshop_id=workshop_id, event=event)
        return info

    def _live_broadcast(self, p: dict[str, Any]) -> None:
        live = self.live.get(p['workshop_id'])
        if live is not None:
            live.broadcast.emit(p['event'])

    async def move_all(self, actor_id: int, workshop_id: int, index: int) -> None:
        await self._manage(actor_id, workshop_id)
        count = await WorkshopStep.filter(workshop_id=workshop_id).count()
        if not 0 <= index < count:
            raise InvalidInput('Pick one of the steps of the agenda.')
        await self._open_through(workshop_id, index)  # type: ignore[attr-defined]
        await WorkshopMembership.filter(workshop_id=workshop_id).update(current_step=index)
        self._apply('move_all', workshop_id=workshop_id, index=index)

    def _live_move_all(self, p: dict[str, Any]) -> None:
        live = self.live.get(p['workshop_id'])
        if live is not None:
            for attendee in live.attendees.values():
                attendee.current_step = p['index']
                live._dirty_rows.add(attendee.user_id)
            live.mark_row(next(iter(live.attendees), 0))
            live.broadcast.emit({'kind': 'step', 'index': p['index']})

    def _live_merged(self, p: dict[str, Any]) -> None:
        live = self.live.get(p['workshop_id'])
        if live is not None:
            merge_live(live, p['keep'], p['drop'])

    async def attendee_activity(self, actor_id: int, workshop_id: int, user_id: int, limit: int = 30) -> list[Activity]:
        """Drill-down: one attendee's recent activity in this workshop (managers and assistants)."""
        await self._staff(actor_id, workshop_id)  # type: ignore[attr-defined]
        if not await WorkshopMembership.exists(workshop_id=workshop_id, user_id=user_id):
            raise NotFound('This person is not an attendee of this workshop.')
        items = await self.activity.query(user_id=user_id, workshop_id=workshop_id, limit=limit)
        return [a.without_private() for a in items]

    async def workshop_activity(
        self, actor_id: int, workshop_id: int, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[Activity], int]:
        """Everything recorded in this workshop, newest first, and the total (managers only; the API's feed)."""
        await self._manage(actor_id, workshop_id)
        items, total = await self.activity.page(workshop_id=workshop_id, limit=limit, offset=offset)
        return [a.without_private() for a in items], total

    @staticmethod
    def _require_live(workshop: Workshop) -> None:
        if workshop.state != WorkshopState.LIVE:
            raise Conflict('This workshop is not running right now, so progress and hands are closed.')


def _step_dict(step: StepInfo) -> dict[str, Any]:
    return {'id': step.id, 'title': step.title, 'rule': step.rule, 'checks': step.checks}


def _hand_dict(info: HandInfo) -> dict[str, Any]:
    return {
        'id': info.id,
        'user_id': info.user_id,
        'name': info.name,
        'message': info.message,
        'state': info.state,
        'at': info.created_at.strftime('%H:%M:%S'),
        'claimed_by': info.claimed_by,
        'claimed_by_id': info.claimed_by_id,
    }


__all__ = ['UserInfo', 'WorkshopSession']
