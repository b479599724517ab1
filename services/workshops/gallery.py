"""The results gallery of a workshop: a step may ask each attendee to submit a result (an answer, a prompt, or a RAG
answer with its citations); the instructor picks submissions to show on the projector, named only when the attendee
ticked 'show my name'.

Mixed into `WorkshopService`. An attendee edits or withdraws their submission until it is shown. Every change is
applied with `_apply('gallery', ...)`: the projector's gallery (computed once here, names already hidden), the
instructor's list of that step and the attendee's own form follow it live, on every app process.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from nicegui import Event, background_tasks

from models import GalleryAsk, GallerySubmission, WorkshopMembership, WorkshopStep
from services.core import actions
from services.core.errors import Conflict, InvalidInput, NotFound
from services.core.i18n import N_
from services.workshops.session import WorkshopSession

log = logging.getLogger(__name__)

KINDS = {'answer': N_('an answer'), 'prompt': N_('a prompt'), 'rag': N_('a RAG answer with its citations')}
MAX_TEXT = 8000
MAX_CITATIONS = 20
ANONYMOUS = N_('An attendee')


@dataclass(kw_only=True, slots=True)
class Submission:
    id: int
    step_id: int
    user_id: int
    name: str  # the attendee's name (instructors); on the projector: their name only if they agreed
    kind: str
    text: str
    citations: list[str] = field(default_factory=list)
    show_name: bool = False
    shown: bool = False
    updated_at: datetime | None = None


class GalleryMixin(WorkshopSession):
    def __init__(self, **kwargs: Any) -> None:
        self._gallery_events: dict[int, Event[dict[str, Any]]] = {}
        super().__init__(**kwargs)

    def gallery_event(self, workshop_id: int) -> Event[dict[str, Any]]:
        """Emitted on every change: {'shown': projector items, 'step_id': the step whose submissions changed,
        'user_id': whose submission, 'submission': its state for its author (None when withdrawn), 'asks': every step's
        ask ({str(step id): kind}) when the asks changed, else None}."""
        event = self._gallery_events.get(workshop_id)
        if event is None:
            event = self._gallery_events[workshop_id] = Event()
        return event

    def _live_gallery(self, payload: dict[str, Any]) -> None:
        event = self._gallery_events.get(payload['workshop_id'])
        if event is not None:
            event.emit(payload)

    def _live_gap(self) -> None:
        """Changes may have been missed (Redis reconnected): open projector galleries get theirs again."""
        super()._live_gap()
        for workshop_id, event in list(self._gallery_events.items()):
            if event.callbacks:
                background_tasks.create(self._reread_gallery(workshop_id), name='gallery-gap')

    async def _reread_gallery(self, workshop_id: int) -> None:
        payload = {'workshop_id': workshop_id, 'shown': await self._shown(workshop_id), 'step_id': 0, 'user_id': None,
                   'submission': None, 'asks': None}  # fmt: skip
        self._live_gallery(payload)

    # ----- what the steps ask (instructors) ------------------------------------------------------------------------
    async def set_gallery_ask(self, actor_id: int, workshop_id: int, step_id: int, kind: str | None) -> None:
        """Ask attendees for a result of `kind` at this step, or (None, '') stop asking (submissions stay)."""
        await self._manage(actor_id, workshop_id)
        if not await WorkshopStep.exists(id=step_id, workshop_id=workshop_id):
            raise NotFound(N_('No such step.'))
        if not kind:
            await GalleryAsk.filter(step_id=step_id).delete()
        elif kind not in KINDS:
            raise InvalidInput(N_('Ask for an answer, a prompt or a RAG answer with citations.'))
        else:
            await GalleryAsk.update_or_create(defaults={'kind': kind}, step_id=step_id)
        await self._publish_gallery(workshop_id, step_id=step_id, user_id=None, submission=None, asks=True)
        log.info('workshop %s step %s asks for: %s', workshop_id, step_id, kind or 'nothing')

    async def gallery_asks(self, actor_id: int, workshop_id: int) -> dict[int, str]:
        """Step id -> the kind of result it asks for (managers and attendees)."""
        if not await self.can_manage(actor_id, workshop_id):
            await self._member(actor_id, workshop_id)
        return dict(await GalleryAsk.filter(step__workshop_id=workshop_id).values_list('step_id', 'kind'))

    # ----- submitting (attendees) ----------------------------------------------------------------------------------
    async def gallery_mine(self, actor_id: int, workshop_id: int) -> dict[int, Submission]:
        """This attendee's submissions by step id."""
        await self._member(actor_id, workshop_id)
        rows = await GallerySubmission.filter(workshop_id=workshop_id, user_id=actor_id)
        return {r.step_id: _submission(r, '') for r in rows}  # type: ignore[attr-defined]

    async def gallery_submit(
        self, actor_id: int, workshop_id: int, step_id: int, text: str, citations: list[str] | str = (),
        *, show_name: bool = False,
    ) -> Submission:  # fmt: skip
        """Submit (or replace) this attendee's result for a step that asks for one, until the instructor shows it."""
        user, workshop, _ = await self._member(actor_id, workshop_id)
        self._require_live(workshop)
        ask = await GalleryAsk.get_or_none(step_id=step_id, step__workshop_id=workshop_id)
        if ask is None:
            raise NotFound(N_('This step does not ask for a result.'))
        text = (text or '').strip()
        if not text:
            raise InvalidInput(N_('Write {KINDS} before you submit.', KINDS=KINDS[ask.kind]))
        if len(text) > MAX_TEXT:
            raise InvalidInput(N_('Your result is too long (at most {MAX_TEXT:,} characters).', MAX_TEXT=MAX_TEXT))
        if isinstance(citations, str):
            citations = citations.splitlines()
        cited = [c.strip()[:300] for c in citations if c and c.strip()] if ask.kind == 'rag' else []
        if ask.kind == 'rag' and not cited:
            raise InvalidInput(N_('Add the documents your RAG answer cites, one per line.'))
        if len(cited) > MAX_CITATIONS:
            raise InvalidInput(N_('At most {MAX_CITATIONS} citations.', MAX_CITATIONS=MAX_CITATIONS))
        row = await GallerySubmission.get_or_none(step_id=step_id, user_id=user.id)
        if row is not None and row.shown_at is not None:
            raise Conflict(N_('Your result is on the projector now: it can change once the instructor hides it.'))
        values = {'text': text, 'citations': cited, 'show_name': bool(show_name), 'kind': ask.kind}
        if row is None:
            row = await GallerySubmission.create(workshop_id=workshop_id, step_id=step_id, user_id=user.id, **values)
        else:
            await row.update_from_dict(values).save()
        await self.activity.record(user.id, actions.GALLERY_SUBMIT, workshop_id=workshop_id, step_id=step_id,
                                   kind=ask.kind)  # fmt: skip
        mine = _submission(row, user.display_name)
        await self._publish_gallery(workshop_id, step_id=step_id, user_id=user.id, submission=asdict(mine))
        return mine

    async def gallery_withdraw(self, actor_id: int, workshop_id: int, step_id: int) -> None:
        await self._member(actor_id, workshop_id)
        row = await GallerySubmission.get_or_none(workshop_id=workshop_id, step_id=step_id, user_id=actor_id)
        if row is None:
            raise NotFound(N_('You have not submitted a result for this step.'))
        if row.shown_at is not None:
            raise Conflict(N_('Your result is on the projector now: it can be withdrawn once the instructor hides it.'))
        await row.delete()
        await self._publish_gallery(workshop_id, step_id=step_id, user_id=actor_id, submission=None)

    # ----- choosing what the projector shows (instructors) ---------------------------------------------------------
    async def gallery_submissions(self, actor_id: int, workshop_id: int, step_id: int) -> list[Submission]:
        """Every submission of a step, oldest first, with the attendees' names (managers only)."""
        await self._manage(actor_id, workshop_id)
        rows = await GallerySubmission.filter(workshop_id=workshop_id, step_id=step_id).order_by('id')
        names = await self._names(workshop_id)
        return [_submission(r, names.get(r.user_id, '')) for r in rows]  # type: ignore[attr-defined]

    async def gallery_show(self, actor_id: int, workshop_id: int, submission_id: int, shown: bool) -> None:
        await self._manage(actor_id, workshop_id)
        row = await GallerySubmission.get_or_none(id=submission_id, workshop_id=workshop_id)
        if row is None:
            raise NotFound(N_('No such submission (the attendee may have withdrawn it).'))
        row.shown_at = datetime.now(UTC) if shown else None
        await row.save(update_fields=['shown_at', 'updated_at'])
        mine = _submission(row, '')
        await self._publish_gallery(workshop_id, step_id=row.step_id, user_id=row.user_id, submission=asdict(mine))  # type: ignore[attr-defined]

    async def gallery_shown(self, actor_id: int, workshop_id: int) -> list[dict[str, Any]]:
        """What the projector shows, in the order it was put there (managers only; names only where agreed)."""
        await self._manage(actor_id, workshop_id)
        return await self._shown(workshop_id)

    async def _shown(self, workshop_id: int) -> list[dict[str, Any]]:
        query = GallerySubmission.filter(workshop_id=workshop_id, shown_at__isnull=False)
        rows = await query.order_by('shown_at', 'id')
        names = await self._names(workshop_id) if any(r.show_name for r in rows) else {}
        titles = dict(await WorkshopStep.filter(workshop_id=workshop_id).values_list('id', 'title'))
        return [
            {'id': r.id, 'step': titles.get(r.step_id, ''), 'kind': r.kind, 'text': r.text,  # type: ignore[attr-defined]
             'citations': list(r.citations or []),
             'name': names.get(r.user_id, ANONYMOUS) if r.show_name else ANONYMOUS}  # type: ignore[attr-defined]
            for r in rows
        ]  # fmt: skip

    async def _names(self, workshop_id: int) -> dict[int, str]:
        return dict(
            await WorkshopMembership.filter(workshop_id=workshop_id).values_list('user_id', 'user__display_name')
        )

    async def _publish_gallery(
        self, workshop_id: int, *, step_id: int, user_id: int | None, submission: dict[str, Any] | None,
        asks: bool = False,
    ) -> None:  # fmt: skip
        shown = await self._shown(workshop_id)
        all_asks = (
            {
                str(k): v
                for k, v in await GalleryAsk.filter(step__workshop_id=workshop_id).values_list('step_id', 'kind')
            }
            if asks
            else None
        )  # str keys: the payload travels as JSON between processes
        self._apply('gallery', workshop_id=workshop_id, shown=shown, step_id=step_id, user_id=user_id,
                    submission=submission, asks=all_asks)  # fmt: skip


def _submission(row: GallerySubmission, name: str) -> Submission:
    return Submission(
        id=row.id,
        step_id=row.step_id,  # type: ignore[attr-defined]
        user_id=row.user_id,  # type: ignore[attr-defined]
        name=name,
        kind=row.kind,
        text=row.text,
        citations=list(row.citations or []),
        show_name=row.show_name,
        shown=row.shown_at is not None,
        updated_at=row.updated_at,
    )


__all__ = ['ANONYMOUS', 'KINDS', 'GalleryMixin', 'Submission']
