"""Workshop services: permissions, joining, progress rules, hands, announcements, attribution of activity."""

from __future__ import annotations

import asyncio

import pytest
from nicegui.testing import User

from services.core import actions
from services.core.errors import Conflict, NotFound, PermissionDenied, ServiceError, Throttled
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
    for _ in range(ws.join_throttle.free):
        with pytest.raises(NotFound):
            await ws.join('WRONG1', 'Eve', client_address='6.6.6.6')
    with pytest.raises(Throttled, match=r'Too many wrong join codes. Try again in \d+ seconds?\.'):
        await ws.join(info.join_code, 'Eve', client_address='6.6.6.6')  # even the right code, for a while
    assert (await ws.join(info.join_code, 'Fay', client_address='7.7.7.7')).workshop_id == info.id


async def test_a_classroom_behind_one_address_joins_despite_typos(user: User, services: Services, make_account) -> None:
    """Threat T20: 40 people behind one NAT address, a dozen mistyped codes among them, all get in."""
    _, _, _, info = await _setup(services, make_account)
    ws = services.workshops
    for i in range(12):
        with pytest.raises(NotFound):
            await ws.join('WR0NG' + str(i), f'Typo {i}', client_address='198.51.100.9')
    joined = [await ws.join(info.join_code, f'Student {i}', client_address='198.51.100.9') for i in range(40)]
    assert len({j.user_id for j in joined}) == 40


async def test_new_accounts_per_address_are_budgeted(user: User, services: Services, make_account) -> None:
    """Joining by code makes accounts: one address cannot make more than its budget in a window."""
    _, _, _, info = await _setup(services, make_account)
    ws = services.workshops
    ws.new_account_throttle.free = 5
    for i in range(5):
        await ws.join(info.join_code, f'Bot {i}', client_address='203.0.113.50')
    with pytest.raises(Throttled, match='Too many people joined from this network just now'):
        await ws.join(info.join_code, 'Bot 5', client_address='203.0.113.50')
    assert (await ws.join(info.join_code, 'Someone', client_address='203.0.113.51')).created_account


@pytest.mark.parametrize(
    ('name', 'why'),
    [
        ('Grace Hopper', "is the name of this workshop's instructor"),
        ('  gRACE   hopper ', "is the name of this workshop's instructor"),
        ('Grаce Hopper', "is the name of this workshop's instructor"),  # a Cyrillic а
        ('Gr4ce H0pper!', "is the name of this workshop's instructor"),
        ('Grace-Hopper', "is the name of this workshop's instructor"),
        ('Teacher', 'cannot claim a role'),
        ('Ann (instructor)', 'cannot claim a role'),
        ('Admin', 'cannot claim a role'),
        ('ann', 'already called "Ann"'),
        ('A.N.N.', 'already called "Ann"'),
    ],
)
async def test_display_names_that_impersonate_are_refused(
    user: User, services: Services, make_account, name: str, why: str
) -> None:
    _, teacher, _, info = await _setup(services, make_account)
    ws = services.workshops
    await make_account('grace@example.org', 'Grace Hopper', role='instructor')
    await ws.add_co_instructor(teacher, info.id, 'grace@example.org')  # a co-instructor is staff too
    await ws.join(info.join_code, 'Ann', client_address='1.2.3.4')
    with pytest.raises(ServiceError, match=why):
        await ws.join(info.join_code, name, client_address='1.2.3.4')
    assert (await ws.join(info.join_code, 'Anne', client_address='1.2.3.4')).created_account  # a different name


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
