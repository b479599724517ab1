"""The activity log: one service writes rows and tells subscribers."""

from __future__ import annotations

from models import Workshop, WorkshopMembership, WorkshopState
from services.core import actions
from services.core.activity import Activity, ActivityService
from services.core.auth import AuthService
from services.core.membership import Membership


async def test_record_writes_a_row_and_emits_one_event(auth: AuthService) -> None:
    user = await auth.signup('ada@example.org', 'Ada', 'correct-horse-42')
    service = ActivityService(Membership())
    seen: list[Activity] = []
    service.recorded.subscribe(seen.append)
    activity = await service.record(
        user.id,
        actions.CHAT,
        model='llama3.2:latest',
        host='http://h:11434',
        tokens=12,
        latency_ms=123.456,
        conversation_id=7,
    )
    assert activity.details == {'conversation_id': 7}
    assert activity.latency_ms == 123.46
    rows = await service.recent_for_user(user.id)
    assert [r.id for r in rows] == [activity.id]
    assert rows[0].model == 'llama3.2:latest' and rows[0].tokens == 12 and rows[0].ok
    await service.record(user.id, actions.CHAT, error='Ollama is down')
    errors = await service.query(user_id=user.id, errors_only=True)
    assert [e.error for e in errors] == ['Ollama is down']
    assert [a.action for a in seen] == [actions.CHAT, actions.CHAT]


async def test_activity_is_attributed_to_the_live_workshop(auth: AuthService) -> None:
    user = await auth.signup('ada@example.org', 'Ada', 'correct-horse-42')
    owner = await auth.signup('olga@example.org', 'Olga', 'correct-horse-42')
    live = await Workshop.create(title='Live', owner_id=owner.id, join_code='LIVE42', state=WorkshopState.LIVE)
    await WorkshopMembership.create(workshop_id=live.id, user_id=user.id)
    service = ActivityService(Membership())
    assert (await service.record(user.id, actions.CHAT)).workshop_id == live.id
    assert (await service.record(owner.id, actions.CHAT)).workshop_id is None  # teaching is not attending
    assert (await service.record(user.id, actions.CHAT, workshop_id=5)).workshop_id == 5
    assert (await service.record(None, actions.API_CALL)).workshop_id is None
