"""Workshop services: permissions, joining, progress rules, hands, announcements, attribution of activity."""

from __future__ import annotations

import asyncio

import pytest
from nicegui.testing import User

from services.core import actions
from services.core.errors import Conflict, NotFound, PermissionDenied, Throttled
from services.wiring import Services


async def _setup(services: Services, make_account):
    admin = await make_account('admin@example.org', 'Admin')
    teacher = await make_account('teach@example.org', 'Teacher', role='instructor')
    other = await make_account('other@example.org', 'Other', role='instructor')
    ws = services.workshops
    info = await ws.create(teacher, 'Intro to Ollama', 'Learn *things*', stuck_minutes=5)
    await ws.add_step(teacher, info.id, 'Say hello', 'Open the **chat**', 'chat')
    await ws.add_step(teacher, info.id, 'Make a prompt', 'Use a {variable}', 'prompt_variable')
    await ws.add_step(teacher, info.id, 'Reflect', 'Tick when done')
    await ws.start(teacher, info.id)
    return admin, teacher, other, info


async def test_permissions_join_and_rules(user: User, services: Services, make_account) -> None:
    admin, teacher, other, info = await _setup(services, make_account)
    ws = services.workshops
    joined = await ws.join(info.join_code.lower(), 'Ann', client_address='1.2.3.4')
    assert joined.created_account and joined.workshop_id == info.id
    ann = joined.user_id
    bob = (await ws.join(f' {info.join_code[:3]}-{info.join_code[3:]} ', 'Bob', client_address='1.2.3.4')).user_id
    # attendees: PermissionDenied for manager actions; other instructors: NotFound
    with pytest.raises(PermissionDenied):
        await ws.dashboard(ann, info.id)
    with pytest.raises(PermissionDenied):
        await ws.announce(ann, info.id, 'hi')
    with pytest.raises(PermissionDenied):
        await ws.attendee_activity(ann, info.id, bob)
    with pytest.raises(PermissionDenied):
        await ws.create(ann, 'Mine')
    with pytest.raises(NotFound):
        await ws.dashboard(other, info.id)
    with pytest.raises(NotFound):
        await ws.announce(other, info.id, 'hi')
    assert await ws.dashboard(admin, info.id) is not None
    # activity is attributed to the live workshop and completes steps automatically
    assert await ws.workshop_of(ann) == info.id
    assert await services.calls.allowed_models(await services.calls.caller(ann)) is None
    await ws.update(teacher, info.id, allowed_models=['llama3.2', ' '])
    assert await services.calls.allowed_models(await services.calls.caller(ann)) == ['llama3.2:latest']
    live = ws.live[info.id]
    await services.activity.record(ann, actions.CHAT, model='llama3.2:latest', tokens=12, latency_ms=30)
    await services.activity.record(ann, actions.PROMPT_CREATE, prompt_id=1, variables=0)
    await asyncio.sleep(0.2)
    step_ids = [s['id'] for s in live.steps]
    assert live.attendees[ann].done == {step_ids[0]: 'auto'}
    await services.activity.record(ann, actions.PROMPT_CREATE, prompt_id=2, variables=2)
    await asyncio.sleep(0.2)
    assert set(live.attendees[ann].done) == set(step_ids[:2])
    view = await ws.attendee_view(ann, info.id)
    assert view.done == {step_ids[0]: 'auto', step_ids[1]: 'auto'}
    await ws.tick(ann, info.id, step_ids[2], True)
    assert live.counts() == [1, 1, 1]
    # drill-down for the instructor only; an attendee cannot read another attendee's view
    recent = await ws.attendee_activity(teacher, info.id, ann)
    assert {a.action for a in recent} == {actions.CHAT, actions.PROMPT_CREATE, actions.WORKSHOP_JOIN}
    with pytest.raises(NotFound):
        await ws.attendee_view(teacher, info.id)  # not a member
    # the in-memory state rebuilt from the database equals the live one
    rebuilt = await ws._build(await _workshop(info.id))
    assert rebuilt.attendees[ann].done == live.attendees[ann].done
    assert rebuilt.attendees[ann].requests == 4
    # ending the workshop refuses new joins and stops attribution
    await ws.end(teacher, info.id)
    assert await ws.workshop_of(ann) is None
    with pytest.raises(Conflict, match='ended'):
        await ws.join(info.join_code, 'Late', client_address='1.2.3.4')


async def test_wrong_codes_are_throttled_per_address(user: User, services: Services, make_account) -> None:
    _, _, _, info = await _setup(services, make_account)
    ws = services.workshops
    for _ in range(ws.join_throttle.max_failures):
        with pytest.raises(NotFound):
            await ws.join('WRONG1', 'Eve', client_address='6.6.6.6')
    with pytest.raises(Throttled):
        await ws.join(info.join_code, 'Eve', client_address='6.6.6.6')  # even the right code, for a while
    assert (await ws.join(info.join_code, 'Fay', client_address='7.7.7.7')).workshop_id == info.id


async def test_hands_and_announcements_reach_the_right_people(user: User, services: Services, make_account) -> None:
    _, teacher, _, info = await _setup(services, make_account)
    ws = services.workshops
    ann = (await ws.join(info.join_code, 'Ann')).user_id
    live = ws.live[info.id]
    received: list[dict] = []
    live.personal_event(ann).subscribe(received.append)
    hand = await ws.raise_hand(ann, info.id, 'my chat is stuck')
    with pytest.raises(Conflict):
        await ws.raise_hand(ann, info.id, 'again')
    assert [h['message'] for h in live.open_hands()] == ['my chat is stuck']
    await ws.update_hand(teacher, info.id, hand.id, 'acknowledged')
    await ws.update_hand(teacher, info.id, hand.id, 'resolved')
    await asyncio.sleep(0.05)
    assert [r['state'] for r in received if r['kind'] == 'hand'] == ['acknowledged', 'resolved']
    assert live.open_hands() == []
    with pytest.raises(PermissionDenied):
        await ws.update_hand(ann, info.id, hand.id, 'resolved')
    got: list[dict] = []
    live.broadcast.subscribe(got.append)
    await ws.announce(teacher, info.id, '<img src=x onerror=alert(1)> Break time')
    await ws.move_all(teacher, info.id, 2)
    await asyncio.sleep(0.05)
    assert [g['kind'] for g in got] == ['announcement', 'step']
    assert (await ws.attendee_view(ann, info.id)).current_step == 2


async def _workshop(workshop_id: int):
    from models import Workshop

    return await Workshop.get(id=workshop_id)


async def test_stuck_markers_presence_and_usage(user: User, services: Services, make_account) -> None:
    _, _, _, info = await _setup(services, make_account)
    ws = services.workshops
    ann = (await ws.join(info.join_code, 'Ann')).user_id
    bob = (await ws.join(info.join_code, 'Bob')).user_id
    live = ws.live[info.id]
    pushed: list[dict] = []
    live.changed.subscribe(pushed.append)
    for _ in range(3):
        await services.activity.record(ann, actions.CHAT, model='qwen3:0.6b', error='model not found', latency_ms=5)
    assert live.attendees[ann].stuck == '3 errors in a row'
    await services.activity.record(ann, actions.CHAT, model='qwen3:0.6b', tokens=7, latency_ms=15)
    assert live.attendees[ann].stuck == ''  # a success ends the streak
    ws.connected(info.id, bob, +1)
    assert live.attendees[bob].presence == 'online'
    live.attendees[bob].last_seen -= 3600
    live.attendees[bob].last_progress -= 3600  # no progress for an hour (threshold: 5 minutes)
    live.sample({'hosts': {}})
    assert live.attendees[bob].presence == 'idle'
    assert live.attendees[bob].stuck.startswith('no progress for')
    ws.connected(info.id, bob, -1)
    assert live.attendees[bob].presence == 'offline'
    await asyncio.sleep(0.7)  # matrix rows are pushed at most twice a second
    point = next(p['point'] for p in pushed if 'point' in p)
    assert point['models']['qwen3:0.6b'] == {'requests': 4, 'tokens': 7, 'latency': 8, 'errors': 3}
    rows = {r['id']: r for p in pushed for r in p.get('rows', [])}
    assert rows[ann]['requests'] == 5 and rows[ann]['errors'] == 3  # 4 chats + joining
