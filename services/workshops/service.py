"""Workshops: creation and management (instructors), permissions, join codes and joining.

Live behaviour (progress, hands, announcements, the dashboard state) is in `session.py`, the blind arena in `arena.py`
and the results gallery in `gallery.py`, all mixed in here.
Managers are the owner, co-instructors and admins. Attendees asking for a manager action get PermissionDenied;
instructors asking about someone else's workshop get NotFound (never reveal existence).
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import (
    Announcement,
    HandState,
    RaisedHand,
    Role,
    StepProgress,
    User,
    Workshop,
    WorkshopInstructor,
    WorkshopMembership,
    WorkshopResource,
    WorkshopState,
    WorkshopStep,
)
from services.core import actions
from services.core.activity import ActivityService
from services.core.auth import AuthService, validate_display_name
from services.core.bus import LiveBus
from services.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Throttled
from services.core.i18n import N_
from services.core.membership import Membership
from services.core.throttles import Backoff, wait_sentence
from services.models.calls import ModelCalls
from services.models.hosts import HostDirectory
from services.workshops import rules as workshop_rules
from services.workshops.arena import ArenaMixin
from services.workshops.assistants import AssistantsMixin
from services.workshops.display_names import check_new_attendee_name
from services.workshops.gallery import GalleryMixin
from services.workshops.identity import AttendeeIdentity
from services.workshops.pacing import PacingMixin
from services.workshops.types import (
    AnnouncementInfo,
    AttendeeView,
    HandInfo,
    JoinResult,
    ResourceInfo,
    StepInfo,
    WorkshopInfo,
)

log = logging.getLogger(__name__)

CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'  # no 0/O, 1/I
CODE_LENGTH = 6


def new_code() -> str:
    return ''.join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return ''.join((code or '').split()).replace('-', '').upper()[:16]


class WorkshopService(PacingMixin, AssistantsMixin, ArenaMixin, GalleryMixin):
    def __init__(
        self,
        *,
        auth: AuthService,
        activity: ActivityService,
        membership: Membership,
        calls: ModelCalls,
        hosts: HostDirectory,
        join_max_failures: int = 30,
        join_accounts_per_source: int = 1000,
        join_window_seconds: int = 300,
        sample_seconds: float = 5.0,
        gc_freeze: bool = True,
        bus: LiveBus | None = None,
        secret: str = '',
    ) -> None:
        super().__init__(
            auth=auth,
            activity=activity,
            membership=membership,
            calls=calls,
            hosts=hosts,
            sample_seconds=sample_seconds,
            gc_freeze=gc_freeze,
            bus=bus,
        )
        # per address: wrong codes (guessing) and new attendee accounts (flooding a workshop), each a budget a
        # classroom behind one NAT address fits in, then a growing wait (never a lock)
        self.join_throttle = Backoff(join_max_failures, join_window_seconds)
        self.new_account_throttle = Backoff(join_accounts_per_source, join_window_seconds)
        self.identity = AttendeeIdentity(
            self, secret, self.join_throttle
        )  # resume codes, remembered devices, merging attendees

    # ----- reading -------------------------------------------------------------------------------------------------
    async def _info(
        self, workshop: Workshop, *, can_manage: bool, full: bool = True, assisting: bool = False
    ) -> WorkshopInfo:
        owner = await User.get(id=workshop.owner_id)  # type: ignore[attr-defined]
        info = WorkshopInfo(
            id=workshop.id,
            title=workshop.title,
            description=workshop.description,
            state=workshop.state.value if isinstance(workshop.state, WorkshopState) else str(workshop.state),
            join_code=workshop.join_code if can_manage or assisting else '',  # assistants help people join
            owner_id=owner.id,
            owner_name=owner.display_name,
            starts_at=workshop.starts_at,
            ends_at=workshop.ends_at,
            started_at=workshop.started_at,
            ended_at=workshop.ended_at,
            allowed_models=list(workshop.allowed_models or []),
            stuck_minutes=workshop.stuck_minutes,
            attendees_may_share=bool(workshop.attendees_may_share),
            can_manage=can_manage,
            assisting=assisting,
        )
        if full:
            info.steps = await self.steps(workshop.id)
            info.resources = [
                ResourceInfo(
                    kind=r['kind'],
                    resource_id=r['resource_id'],
                    label=r['label'] or f'{r["kind"]} {r["resource_id"]}',
                    link=f'{workshop_rules.RESOURCE_KINDS.get(r["kind"], "")}/{r["resource_id"]}',
                )
                for r in await WorkshopResource.filter(workshop_id=workshop.id).values('kind', 'resource_id', 'label')
            ]
            if can_manage:
                info.co_instructors = await WorkshopInstructor.filter(workshop_id=workshop.id).values(
                    'user_id', name='user__display_name', email='user__email'
                )
                info.assistants = await self._assistants(workshop.id)
        info.attendee_count = await WorkshopMembership.filter(workshop_id=workshop.id).count()
        return info

    async def steps(self, workshop_id: int) -> list[StepInfo]:
        rows = await WorkshopStep.filter(workshop_id=workshop_id).order_by('position', 'id')
        return [
            StepInfo(
                id=s.id,
                position=i,
                title=s.title,
                instructions=s.instructions,
                rule=s.rule,
                rule_label=workshop_rules.rule_label(s.rule),
                link=workshop_rules.rule_link(s.rule, workshop_id),
                checks=list(s.checks or []),
            )
            for i, s in enumerate(rows)
        ]

    async def list_for(self, actor_id: int) -> list[WorkshopInfo]:
        """Instructors: the workshops they own or co-instruct (admins: all). Attendees: the ones they joined."""
        user = await self.auth.require(actor_id)
        if user.role == Role.ADMIN:
            workshops = await Workshop.all().order_by('-id')
        elif user.role == Role.INSTRUCTOR:
            co = await WorkshopInstructor.filter(user_id=user.id).values_list('workshop_id', flat=True)
            workshops = await Workshop.filter(id__in=[*co, 0]).order_by('-id') + await Workshop.filter(
                owner_id=user.id
            ).order_by('-id')
            workshops = sorted({w.id: w for w in workshops}.values(), key=lambda w: -w.id)
        else:
            workshops = []
        joined = await WorkshopMembership.filter(user_id=user.id).values_list('workshop_id', flat=True)
        assisted = await self.assisted_ids(user.id)
        seen = {w.id for w in workshops}
        workshops += [
            w for w in await Workshop.filter(id__in=[*joined, *assisted, 0]).order_by('-id') if w.id not in seen
        ]
        infos = []
        for w in workshops:
            manage = user.at_least(Role.INSTRUCTOR) and await self._is_manager(user, w)
            infos.append(await self._info(w, can_manage=manage, full=False, assisting=w.id in assisted))
        return infos

    async def get(self, actor_id: int, workshop_id: int) -> WorkshopInfo:
        """Managers, assistants and members may read a workshop; anyone else gets NotFound."""
        user = await self.auth.require(actor_id)
        workshop = await self._workshop(workshop_id)
        manage = user.at_least(Role.INSTRUCTOR) and await self._is_manager(user, workshop)
        assisting = not manage and await self.is_assistant(user.id, workshop_id)
        if not (manage or assisting) and not await WorkshopMembership.exists(workshop_id=workshop_id, user_id=user.id):
            raise NotFound(N_('No such workshop.'))
        return await self._info(workshop, can_manage=manage, assisting=assisting)

    # ----- creating and editing ------------------------------------------------------------------------------------
    async def create(self, actor_id: int, title: str, description: str = '', **fields: Any) -> WorkshopInfo:
        user = await self.auth.require(actor_id, Role.INSTRUCTOR)
        values = _validated({'title': title, 'description': description, **fields})
        for _ in range(10):
            try:
                workshop = await Workshop.create(owner_id=user.id, join_code=new_code(), **values)
                break
            except IntegrityError:
                continue
        else:
            raise Conflict(N_('Could not find a free join code. Try again.'))
        log.info('workshop %s created by %s', workshop.id, actor_id)
        return await self._info(workshop, can_manage=True)

    async def update(self, actor_id: int, workshop_id: int, **fields: Any) -> WorkshopInfo:
        _, workshop = await self._manage(actor_id, workshop_id)
        values = _validated(fields)
        for key, value in values.items():
            setattr(workshop, key, value)
        await workshop.save()
        self.membership.forget(workshop_id=workshop_id)  # its allowed models may have changed
        live = self.live.get(workshop_id)
        if live is not None:
            live.title = workshop.title
            live.stuck_seconds = workshop.stuck_minutes * 60
        return await self._info(workshop, can_manage=True)

    async def regenerate_code(self, actor_id: int, workshop_id: int) -> str:
        _, workshop = await self._manage(actor_id, workshop_id)
        for _ in range(10):
            workshop.join_code = new_code()
            try:
                await workshop.save(update_fields=['join_code', 'updated_at'])
                return workshop.join_code
            except IntegrityError:
                continue
        raise Conflict(N_('Could not find a free join code. Try again.'))

    async def add_co_instructor(self, actor_id: int, workshop_id: int, email: str) -> None:
        await self._manage(actor_id, workshop_id)
        other = await User.get_or_none(email=(email or '').strip().lower(), is_active=True)
        if other is None or Role(other.role).rank < Role.INSTRUCTOR.rank:
            raise InvalidInput(
                N_('No instructor with this email. Ask an admin to give them the instructor role first.')
            )
        await WorkshopInstructor.get_or_create(workshop_id=workshop_id, user_id=other.id)

    async def remove_co_instructor(self, actor_id: int, workshop_id: int, user_id: int) -> None:
        await self._manage(actor_id, workshop_id)
        await WorkshopInstructor.filter(workshop_id=workshop_id, user_id=user_id).delete()

    async def add_resource(self, actor_id: int, workshop_id: int, kind: str, resource_id: int, label: str = '') -> None:
        await self._manage(actor_id, workshop_id)
        if kind not in workshop_rules.RESOURCE_KINDS:
            raise InvalidInput(N_('Unknown resource kind: pick prompt, tool, knowledge or rag.'))
        await WorkshopResource.get_or_create(
            workshop_id=workshop_id, kind=kind, resource_id=int(resource_id), defaults={'label': label[:200]}
        )

    async def remove_resource(self, actor_id: int, workshop_id: int, kind: str, resource_id: int) -> None:
        await self._manage(actor_id, workshop_id)
        await WorkshopResource.filter(workshop_id=workshop_id, kind=kind, resource_id=resource_id).delete()

    async def add_step(
        self, actor_id: int, workshop_id: int, title: str, instructions: str = '', rule: str | None = None
    ) -> StepInfo:
        await self._manage(actor_id, workshop_id)
        title = (title or '').strip()
        if not 1 <= len(title) <= 200:
            raise InvalidInput(N_('A step needs a title of 1 to 200 characters.'))
        position = await WorkshopStep.filter(workshop_id=workshop_id).count()
        await WorkshopStep.create(
            workshop_id=workshop_id,
            position=position,
            title=title,
            instructions=(instructions or '')[:20000],
            rule=workshop_rules.normalise_rule(rule),
        )
        await self._reload_steps(workshop_id)
        return (await self.steps(workshop_id))[-1]

    async def update_step(
        self, actor_id: int, workshop_id: int, step_id: int, *, title: str, instructions: str, rule: str | None
    ) -> None:
        await self._manage(actor_id, workshop_id)
        step = await WorkshopStep.get_or_none(id=step_id, workshop_id=workshop_id)
        if step is None:
            raise NotFound(N_('No such step.'))
        title = (title or '').strip()
        if not 1 <= len(title) <= 200:
            raise InvalidInput(N_('A step needs a title of 1 to 200 characters.'))
        step.title, step.instructions, step.rule = (
            title,
            (instructions or '')[:20000],
            workshop_rules.normalise_rule(rule),
        )
        await step.save()
        await self._reload_steps(workshop_id)

    async def delete_step(self, actor_id: int, workshop_id: int, step_id: int) -> None:
        await self._manage(actor_id, workshop_id)
        await WorkshopStep.filter(id=step_id, workshop_id=workshop_id).delete()
        async with in_transaction():
            for i, step in enumerate(await WorkshopStep.filter(workshop_id=workshop_id).order_by('position', 'id')):
                if step.position != i:
                    step.position = i
                    await step.save(update_fields=['position'])
        await self._reload_steps(workshop_id)

    # ----- the attendee --------------------------------------------------------------------------------------------
    async def attendee_view(self, actor_id: int, workshop_id: int) -> AttendeeView:
        user, workshop, membership = await self._member(actor_id, workshop_id)
        info = await self._info(workshop, can_manage=False)
        done = {
            p['step_id']: p['how']
            for p in await StepProgress.filter(membership_id=membership.id, done=True).values('step_id', 'how')
        }
        announcements = [
            AnnouncementInfo(id=a['id'], text=a['text'], created_at=a['created_at'])
            for a in await Announcement.filter(workshop_id=workshop_id)
            .order_by('-id')
            .limit(20)
            .values('id', 'text', 'created_at')
        ]
        hand = await RaisedHand.filter(membership_id=membership.id).order_by('-id').first()
        hand_info = (
            HandInfo(
                id=hand.id,
                user_id=user.id,
                name=user.display_name,
                message=hand.message,
                state=str(hand.state.value if isinstance(hand.state, HandState) else hand.state),
                created_at=hand.created_at,
                claimed_by=await User.filter(id=hand.claimed_by_id or 0).first().values_list('display_name', flat=True)
                or '',
            )
            if hand
            else None
        )
        await self.live_state(workshop_id)
        return AttendeeView(
            workshop=info, current_step=membership.current_step, done=done, announcements=announcements, hand=hand_info,
            checks=await self._check_results(membership.id),
            resume_code=await self.identity.resume_code(actor_id, workshop_id),
            messages=await self.my_messages(actor_id, workshop_id),
        )  # fmt: skip

    # ----- lifecycle -----------------------------------------------------------------------------------------------
    async def start(self, actor_id: int, workshop_id: int) -> None:
        _, workshop = await self._manage(actor_id, workshop_id)
        if workshop.state == WorkshopState.ENDED:
            raise Conflict(N_('This workshop has ended; create a new one to run it again.'))
        workshop.state = WorkshopState.LIVE
        workshop.started_at = workshop.started_at or datetime.now(UTC)
        await workshop.save(update_fields=['state', 'started_at', 'updated_at'])
        self.membership.forget(workshop_id=workshop_id)
        await self.live_state(workshop_id)

    async def end(self, actor_id: int, workshop_id: int) -> None:
        _, workshop = await self._manage(actor_id, workshop_id)
        workshop.state = WorkshopState.ENDED
        workshop.ended_at = datetime.now(UTC)
        await workshop.save(update_fields=['state', 'ended_at', 'updated_at'])
        await self._close_live(workshop_id)
        log.info('workshop %s ended by %s', workshop_id, actor_id)

    # ----- joining -------------------------------------------------------------------------------------------------
    async def join(
        self, code: str, display_name: str = '', *, client_address: str = '', user_id: int | None = None
    ) -> JoinResult:
        """Join by code. Signed-in users join as they are; anyone else gets a new password-less attendee account."""
        wait = self.join_throttle.retry_after(client_address)
        if wait:
            log.warning('join throttled for %s', client_address)
            raise Throttled(wait_sentence(N_('Too many wrong join codes.'), wait), wait)
        workshop = await Workshop.get_or_none(join_code=normalise_code(code)) if normalise_code(code) else None
        if workshop is None:
            self.join_throttle.fail(client_address)
            log.warning('wrong join code from %s', client_address)
            raise NotFound(
                N_('No workshop has this code. Check it with your instructor (letters and digits, no spaces).')
            )
        if workshop.state == WorkshopState.ENDED:
            raise Conflict(
                N_('This workshop has ended and no longer takes attendees. Ask your instructor for a new code.')
            )
        if workshop.state == WorkshopState.DRAFT:
            raise Conflict(N_('This workshop has not started yet. Try again when your instructor opens it.'))
        user = await self.auth.get_user(user_id) if user_id else None
        created = False
        if user is None:
            name = validate_display_name(display_name)
            wait = self.new_account_throttle.retry_after(client_address)
            if wait:
                log.warning('joins throttled for %s: too many new accounts', client_address)
                raise Throttled(wait_sentence(N_('Too many people joined from this network just now.'), wait), wait)
            await check_new_attendee_name(workshop.id, workshop.owner_id, name)  # type: ignore[attr-defined]
            self.new_account_throttle.fail(client_address)  # counted, not a failure: a budget per address
            row = await User.create(
                email=f'attendee-{secrets.token_hex(8)}@join.workshop', display_name=name, role=Role.ATTENDEE
            )
            user_id, created = row.id, True
        else:
            user_id = user.id
        membership, _ = await WorkshopMembership.get_or_create(workshop_id=workshop.id, user_id=user_id)
        if membership.left_at is not None:
            membership.left_at = None
            await membership.save(update_fields=['left_at'])
        self.membership.forget(user_id=user_id)
        await self._add_to_live(workshop.id, membership)
        await self.activity.record(user_id, actions.WORKSHOP_JOIN, workshop_id=workshop.id, new_account=created)
        log.info('user %s joined workshop %s', user_id, workshop.id)
        return JoinResult(user_id=user_id, workshop_id=workshop.id, created_account=created)

    async def workshop_ids_of(self, user_id: int) -> set[int]:
        """Every workshop this user attends, owns or co-teaches."""
        return await self.membership.workshop_ids_of(user_id)

    async def leave(self, actor_id: int, workshop_id: int) -> None:
        _, _, membership = await self._member(actor_id, workshop_id)
        membership.left_at = datetime.now(UTC)
        await membership.save(update_fields=['left_at'])
        self.membership.forget(user_id=actor_id)


def _validated(fields: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if 'title' in fields:
        title = (fields['title'] or '').strip()
        if not 1 <= len(title) <= 200:
            raise InvalidInput(N_('A workshop needs a title of 1 to 200 characters.'))
        values['title'] = title
    if 'description' in fields:
        values['description'] = (fields['description'] or '')[:20000]
    for key in ('starts_at', 'ends_at'):
        if key in fields:
            values[key] = fields[key] or None
    if values.get('starts_at') and values.get('ends_at') and values['ends_at'] < values['starts_at']:
        raise InvalidInput(N_('The workshop cannot end before it starts.'))
    if 'allowed_models' in fields:
        models = [m.strip() for m in fields['allowed_models'] or [] if m and m.strip()]
        values['allowed_models'] = sorted(set(models))[:100]
    if 'stuck_minutes' in fields:
        minutes = int(fields['stuck_minutes'] or 10)
        if not 1 <= minutes <= 240:
            raise InvalidInput(N_('The stuck threshold must be between 1 and 240 minutes.'))
        values['stuck_minutes'] = minutes
    if 'attendees_may_share' in fields:
        values['attendees_may_share'] = bool(fields['attendees_may_share'])
    known = {'title', 'description', 'starts_at', 'ends_at', 'allowed_models', 'stuck_minutes', 'attendees_may_share'}
    unknown = set(fields) - known
    if unknown:
        raise InvalidInput(N_('Unknown workshop field(s): {unknown}.', unknown=', '.join(sorted(unknown))))
    return values


__all__ = ['PermissionDenied', 'WorkshopService', 'normalise_code']
