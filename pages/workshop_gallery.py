"""The results gallery: the instructor's page (/workshops/{id}/gallery: what each step asks for, the submissions, show
or hide on the projector), the attendee's submission form on their step panel, and the projector's gallery.

Everything follows the service's gallery event: the projector renders the items the service computed (names already
hidden unless the attendee agreed); an attendee's form follows their own submission and the steps' asks.
"""

from __future__ import annotations

from typing import Any

from nicegui import APIRouter, background_tasks, ui

from components.forms import confirm, guarded
from components.frame import frame
from pages.common import page_user
from services.core import i18n
from services.core.auth import Role, UserInfo
from services.core.errors import ServiceError
from services.core.i18n import _
from services.wiring import Services
from services.workshops.gallery import ANONYMOUS, KINDS, Submission


def ask_options() -> dict[str, str]:
    """What a step can ask attendees to submit, labelled in the current language."""
    return {'': _('nothing'), **{k: _(v) for k, v in KINDS.items()}}


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/workshops')

    @router.page('/{workshop_id}/gallery')
    async def gallery_page(workshop_id: int) -> None:
        user = await page_user(services, Role.INSTRUCTOR)
        if user is None:
            return
        ws = services.workshops
        try:
            info = await ws.get(user.id, workshop_id)
            asks = await ws.gallery_asks(user.id, workshop_id)
            subs = {s.id: await ws.gallery_submissions(user.id, workshop_id, s.id) for s in info.steps}
            if not info.can_manage:
                raise ServiceError(_('Only the instructors of this workshop can open its gallery.'))
        except ServiceError as exc:
            with frame(services, user, _('Gallery')):
                ui.label(_(exc.message)).classes('text-negative')
            return
        with frame(services, user, _('Gallery · {title}', title=info.title)):
            with ui.row().classes('w-full items-center gap-2'):
                ui.link(_('Back to the workshop'), f'/workshops/{workshop_id}').classes('text-sm')
                ui.space()
                projector = f'/workshops/{workshop_id}/dashboard?projector=true'
                ui.button(_('Projector view'), icon='cast', on_click=lambda: ui.navigate.to(projector))
            ui.label(
                _(
                    'A step can ask attendees to submit a result. Pick submissions to show on the projector: names '
                    'stay hidden unless the attendee ticked "show my name". Attendees can change or withdraw a '
                    'submission until it is shown.'
                )
            ).classes('text-sm text-gray-700 dark:text-gray-300')
            if not info.steps:
                ui.label(_('This workshop has no steps yet.')).classes('text-gray-700 dark:text-gray-300')
            for step in info.steps:
                StepSubmissions(services, user, workshop_id, step.id, f'{step.position + 1}. {step.title}').build(
                    asks.get(step.id, ''), subs[step.id]
                )

    return router


class StepSubmissions:
    """One step on the instructor's gallery page: its ask and its submissions, refreshed when they change."""

    def __init__(self, services: Services, user: UserInfo, workshop_id: int, step_id: int, title: str) -> None:
        self.ws = services.workshops
        self.user = user
        self.wid = workshop_id
        self.step_id = step_id
        self.title = title

    def build(self, ask: str, subs: list[Submission]) -> None:
        with ui.card().classes('w-full gap-2').props('flat bordered'):
            with ui.row().classes('w-full items-center gap-2'):
                ui.label(self.title).classes('font-semibold')
                ui.space()
                select = ui.select(ask_options(), value=ask, label=_('Attendees submit')).props('outlined dense')
                select.classes('w-72').mark(f'ask-{self.step_id}')
                select.on_value_change(
                    lambda e: guarded(
                        lambda: self.ws.set_gallery_ask(self.user.id, self.wid, self.step_id, e.value or None),
                        success=_('Saved.'),
                    )
                )
            self.box = ui.column().classes('w-full gap-1').props('aria-live=polite')
        self._render(subs)
        self.ws.gallery_event(self.wid).subscribe(self._changed)

    async def _changed(self, payload: dict[str, Any]) -> None:
        if payload['step_id'] != self.step_id or self.box.is_deleted:
            return
        subs = await guarded(lambda: self.ws.gallery_submissions(self.user.id, self.wid, self.step_id))
        if subs is not None and not self.box.is_deleted:
            self._render(subs)

    def _render(self, subs: list[Submission]) -> None:
        self.box.clear()
        with self.box:
            if not subs:
                ui.label(_('No submissions yet.')).classes('text-sm text-gray-700 dark:text-gray-300')
            for sub in subs:
                with ui.row().classes('w-full items-start gap-2 no-wrap').mark(f'submission-{sub.id}'):
                    with ui.column().classes('grow gap-0 min-w-0'):
                        when = i18n.clock(sub.updated_at) if sub.updated_at else ''  # in the reader's locale
                        byline = (
                            _('{name} (name may be shown) · {when}', name=sub.name, when=when)
                            if sub.show_name
                            else _('{name} (anonymous on the projector) · {when}', name=sub.name, when=when)
                        )
                        ui.label(byline).classes('text-xs text-gray-700 dark:text-gray-300')
                        ui.label(sub.text).classes('whitespace-pre-line')
                        if sub.citations:
                            ui.label(_('Cites: {documents}', documents=', '.join(sub.citations))).classes(
                                'text-sm text-gray-700 dark:text-gray-300'
                            )
                    if sub.shown:
                        ui.badge(_('on the projector'), color='positive')
                    label, icon = (_('Hide'), 'visibility_off') if sub.shown else (_('Show on projector'), 'cast')
                    ui.button(label, icon=icon, on_click=lambda s=sub: self._show(s.id, not s.shown)).props(
                        'flat dense'
                    ).mark(f'show-{sub.id}')

    async def _show(self, submission_id: int, shown: bool) -> None:
        await guarded(lambda: self.ws.gallery_show(self.user.id, self.wid, submission_id, shown))


class SubmissionForm:
    """The attendee's submission form on their step panel: shown for steps that ask for a result. Asks and the
    attendee's submissions are read once (in the background) and then follow the gallery event."""

    def __init__(self, services: Services, user: UserInfo, workshop_id: int) -> None:
        self.ws = services.workshops
        self.user = user
        self.wid = workshop_id
        self.asks: dict[int, str] = {}
        self.mine: dict[int, dict[str, Any]] = {}
        self.step_id: int | None = None
        self.box: ui.column | None = None
        self.ws.gallery_event(workshop_id).subscribe(self._changed)
        background_tasks.create(self._load(), name='gallery-form')

    async def _load(self) -> None:
        try:
            self.asks = await self.ws.gallery_asks(self.user.id, self.wid)
            self.mine = {k: _plain(v) for k, v in (await self.ws.gallery_mine(self.user.id, self.wid)).items()}
        except ServiceError:
            return
        self._fill()

    def render(self, step_id: int) -> None:
        """Called inside the step panel: a place for this step's form."""
        self.step_id = step_id
        self.box = ui.column().classes('w-full gap-2')
        self._fill()

    def _changed(self, payload: dict[str, Any]) -> None:
        if payload.get('asks') is not None:
            self.asks = {int(k): v for k, v in payload['asks'].items()}
        elif payload.get('user_id') == self.user.id:
            if payload['submission'] is None:
                self.mine.pop(payload['step_id'], None)
            else:
                self.mine[payload['step_id']] = payload['submission']
        else:
            return
        self._fill()

    def _fill(self) -> None:
        box = self.box
        if box is None or box.is_deleted:
            return
        box.clear()
        kind = self.asks.get(self.step_id or 0)
        if not kind:
            return
        mine = self.mine.get(self.step_id or 0)
        with box, ui.card().classes('w-full gap-2').props('flat bordered').mark('gallery-form'):
            ui.label(_('Submit your result: {kind}', kind=_(KINDS[kind]))).classes('font-semibold')
            if mine and mine['shown']:
                ui.label(_('Your result is on the projector now. It can change once the instructor hides it.')).classes(
                    'text-sm text-positive'
                ).props('role=status').mark('gallery-shown')
            label = _('Your prompt') if kind == 'prompt' else _('Your answer')
            text = ui.textarea(label, value=mine['text'] if mine else '').props('outlined autogrow').classes('w-full')
            text.mark('gallery-text')
            cites = None
            if kind == 'rag':
                cites = ui.textarea(_('Documents it cites (one per line)'),
                                    value='\n'.join(mine['citations']) if mine else '')  # fmt: skip
                cites.props('outlined autogrow').classes('w-full').mark('gallery-citations')
            show_name = ui.checkbox(
                _('Show my name if it is shown on the projector'), value=bool(mine and mine['show_name'])
            )
            show_name.mark('gallery-show-name')
            locked = bool(mine and mine['shown'])
            with ui.row().classes('gap-2'):

                async def submit() -> None:
                    with box:  # the change rebuilds this form (the button goes): notify from its lasting container
                        await _submit()

                async def _submit() -> None:
                    sub = await guarded(
                        lambda: self.ws.gallery_submit(self.user.id, self.wid, self.step_id or 0, text.value or '',
                                                       cites.value if cites else '', show_name=bool(show_name.value)),
                        success=_('Submitted. You can change it until the instructor shows it.'),
                    )  # fmt: skip
                    if sub is not None:
                        self.mine[sub.step_id] = _plain(sub)
                        self._fill()

                async def withdraw() -> None:
                    with box:
                        await _withdraw()

                async def _withdraw() -> None:
                    if not await confirm(_('Withdraw your result?'), _('The instructor will no longer see it.'),
                                         action=_('Withdraw')):  # fmt: skip
                        return
                    try:
                        await self.ws.gallery_withdraw(self.user.id, self.wid, self.step_id or 0)
                    except ServiceError as exc:
                        ui.notify(_(exc.message), type='negative')
                        return
                    self.mine.pop(self.step_id or 0, None)
                    self._fill()
                    ui.notify(_('Withdrawn.'), type='positive')

                ui.button(_('Update') if mine else _('Submit'), icon='upload', on_click=submit).mark(
                    'gallery-submit'
                ).set_enabled(not locked)
                if mine:
                    ui.button(_('Withdraw'), on_click=withdraw).props('flat').mark('gallery-withdraw').set_enabled(
                        not locked
                    )
            for element in (text, show_name, *([cites] if cites else [])):
                element.set_enabled(not locked)


def projector_gallery(services: Services, workshop_id: int, shown: list[dict[str, Any]]) -> None:
    """The results the instructor put on the projector, in that order; follows the gallery event."""
    box = ui.column().classes('w-full gap-3').mark('projector-gallery').props('aria-live=polite')

    def render(items: list[dict[str, Any]]) -> None:
        box.clear()
        with box:
            if items:
                ui.label(_('Results gallery')).classes('text-2xl font-semibold')
            for item in items:
                with ui.card().classes('w-full gap-1').props('flat bordered'):
                    name = _(ANONYMOUS) if item['name'] == ANONYMOUS else item['name']
                    ui.label(f'{item["step"]} · {name}').classes('text-sm text-gray-700 dark:text-gray-300')
                    ui.label(item['text']).classes('text-xl whitespace-pre-line')
                    if item['citations']:
                        ui.label(_('Cites: {documents}', documents=', '.join(item['citations']))).classes(
                            'text-gray-700 dark:text-gray-300'
                        )

    last = {'shown': shown}

    def changed(payload: dict[str, Any]) -> None:
        if not box.is_deleted and payload['shown'] != last['shown']:  # a new submission alone changes nothing here
            last['shown'] = payload['shown']
            render(payload['shown'])

    render(shown)
    services.workshops.gallery_event(workshop_id).subscribe(changed)


def _plain(sub: Submission) -> dict[str, Any]:
    return {'step_id': sub.step_id, 'text': sub.text, 'citations': list(sub.citations), 'show_name': sub.show_name,
            'shown': sub.shown}  # fmt: skip
