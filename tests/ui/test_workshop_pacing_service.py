"""Pacing and assistants in the services (issue 18 items 2 and 4): what is refused, to whom, with which sentence."""

from __future__ import annotations

import asyncio

import pytest
from nicegui.testing import User

from services.core import actions
from services.core.errors import Conflict, InvalidInput, PermissionDenied
from services.wiring import Services


async def _setup(services: Services, make_account):
    await make_account('admin@example.org', 'Admin')
    teacher = await make_account('teach@example.org', 'Teacher', role='instructor')
    helper = await make_account('help@example.org', 'Hana Helper')
    ws = services.workshops
    info = await ws.create(teacher, 'Paced workshop')
    for title, rule in (('Say hello', 'chat'), ('Make a prompt', 'prompt'), ('Reflect', None)):
        await ws.add_step(teacher, info.id, title, '', rule)
    await ws.start(teacher, info.id)
    ann = (await ws.join(info.join_code, 'Ann')).user_id
    bob = (await ws.join(info.join_code, 'Bob')).user_id
    return teacher, helper, info, ann, bob


async def test_paced_steps_are_locked_in_the_service(user: User, services: Services, make_account) -> None:
    teacher, _, info, ann, _ = await _setup(services, make_account)
    ws = services.workshops
    steps = [s.id for s in info.steps] or [s.id for s in await ws.steps(info.id)]
    await ws.set_step(ann, info.id, 2)  # open mode: every step
    pace = await ws.set_pacing(teacher, info.id, 'paced')
    assert pace.mode == 'paced' and pace.unlocked == 1
    assert ws.live[info.id].pace.locked(1)
    with pytest.raises(Conflict, match='the instructor will open this'):
        await ws.set_step(ann, info.id, 1)
    with pytest.raises(Conflict, match='the instructor will open this'):
        await ws.tick(ann, info.id, steps[1], True)
    await ws.tick(ann, info.id, steps[0], True)
    # a locked step is not completed automatically either
    await services.activity.record(ann, actions.PROMPT_CREATE, prompt_id=1)
    await asyncio.sleep(0.2)
    assert steps[1] not in ws.live[info.id].attendees[ann].done
    pace = await ws.unlock_next(teacher, info.id)
    assert pace.unlocked == 2
    await ws.set_step(ann, info.id, 1)
    await ws.tick(ann, info.id, steps[1], True)
    # moving everyone to a step opens it
    await ws.move_all(teacher, info.id, 2)
    assert ws.live[info.id].pace.unlocked == 3
    with pytest.raises(Conflict, match='Every step is open'):
        await ws.unlock_next(teacher, info.id)
    with pytest.raises(InvalidInput):
        await ws.set_pacing(teacher, info.id, 'fast')
    with pytest.raises(InvalidInput):
        await ws.set_unlocked(teacher, info.id, 9)
    with pytest.raises(PermissionDenied):
        await ws.unlock_next(ann, info.id)


async def test_timer_and_focus_are_kept_on_the_workshop(user: User, services: Services, make_account) -> None:
    teacher, _, info, ann, _ = await _setup(services, make_account)
    ws = services.workshops
    with pytest.raises(InvalidInput, match='at most 240 minutes'):
        await ws.start_timer(teacher, info.id, 0)
    pace = await ws.start_timer(teacher, info.id, 5, 'Step 1')
    assert 295 <= pace.remaining() <= 300 and pace.timer_label == 'Step 1'
    await ws.focus(teacher, info.id, '')
    assert ws.live[info.id].pace.focus == 'Eyes on the projector, please.'
    # a live state rebuilt from the database (another process, a reconnect) still has them
    ws._live_gap()
    live = await ws.live_state(info.id)
    assert live.pace.focus and live.pace.remaining() > 290
    assert (await ws.pace_of(ann, info.id)).focus
    await ws.release_focus(teacher, info.id)
    await ws.stop_timer(teacher, info.id)
    assert ws.live[info.id].pace.focus is None and ws.live[info.id].pace.remaining() is None
    with pytest.raises(PermissionDenied):
        await ws.focus(ann, info.id, 'mine')


async def test_assistant_claims_hands_and_messages_but_cannot_manage(
    user: User, services: Services, make_account
) -> None:
    teacher, helper, info, ann, bob = await _setup(services, make_account)
    ws = services.workshops
    with pytest.raises(InvalidInput, match='No account with this email'):
        await ws.add_assistant(teacher, info.id, 'nobody@example.org')
    with pytest.raises(PermissionDenied):
        await ws.add_assistant(ann, info.id, 'help@example.org')
    await ws.add_assistant(teacher, info.id, ' HELP@example.org ')
    assert [a['name'] for a in (await ws.get(teacher, info.id)).assistants] == ['Hana Helper']
    seen = await ws.get(helper, info.id)
    assert seen.assisting and not seen.can_manage and seen.join_code == info.join_code
    assert [w.id for w in await ws.list_for(helper)] == [info.id]
    assert await ws.dashboard(helper, info.id) is not None
    with pytest.raises(InvalidInput, match="the name of this workshop's assistant"):
        await ws.join(info.join_code, 'Hana  Helper')  # nobody joins under the assistant's name

    # hands: the first claim wins, a second one is refused with who has it
    hand = await ws.raise_hand(ann, info.id, 'stuck')
    await ws.claim_hand(helper, info.id, hand.id)
    assert ws.live[info.id].hands[hand.id]['claimed_by'] == 'Hana Helper'
    with pytest.raises(Conflict, match='Hana Helper already claimed this hand'):
        await ws.claim_hand(teacher, info.id, hand.id)
    await ws.update_hand(helper, info.id, hand.id, 'resolved')
    with pytest.raises(Conflict, match='resolved already'):
        await ws.claim_hand(teacher, info.id, hand.id)
    with pytest.raises(PermissionDenied):
        await ws.claim_hand(ann, info.id, hand.id)

    # a private message reaches one attendee only
    await ws.message_attendee(helper, info.id, ann, 'Look at line 3')
    assert [m['text'] for m in await ws.my_messages(ann, info.id)] == ['Look at line 3']
    assert await ws.my_messages(bob, info.id) == []
    with pytest.raises(PermissionDenied):
        await ws.message_attendee(ann, info.id, bob, 'psst')
    with pytest.raises(InvalidInput):
        await ws.message_attendee(helper, info.id, bob, '   ')

    # everything else a manager does is refused, with a sentence saying what an assistant may do
    refused = [
        ws.end(helper, info.id),
        ws.update(helper, info.id, title='Mine'),
        ws.add_step(helper, info.id, 'Extra'),
        ws.delete_step(helper, info.id, info.steps[0].id if info.steps else 0),
        ws.set_pacing(helper, info.id, 'paced'),
        ws.unlock_next(helper, info.id),
        ws.start_timer(helper, info.id, 5),
        ws.focus(helper, info.id, 'look'),
        ws.move_all(helper, info.id, 0),
        ws.announce(helper, info.id, 'hi all'),
        ws.add_assistant(helper, info.id, 'admin@example.org'),
        ws.regenerate_code(helper, info.id),
    ]
    for call in refused:
        with pytest.raises(PermissionDenied, match='As an assistant you can claim and resolve hands'):
            await call
    with pytest.raises(PermissionDenied):
        await services.quotas.set_quota(helper, workshop_id=info.id, max_requests=5)
    assert ws.live.get(info.id) is not None  # still running

    # an attendee cannot be made an assistant of the same workshop; removing an assistant ends the access
    ann_email = (await services.auth.get_user(ann)).email
    with pytest.raises(Conflict, match='attends this workshop'):
        await ws.add_assistant(teacher, info.id, ann_email)
    await ws.remove_assistant(teacher, info.id, helper)
    with pytest.raises(PermissionDenied):
        await ws.dashboard(helper, info.id)
