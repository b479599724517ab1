"""Attendees who keep who they are: a personal resume code, remembered devices, and merging two attendees.

Only accounts made by joining with a code (password-less attendees) get a resume code or a remembered device: an
account with a password (or a single sign-on) is reached by signing in, never by a code. Neither secret is stored:
the resume code is derived from the app secret and a stored nonce (so the attendee page can show it again) and only
its SHA-256 is kept for the look-up; a device token lives only in the browser's cookie, its SHA-256 here.
Wrong resume codes count against the same per-address budget as wrong join codes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import (
    AttendeeDevice,
    AttendeeResumeCode,
    RaisedHand,
    Role,
    StepProgress,
    User,
    WorkshopMembership,
    WorkshopState,
)
from services.core import actions, sessions
from services.core.errors import InvalidInput, NotFound, Throttled
from services.core.i18n import N_
from services.core.throttles import wait_sentence
from services.workshops.types import JoinResult

if TYPE_CHECKING:
    from services.core.throttles import Backoff
    from services.workshops.session import WorkshopSession

log = logging.getLogger(__name__)

ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'  # 32 symbols (no 0/O, 1/I): a byte mod 32 is unbiased
RESUME_LENGTH = 12  # 60 bits: unguessable behind the join-code throttle
JOINED_BY_CODE = '@join.workshop'  # the address of every account made by joining with a code


@dataclass(kw_only=True, slots=True)
class MergeReport:
    kept: str
    merged: str
    steps: int
    hands: int
    activity: int


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_resume(code: str) -> str:
    return ''.join(ch for ch in (code or '').upper() if ch.isalnum())[:32]


def show_resume(code: str) -> str:
    """XXXX-XXXX-XXXX: easier to read aloud and copy by hand."""
    return '-'.join(code[i : i + 4] for i in range(0, len(code), 4))


def joined_by_code(user: User | None) -> bool:
    """A password-less attendee account made by joining a workshop with its code (and still active)."""
    return bool(
        user
        and user.is_active
        and user.role == Role.ATTENDEE
        and not user.password_hash
        and user.email.endswith(JOINED_BY_CODE)
    )


class AttendeeIdentity:
    def __init__(self, workshops: WorkshopSession, secret: str, throttle: Backoff, *, device_days: int = 180) -> None:
        self.workshops = workshops
        self.throttle = throttle  # the join codes' throttle: a wrong resume code counts as a wrong join code
        self.secret = (secret or secrets.token_urlsafe(32)).encode()
        self.device_days = device_days

    # ----- the resume code -----------------------------------------------------------------------------------------
    async def resume_code(self, actor_id: int, workshop_id: int) -> str:
        """The attendee's own resume code, formatted for reading ('' for accounts that sign in with a password)."""
        user, _, _ = await self.workshops._member(actor_id, workshop_id)
        if not joined_by_code(await User.get_or_none(id=user.id)):
            return ''
        return show_resume(await self._code_for(user.id))

    async def _code_for(self, user_id: int) -> str:
        row = await AttendeeResumeCode.get_or_none(user_id=user_id)
        if row is None:
            nonce = secrets.token_hex(16)
            code = self._derive(user_id, nonce)
            try:
                await AttendeeResumeCode.create(user_id=user_id, nonce=nonce, code_hash=_hash(code))
                return code
            except IntegrityError:  # made at the same moment by another page of this attendee
                row = await AttendeeResumeCode.get(user_id=user_id)
        code = self._derive(user_id, row.nonce)
        if row.code_hash != _hash(code):  # the app secret changed: the code shown is the one that works
            row.code_hash = _hash(code)
            await row.save(update_fields=['code_hash'])
        return code

    def _derive(self, user_id: int, nonce: str) -> str:
        digest = hmac.new(self.secret, f'resume:{user_id}:{nonce}'.encode(), hashlib.sha256).digest()
        return ''.join(ALPHABET[b % len(ALPHABET)] for b in digest[:RESUME_LENGTH])

    async def resume(self, code: str, *, client_address: str = '') -> JoinResult:
        """Back into one's own attendee account and latest workshop with the resume code (throttled like join codes)."""
        throttle = self.throttle
        wait = throttle.retry_after(client_address)
        if wait:
            log.warning('resume throttled for %s', client_address)
            raise Throttled(wait_sentence(N_('Too many wrong codes.'), wait), wait)
        code = normalise_resume(code)
        row = await AttendeeResumeCode.get_or_none(code_hash=_hash(code)) if len(code) == RESUME_LENGTH else None
        user = await User.get_or_none(id=row.user_id) if row else None  # type: ignore[attr-defined]
        if not joined_by_code(user):
            throttle.fail(client_address)
            log.warning('wrong resume code from %s', client_address)
            raise NotFound(
                N_('No attendee has this resume code. Check it on your other device (12 letters and digits).')
            )
        workshop_id = await self.rejoin(user.id)  # type: ignore[union-attr]
        if workshop_id is None:
            raise NotFound(N_('This account no longer belongs to a workshop. Join again with the workshop code.'))
        await self.workshops.activity.record(
            user.id,  # type: ignore[union-attr]
            actions.WORKSHOP_RESUME,
            workshop_id=workshop_id,
            via='resume_code',
        )
        return JoinResult(user_id=user.id, workshop_id=workshop_id, created_account=False)  # type: ignore[union-attr]

    async def rejoin(self, user_id: int) -> int | None:
        """The attendee's latest workshop, entered again (a membership left is taken up again); None when none."""
        membership = await WorkshopMembership.filter(user_id=user_id).order_by('-id').first()
        if membership is None:
            return None
        if membership.left_at is not None:
            membership.left_at = None
            await membership.save(update_fields=['left_at'])
        self.workshops.membership.forget(user_id=user_id)
        workshop = await self.workshops._workshop(membership.workshop_id)  # type: ignore[attr-defined]
        if workshop.state == WorkshopState.LIVE:
            await self.workshops._add_to_live(workshop.id, membership)
        return workshop.id

    # ----- remembered devices --------------------------------------------------------------------------------------
    async def remember_device(self, user_id: int, *, replaces: str = '') -> str | None:
        """A new device token for this browser (None for accounts that sign in with a password)."""
        if replaces:
            await self.forget_device(replaces)
        if not joined_by_code(await User.get_or_none(id=user_id)):
            return None
        token = secrets.token_urlsafe(32)
        await AttendeeDevice.create(user_id=user_id, token_hash=_hash(token), last_used_at=datetime.now(UTC))
        return token

    async def device_user(self, token: str) -> int | None:
        """The attendee this remembered device belongs to (None: unknown, expired, or no longer a code account)."""
        if not token or len(token) > 100:
            return None
        row = await AttendeeDevice.get_or_none(token_hash=_hash(token))
        if row is None:
            return None
        used = row.last_used_at or row.created_at
        user = await User.get_or_none(id=row.user_id)  # type: ignore[attr-defined]
        if datetime.now(UTC) - used > timedelta(days=self.device_days) or not joined_by_code(user):
            await row.delete()
            return None
        row.last_used_at = datetime.now(UTC)
        await row.save(update_fields=['last_used_at'])
        return row.user_id  # type: ignore[attr-defined]

    async def forget_device(self, token: str) -> None:
        if token:
            await AttendeeDevice.filter(token_hash=_hash(token)).delete()

    # ----- merging two attendees -----------------------------------------------------------------------------------
    async def attendees(self, actor_id: int, workshop_id: int) -> list[dict[str, Any]]:
        """Every attendee of the workshop with when they joined and how many steps they did (managers only)."""
        await self.workshops._manage(actor_id, workshop_id)
        rows = (
            await WorkshopMembership.filter(workshop_id=workshop_id)
            .order_by('id')
            .values('id', 'user_id', 'joined_at', name='user__display_name')
        )
        done: dict[int, int] = {}
        for p in await StepProgress.filter(membership__workshop_id=workshop_id, done=True).values('membership_id'):
            done[p['membership_id']] = done.get(p['membership_id'], 0) + 1
        return [
            {
                'user_id': r['user_id'],
                'name': r['name'],
                'joined_at': r['joined_at'],
                'steps_done': done.get(r['id'], 0),
            }
            for r in rows
        ]

    async def merge(self, actor_id: int, workshop_id: int, keep_user_id: int, drop_user_id: int) -> MergeReport:
        """Two attendees are the same person: progress, hands and activity of `drop` move to `keep`, the membership
        of `drop` goes. An account made by the code with no other workshop is closed, its devices now sign in as
        `keep` (when that is a code account too) and its open pages go on as `keep`."""
        await self.workshops._manage(actor_id, workshop_id)
        if keep_user_id == drop_user_id:
            raise InvalidInput(N_('Pick two different attendees to merge.'))
        keep = await WorkshopMembership.get_or_none(workshop_id=workshop_id, user_id=keep_user_id)
        drop = await WorkshopMembership.get_or_none(workshop_id=workshop_id, user_id=drop_user_id)
        if keep is None or drop is None:
            raise NotFound(N_('Both people must be attendees of this workshop.'))
        keep_user, drop_user = await User.get(id=keep_user_id), await User.get(id=drop_user_id)
        async with in_transaction():
            have = await StepProgress.filter(membership_id=keep.id).values_list('step_id', flat=True)
            steps = await StepProgress.filter(membership_id=drop.id, step_id__not_in=[*have, 0]).update(
                membership_id=keep.id
            )
            hands = await RaisedHand.filter(membership_id=drop.id).update(membership_id=keep.id)
            activity = await self.workshops.activity.reassign(drop_user_id, keep_user_id, workshop_id=workshop_id)
            keep.current_step = max(keep.current_step, drop.current_step)
            keep.joined_at = min(keep.joined_at, drop.joined_at)
            await keep.save(update_fields=['current_step', 'joined_at'])
            await drop.delete()
            closed = joined_by_code(drop_user) and not await WorkshopMembership.exists(user_id=drop_user_id)
            if closed:
                devices = AttendeeDevice.filter(user_id=drop_user_id)
                await (devices.update(user_id=keep_user_id) if joined_by_code(keep_user) else devices.delete())
                await AttendeeResumeCode.filter(user_id=drop_user_id).delete()
                await User.filter(id=drop_user_id).update(is_active=False)
        for uid in (keep_user_id, drop_user_id):
            self.workshops.membership.forget(user_id=uid)
        if closed:
            if joined_by_code(keep_user):
                sessions.hand_over(drop_user_id, keep_user_id, f'/workshops/{workshop_id}')
            else:
                sessions.end_for_user(drop_user_id)
        await self.workshops.activity.record(
            actor_id, actions.WORKSHOP_MERGE, workshop_id=workshop_id, kept=keep_user_id, merged=drop_user_id
        )
        if self.workshops.live.get(workshop_id) is not None or self.workshops.bus.shared:
            self.workshops._apply('merged', workshop_id=workshop_id, keep=keep_user_id, drop=drop_user_id)
        log.info('workshop %s: attendee %s merged into %s by %s', workshop_id, drop_user_id, keep_user_id, actor_id)
        return MergeReport(
            kept=keep_user.display_name, merged=drop_user.display_name, steps=steps, hands=hands, activity=activity
        )
