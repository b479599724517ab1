"""What happens in a running workshop's room: presence, attendees' progress and steps, raised hands, announcements and
the instructor's moves. Mixed into `WorkshopSession` (which owns the live state, permissions and `_apply`): each change
is applied with `_apply(kind, ...)` and a `_live_<kind>` handler here, so it also reaches the other app processes."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from models import (
    Announcement,
    HandState,
    RaisedHand,
    StepProgress,
    Workshop,
    WorkshopMembership,
    WorkshopState,
    WorkshopStep,
)
from services.core.activity import Activity
from services.core.errors import Conflict, InvalidInput, NotFound
from services.core.i18n import N_
from services.workshops.live import LiveWorkshop, merge_live
from services.workshops.types import AnnouncementInfo, HandInfo

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


class Classroom:
    live: dict[int, LiveWorkshop]

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
            raise NotFound(N_('No such step.'))
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
            raise Conflict(N_('Your hand is already raised. An instructor will come to you.'))
        hand = await RaisedHand.create(membership_id=membership.id, message=(message or '').strip()[:500])
        info = HandInfo(
            id=hand.id, user_id=user.id, name=user.display_name, message=hand.message, state='raised',
            created_at=hand.created_at,
        )  # fmt: skip
        self._apply('hand', workshop_id=workshop_id, user_id=actor_id, hand=hand_dict(info))
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
            raise NotFound(N_('No such raised hand.'))
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
            hand_dict(HandInfo(id=r['id'], user_id=r['user_id'], name=r['name'], message=r['message'],
                                state=str(r['state']), created_at=r['created_at'], claimed_by=r['claimer'] or '',
                                claimed_by_id=r['claimed_by_id']))
            for r in rows
        ]  # fmt: skip

    # ----- instructor actions --------------------------------------------------------------------------------------
    async def announce(self, actor_id: int, workshop_id: int, text: str) -> AnnouncementInfo:
        user, _ = await self._manage(actor_id, workshop_id)
        text = (text or '').strip()
        if not 1 <= len(text) <= 2000:
            raise InvalidInput(N_('An announcement needs 1 to 2000 characters.'))
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
            raise InvalidInput(N_('Pick one of the steps of the agenda.'))
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
            raise NotFound(N_('This person is not an attendee of this workshop.'))
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
            raise Conflict(N_('This workshop is not running right now, so progress and hands are closed.'))


def hand_dict(info: HandInfo) -> dict[str, Any]:
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
