"""Exercise checks in a workshop: instructors add, edit and delete the checks of a step; every activity of an attendee
is judged against the checks of the steps they have not finished; each outcome is stored per (attendee, step, check),
pushed to the attendee's pages and the dashboards (the `check` kind of the live bus), and a step whose checks have all
passed is completed automatically.

Mixed into `WorkshopSession` (it uses `_manage`, `_apply`, `_save_progress`, `_reload_steps` and `live`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from nicegui import background_tasks

from models import CheckResult, WorkshopMembership, WorkshopStep
from services.core.errors import InvalidInput, NotFound
from services.core.i18n import N_
from services.workshops import checks as workshop_checks

if TYPE_CHECKING:
    from services.core.activity import Activity
    from services.workshops.live import LiveWorkshop

log = logging.getLogger(__name__)


class WorkshopChecks:
    live: dict[int, LiveWorkshop]

    # ----- instructors ---------------------------------------------------------------------------------------------
    async def save_check(
        self, actor_id: int, workshop_id: int, step_id: int, spec: dict[str, Any], check_id: str | None = None
    ) -> dict[str, Any]:
        """Add a check to a step, or replace one (`check_id`): an edited check starts over for everyone."""
        await self._manage(actor_id, workshop_id)  # type: ignore[attr-defined]
        step = await self._step(workshop_id, step_id)
        check = workshop_checks.normalise({**spec, 'id': None})
        current = list(step.checks or [])
        if check_id is None:
            if len(current) >= workshop_checks.MAX_CHECKS:
                raise InvalidInput(N_('A step has at most {MAX_CHECKS} checks.', MAX_CHECKS=workshop_checks.MAX_CHECKS))
            current.append(check)
        else:
            index = next((i for i, c in enumerate(current) if c.get('id') == check_id), None)
            if index is None:
                raise NotFound(N_('This check no longer exists. Reload the page.'))
            current[index] = check
            await CheckResult.filter(step_id=step.id, check_id=check_id).delete()
        step.checks = current
        await step.save(update_fields=['checks'])
        await self._reload_steps(workshop_id)  # type: ignore[attr-defined]
        return check

    async def delete_check(self, actor_id: int, workshop_id: int, step_id: int, check_id: str) -> None:
        await self._manage(actor_id, workshop_id)  # type: ignore[attr-defined]
        step = await self._step(workshop_id, step_id)
        step.checks = [c for c in step.checks or [] if c.get('id') != check_id]
        await step.save(update_fields=['checks'])
        await CheckResult.filter(step_id=step.id, check_id=check_id).delete()
        await self._reload_steps(workshop_id)  # type: ignore[attr-defined]

    @staticmethod
    async def _step(workshop_id: int, step_id: int) -> WorkshopStep:
        step = await WorkshopStep.get_or_none(id=step_id, workshop_id=workshop_id)
        if step is None:
            raise NotFound(N_('No such step.'))
        return step

    # ----- reading -------------------------------------------------------------------------------------------------
    @staticmethod
    async def _check_results(membership_id: int) -> dict[int, dict[str, dict[str, Any]]]:
        """One attendee's outcomes: step id -> check id -> {passed, reason}."""
        results: dict[int, dict[str, dict[str, Any]]] = {}
        rows = await CheckResult.filter(membership_id=membership_id).values('step_id', 'check_id', 'passed', 'reason')
        for r in rows:
            results.setdefault(r['step_id'], {})[r['check_id']] = {'passed': r['passed'], 'reason': r['reason']}
        return results

    @staticmethod
    async def _load_checks(live: LiveWorkshop) -> None:
        """Into a live state being built: every attendee's stored outcomes."""
        by_membership = {a.membership_id: a for a in live.attendees.values()}
        for r in await CheckResult.filter(membership__workshop_id=live.id).values(
            'membership_id', 'step_id', 'check_id', 'passed', 'reason'
        ):
            attendee = by_membership.get(r['membership_id'])
            if attendee is not None:
                attendee.checks[(r['step_id'], r['check_id'])] = (r['passed'], r['reason'])

    # ----- judging activity ----------------------------------------------------------------------------------------
    def _run_checks(self, live: LiveWorkshop, activity: Activity) -> None:
        """Judge one activity against the checks of every open step the attendee has not finished (a pass stays a
        pass)."""
        attendee = live.attendees.get(activity.user_id or 0)
        if attendee is None:
            return
        for index, step in enumerate(live.steps):
            if live.pace.locked(index):
                break  # a locked step of a paced workshop is not judged yet (nor completed)
            checks = step.get('checks') or []
            if not checks or step['id'] in attendee.done:
                continue
            for check in checks:
                key = (step['id'], check['id'])
                before = attendee.checks.get(key)
                if before is not None and before[0]:
                    continue
                outcome = workshop_checks.evaluate(check, activity.action, activity.error, activity.details)
                if outcome is None or outcome == before:
                    continue
                passed, reason = outcome
                self._apply(  # type: ignore[attr-defined]
                    'check', workshop_id=live.id, user_id=attendee.user_id, step_id=step['id'], check_id=check['id'],
                    passed=passed, reason=reason,
                )  # fmt: skip
                background_tasks.create(self._save_check(attendee.membership_id, step['id'], check['id'], outcome))
            if workshop_checks.step_state(checks, attendee.checks, step['id']) == 'passed':
                self._apply('progress', workshop_id=live.id, user_id=attendee.user_id, step_id=step['id'], how='auto')  # type: ignore[attr-defined]
                background_tasks.create(
                    self._save_progress(live.id, attendee.user_id, step['id'], 'auto')  # type: ignore[attr-defined]
                )

    @staticmethod
    async def _save_check(membership_id: int, step_id: int, check_id: str, outcome: tuple[bool, str]) -> None:
        if not await WorkshopMembership.exists(id=membership_id) or not await WorkshopStep.exists(id=step_id):
            return  # removed meanwhile
        await CheckResult.update_or_create(
            defaults={'passed': outcome[0], 'reason': outcome[1][:500]},
            membership_id=membership_id,
            step_id=step_id,
            check_id=check_id,
        )

    def _live_check(self, p: dict[str, Any]) -> None:
        live = self.live.get(p['workshop_id'])
        attendee = live.attendees.get(p['user_id']) if live is not None else None
        if live is None or attendee is None:
            return
        attendee.checks[(p['step_id'], p['check_id'])] = (p['passed'], p['reason'])
        live.mark_row(attendee.user_id)
        live.mark_checks()
        event = {'kind': 'check', **{k: p[k] for k in ('step_id', 'check_id', 'passed', 'reason')}}
        live.personal_event(attendee.user_id).emit(event)
