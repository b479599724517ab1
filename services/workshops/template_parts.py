"""The parts of a workshop template that the teaching tools own: each step's exercise checks and the result it asks
for (results gallery), the workshop's pacing and its arena models. Registered on `WorkshopTemplates` at wiring; each
part is exported and imported through the service that owns it, so its validation and permissions apply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from models import WorkshopStep
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.workshops.templates import Extension

if TYPE_CHECKING:
    from services.workshops.service import WorkshopService
    from services.workshops.templates import WorkshopTemplates


def register(templates: WorkshopTemplates, workshops: WorkshopService) -> None:
    # ----- each step's exercise checks ----------------------------------------------------------------------------
    async def export_checks(actor_id: int, workshop_id: int, step_id: int) -> Any:
        step = await WorkshopStep.get_or_none(id=step_id, workshop_id=workshop_id).values('checks')
        checks = [{k: v for k, v in c.items() if k != 'id'} for c in (step or {}).get('checks') or []]
        return checks or None

    async def import_checks(actor_id: int, workshop_id: int, step_id: int, value: Any) -> list[str]:
        if not isinstance(value, list):
            raise InvalidInput(N_('checks: must be a list of checks'))
        for number, spec in enumerate(value, 1):
            if not isinstance(spec, dict):
                raise InvalidInput(N_('checks[{number}]: must be an object', number=number))
            try:
                await workshops.save_check(actor_id, workshop_id, step_id, spec)
            except InvalidInput as exc:
                raise InvalidInput(N_('checks[{number}]: {message}', number=number, message=exc.message)) from None
        return []  # (a step field's notes are warnings in the report: a check created is none)

    # ----- the result a step asks attendees to submit -------------------------------------------------------------
    async def export_ask(actor_id: int, workshop_id: int, step_id: int) -> Any:
        return (await workshops.gallery_asks(actor_id, workshop_id)).get(step_id)

    async def import_ask(actor_id: int, workshop_id: int, step_id: int, value: Any) -> list[str]:
        await workshops.set_gallery_ask(actor_id, workshop_id, step_id, str(value or '') or None)
        return []

    # ----- pacing -------------------------------------------------------------------------------------------------
    async def export_pacing(actor_id: int, workshop_id: int) -> Any:
        pace = await workshops.pace_of(actor_id, workshop_id)
        return {'mode': pace.mode} if pace.mode != 'open' else None

    async def import_pacing(actor_id: int, workshop_id: int, value: Any, keys: dict) -> list[str]:
        if not isinstance(value, dict) or not isinstance(value.get('mode'), str):
            raise InvalidInput(N_('pacing: must be an object with a mode ("open" or "paced")'))
        pace = await workshops.set_pacing(actor_id, workshop_id, value['mode'])
        return [f'{pace.mode} mode']

    # ----- the blind arena ----------------------------------------------------------------------------------------
    async def export_arena(actor_id: int, workshop_id: int) -> Any:
        models, _ = await workshops.arena_models(actor_id, workshop_id)
        return {'models': models} if models else None

    async def import_arena(actor_id: int, workshop_id: int, value: Any, keys: dict) -> list[str]:
        models = value.get('models') if isinstance(value, dict) else None
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            raise InvalidInput(N_('arena: must be an object with a list of model names, "models"'))
        picked = await workshops.set_arena_models(actor_id, workshop_id, models)
        return [', '.join(picked)]

    templates.register_step_field('checks', Extension(export=export_checks, import_=import_checks))
    templates.register_step_field('gallery', Extension(export=export_ask, import_=import_ask))
    templates.register_section('pacing', Extension(export=export_pacing, import_=import_pacing))
    templates.register_section('arena', Extension(export=export_arena, import_=import_arena))


__all__ = ['register']
