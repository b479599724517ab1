"""After the session (issue 18 item 8): the certificate of completion and the timeline replay, in several simulated
browsers, and the timeline's aggregation on a session with known times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from nicegui import ui
from nicegui.testing import User

from models import HandState, RaisedHand, StepProgress, Workshop, WorkshopMembership
from services.wiring import Services
from services.workshops.aftercare import certificate, timeline
from tests.ui.conftest import sign_in
from tests.ui.test_workshops import _eventually, _join, _workshop

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def _at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


async def test_timeline_aggregates_progress_hands_and_where_the_class_got_stuck(
    services: Services, make_account
) -> None:
    teacher, info = await _workshop(services, make_account)
    ws = services.workshops
    steps = [s.id for s in await ws.steps(info.id)]
    people = {name: (await ws.join(info.join_code, name)).user_id for name in ('Ann', 'Bob', 'Cat')}
    joined = {'Ann': 0, 'Bob': 2, 'Cat': 5}
    done = {'Ann': [(0, 5), (1, 30), (2, 35)], 'Bob': [(0, 10), (1, 50)], 'Cat': [(0, 8)]}
    for name, uid in people.items():
        await WorkshopMembership.filter(workshop_id=info.id, user_id=uid).update(joined_at=_at(joined[name]))
        for index, minute in done[name]:
            await ws.tick(uid, info.id, steps[index], True)
            await StepProgress.filter(membership__user_id=uid, step_id=steps[index]).update(at=_at(minute))
    bob_hand = await ws.raise_hand(people['Bob'], info.id, 'the variable does not fill in')
    await ws.update_hand(teacher, info.id, bob_hand.id, 'resolved')
    cat_hand = await ws.raise_hand(people['Cat'], info.id, 'stuck')
    await RaisedHand.filter(id=bob_hand.id).update(created_at=_at(20), updated_at=_at(25))
    await RaisedHand.filter(id=cat_hand.id).update(created_at=_at(15))
    await ws.end(teacher, info.id)
    await Workshop.filter(id=info.id).update(started_at=T0, ended_at=_at(60))

    data = await timeline(ws, teacher, info.id, frames=61)  # one frame a minute
    frames = data['frames']
    assert len(frames) == 61 and frames[0]['minute'] == 0 and frames[-1]['minute'] == 60
    assert (frames[0]['attendees'], frames[0]['completed']) == (1, 0)
    assert frames[20] | {'at': None} == {
        'at': None, 'minute': 20, 'attendees': 3, 'completed': 3, 'per_step': [3, 0, 0], 'hands_raised': 2,
        'hands_open': 2,
    }  # fmt: skip
    assert (frames[26]['hands_raised'], frames[26]['hands_open']) == (2, 1)  # Bob's hand resolved at minute 25
    assert frames[-1]['completed'] == 6 and frames[-1]['per_step'] == [3, 2, 1]
    assert [(h['name'], h['minute'], h['step'], h['resolved_after_min']) for h in data['hands']] == [
        ('Cat', 15, 'Make a prompt', None),
        ('Bob', 20, 'Make a prompt', 5),
    ]
    per_step = {s['title']: s for s in data['per_step']}
    assert per_step['Say hello'] | {} == {
        'title': 'Say hello', 'done': 3, 'not_done': 0, 'median_minutes': 5, 'hands': 0, 'stuck': False,
    }  # fmt: skip
    assert (per_step['Make a prompt']['median_minutes'], per_step['Make a prompt']['hands']) == (32.5, 2)
    assert per_step['Make a prompt']['stuck'] and not per_step['Reflect']['stuck']
    # an attendee's own record; nobody else's
    record = await certificate(ws, people['Ann'], info.id)
    assert [s.title for s in record.passed] == ['Say hello', 'Make a prompt', 'Reflect'] and record.ended
    assert record.date == _at(60)


async def test_certificate_of_completion_for_the_attendee_and_the_instructor(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    teacher, info = await _workshop(services, make_account)
    ann, bob = create_user(), create_user()
    await _join(ann, info.join_code, 'Ann Example')
    await _join(bob, info.join_code, 'Bob')
    ann.find(marker='tick-0').click()
    ann.find(marker='tick-2').click()
    ann_id = next(a.user_id for a in services.workshops.live[info.id].attendees.values() if a.name == 'Ann Example')
    await _eventually(lambda: len(services.workshops.live[info.id].attendees[ann_id].done) == 2)

    ann.find(marker='certificate-link').click()
    await ann.should_see('Certificate of completion')
    await ann.should_see('Ann Example')
    await ann.should_see('Intro to Ollama')
    await ann.should_see('and completed 2 of 3 steps:')
    assert sorted(e.text for e in ann.find(marker='cert-step').elements) == ['Reflect', 'Say hello']
    await ann.should_not_see('Make a prompt')
    await ann.should_see('in progress since')
    await ann.should_see(marker='cert-print')

    # another attendee cannot open Ann's; the instructor can, from the timeline page
    await bob.open(f'/workshops/{info.id}/certificate/{ann_id}')
    await bob.should_not_see('Ann Example')
    await bob.should_not_see('Certificate of completion')
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}')
    user.find(marker='ws-timeline').click()
    await user.should_see('2 attendee(s) · 0 raised hand(s)')
    user.find(marker=f'cert-link-{ann_id}').click()
    await user.should_see('Ann Example')
    await user.should_see('and completed 2 of 3 steps:')
    await services.workshops.end(teacher, info.id)
    await ann.open(f'/workshops/{info.id}/certificate')
    await ann.should_see('held on')


async def test_timeline_replay_follows_the_slider(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    teacher, info = await _workshop(services, make_account)
    await Workshop.filter(id=info.id).update(started_at=datetime.now(UTC) - timedelta(minutes=30))
    ann, bob = create_user(), create_user()
    await _join(ann, info.join_code, 'Ann')
    await _join(bob, info.join_code, 'Bob')
    bob.find(marker='tick-0').click()
    live = services.workshops.live[info.id]
    await _eventually(lambda: any(a.done for a in live.attendees.values()))
    bob.find(marker='hand-message').type('lost at step 2')
    bob.find(marker='raise-hand').click()
    await bob.should_see('Your hand is raised')
    await _eventually(lambda: bool(services.workshops.live[info.id].hands))
    await WorkshopMembership.filter(workshop_id=info.id).update(joined_at=datetime.now(UTC) - timedelta(minutes=20))

    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}/timeline')
    await user.should_see('2 attendee(s) · 1 raised hand(s)')
    await user.should_see('The class got stuck most at: Make a prompt')
    [hand] = next(iter(user.find(marker='tl-hands').elements)).rows
    assert (hand['name'], hand['step'], hand['message'], hand['resolved']) == (
        'Bob',
        'Make a prompt',
        'lost at step 2',
        'open',
    )
    chart = next(iter(user.find(marker='tl-chart').elements))
    series = {s['name']: s['data'] for s in chart.options['series']}
    assert series['attendees'][0] == 0 and series['attendees'][-1] == 2 and series['steps completed'][-1] == 1
    moment = next(iter(user.find(marker='tl-moment').elements))
    assert '2 attendee(s), 1 step(s) done, 1 hand(s) up' in moment.text
    slider = next(iter(user.find(marker='tl-slider').elements))
    slider.value = 0  # back to the start of the session
    await _eventually(lambda: moment.text.startswith('minute 0: 0 attendee(s), 0 step(s) done'))
    steps_chart = next(iter(user.find(marker='tl-steps').elements))
    assert steps_chart.options['series'][0]['data'] == [0, 0, 0]
    assert isinstance(steps_chart, ui.echart)
    assert await RaisedHand.filter(state=HandState.RAISED).count() == 1
    # attendees cannot open the replay
    await ann.open(f'/workshops/{info.id}/timeline')
    await ann.should_see('This page needs the instructor role.')
    assert teacher
