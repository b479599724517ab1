"""Assistants of a workshop (issue 18 item 4): a role between instructor and attendee.

Mixed into `WorkshopService`. Managers (owner, co-instructors, admins) add assistants by email. An assistant sees the
dashboard, claims and resolves raised hands and sends a private message to one attendee; everything else a manager
does (ending, settings, steps, pacing, quotas) stays behind `_manage`, which tells an assistant so.

Claiming is first come, first served across every process: one conditional UPDATE in the database decides, a second
claim is refused with who has it. The attendee learns who is coming; every dashboard shows who claimed the hand.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from models import HandState, PrivateMessage, RaisedHand, Role, User, Workshop, WorkshopAssistant, WorkshopMembership
from services.core.errors import Conflict, InvalidInput, NotFound
from services.core.i18n import N_

if TYPE_CHECKING:
    from services.core.auth import UserInfo
    from services.workshops.live import LiveWorkshop

log = logging.getLogger(__name__)

MAX_MESSAGE = 1000
MESSAGES_SHOWN = 20


class AssistantsMixin:
    """Needs `auth`, `_workshop`, `_is_manager`, `_manage`, `_member`, `_apply` and `live` of `WorkshopSession`."""

    live: dict[int, LiveWorkshop]

    # ----- who is staff --------------------------------------------------------------------------------------------
    async def is_assistant(self, user_id: int | None, workshop_id: int) -> bool:
        return bool(user_id) and await WorkshopAssistant.exists(workshop_id=workshop_id, user_id=user_id)

    async def _staff(self, actor_id: int, workshop_id: int) -> tuple[UserInfo, Workshop, bool]:
        """A manager or an assistant of this workshop, the workshop, and whether they manage it; other attendees get
        PermissionDenied, other instructors NotFound (never reveal a workshop)."""
        user = await self.auth.require(actor_id)  # type: ignore[attr-defined]
        workshop = await self._workshop(workshop_id)  # type: ignore[attr-defined]
        if user.at_least(Role.INSTRUCTOR) and await self._is_manager(user, workshop):  # type: ignore[attr-defined]
            return user, workshop, True
        if await self.is_assistant(user.id, workshop_id):
            return user, workshop, False
        await self.auth.require(actor_id, Role.INSTRUCTOR)  # type: ignore[attr-defined]  # attendees: PermissionDenied
        log.warning('user %s refused staff access to workshop %s', actor_id, workshop_id)
        raise NotFound(N_('No such workshop.'))

    async def assisted_ids(self, user_id: int) -> set[int]:
        return set(await WorkshopAssistant.filter(user_id=user_id).values_list('workshop_id', flat=True))

    # ----- managing assistants -------------------------------------------------------------------------------------
    async def add_assistant(self, actor_id: int, workshop_id: int, email: str) -> dict[str, Any]:
        _, workshop = await self._manage(actor_id, workshop_id)  # type: ignore[attr-defined]
        other = await User.get_or_none(email=(email or '').strip().lower(), is_active=True)
        if other is None:
            raise InvalidInput(N_('No account with this email. Ask them to sign up first, then add them here.'))
        if other.id == workshop.owner_id or await self.membership.manages(other.id, other.role, workshop_id):  # type: ignore[attr-defined]
            raise Conflict(N_('{display_name} already teaches this workshop.', display_name=other.display_name))
        if await WorkshopMembership.exists(workshop_id=workshop_id, user_id=other.id):
            raise Conflict(
                N_(
                    '{display_name} attends this workshop; an attendee cannot also assist it.',
                    display_name=other.display_name,
                )
            )
        await WorkshopAssistant.get_or_create(workshop_id=workshop_id, user_id=other.id)
        log.info('user %s added %s as assistant of workshop %s', actor_id, other.id, workshop_id)
        return {'user_id': other.id, 'name': other.display_name, 'email': other.email}

    async def remove_assistant(self, actor_id: int, workshop_id: int, user_id: int) -> None:
        await self._manage(actor_id, workshop_id)  # type: ignore[attr-defined]
        await WorkshopAssistant.filter(workshop_id=workshop_id, user_id=user_id).delete()

    async def _assistants(self, workshop_id: int) -> list[dict[str, Any]]:
        return await WorkshopAssistant.filter(workshop_id=workshop_id).values(
            'user_id', name='user__display_name', email='user__email'
        )

    # ----- hands ---------------------------------------------------------------------------------------------------
    async def claim_hand(self, actor_id: int, workshop_id: int, hand_id: int) -> None:
        """Claim a raised hand: the first claim wins, a later one is refused with who has it."""
        user, _, _ = await self._staff(actor_id, workshop_id)
        hand = RaisedHand.filter(id=hand_id, membership__workshop_id=workshop_id)
        won = await RaisedHand.filter(
            id__in=await hand.values_list('id', flat=True),
            claimed_by_id=None,
            state__in=[HandState.RAISED, HandState.ACKNOWLEDGED],
        ).update(claimed_by_id=user.id, state=HandState.ACKNOWLEDGED)
        if not won:
            row = await hand.first().values('state', 'claimed_by_id', claimer='claimed_by__display_name')
            if row is None:
                raise NotFound(N_('No such raised hand.'))
            if row['state'] == HandState.RESOLVED:
                raise Conflict(N_('This hand was resolved already.'))
            if row['claimed_by_id'] == user.id:
                return
            raise Conflict(N_('{claimer} already claimed this hand and is on the way.', claimer=row['claimer'] or '—'))
        owner = await RaisedHand.get(id=hand_id).values(user_id='membership__user_id')
        self._apply(  # type: ignore[attr-defined]
            'hand_claim', workshop_id=workshop_id, hand_id=hand_id, user_id=owner['user_id'], by_id=user.id,
            by=user.display_name,
        )  # fmt: skip

    def _live_hand_claim(self, p: dict[str, Any]) -> None:
        live = self.live.get(p['workshop_id'])
        if live is None:
            return
        if entry := live.hands.get(p['hand_id']):
            entry.update(state=HandState.ACKNOWLEDGED.value, claimed_by=p['by'], claimed_by_id=p['by_id'])
            live.mark_hands()
        live.personal_event(p['user_id']).emit(
            {'kind': 'hand', 'state': HandState.ACKNOWLEDGED.value, 'id': p['hand_id'], 'by': p['by']}
        )

    # ----- private messages ----------------------------------------------------------------------------------------
    async def message_attendee(self, actor_id: int, workshop_id: int, user_id: int, text: str) -> dict[str, Any]:
        """A message to one attendee, shown to that attendee only (managers and assistants)."""
        user, _, _ = await self._staff(actor_id, workshop_id)
        text = (text or '').strip()
        if not 1 <= len(text) <= MAX_MESSAGE:
            raise InvalidInput(N_('A message needs 1 to {MAX_MESSAGE} characters.', MAX_MESSAGE=MAX_MESSAGE))
        if not await WorkshopMembership.exists(workshop_id=workshop_id, user_id=user_id):
            raise NotFound(N_('This person is not an attendee of this workshop.'))
        row = await PrivateMessage.create(workshop_id=workshop_id, sender_id=user.id, recipient_id=user_id, text=text)
        message = _message(row.id, text, user.display_name, row.created_at)
        self._apply('private', workshop_id=workshop_id, user_id=user_id, message=message)  # type: ignore[attr-defined]
        return message

    def _live_private(self, p: dict[str, Any]) -> None:
        live = self.live.get(p['workshop_id'])
        if live is not None:
            live.personal_event(p['user_id']).emit({'kind': 'message', **p['message']})

    async def my_messages(self, actor_id: int, workshop_id: int) -> list[dict[str, Any]]:
        """The private messages this attendee received in this workshop, newest first."""
        await self._member(actor_id, workshop_id)  # type: ignore[attr-defined]
        rows = (
            await PrivateMessage.filter(workshop_id=workshop_id, recipient_id=actor_id)
            .order_by('-id')
            .limit(MESSAGES_SHOWN)
            .values('id', 'text', 'created_at', sender='sender__display_name')
        )
        return [_message(r['id'], r['text'], r['sender'] or 'staff', r['created_at']) for r in rows]


def _message(message_id: int, text: str, sender: str, created_at: Any) -> dict[str, Any]:
    return {'id': message_id, 'text': text, 'from': sender, 'at': created_at.astimezone().strftime('%H:%M')}


__all__ = ['AssistantsMixin']
