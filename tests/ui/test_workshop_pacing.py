"""Pacing and assistants in several simulated browsers (issue 18 items 2 and 4): an instructor, two attendees, an
assistant and the projector view, each seeing what the others do."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from nicegui import ui
from nicegui.testing import User

from services.core.errors import Conflict, PermissionDenied
from services.wiring import Services
from tests.ui.conftest import sign_in
from tests.ui.test_workshops import _eventually, _join, _workshop


def _one(browser: User, marker: str) -> ui.element:
    return next(iter(browser.find(marker=marker).elements))


async def test_paced_steps_unlock_live_with_a_timer_and_eyes_on_the_projector(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    _, info = await _workshop(services, make_account)
    ann, bob = create_user(), create_user()
    await _join(ann, info.join_code, 'Ann')
    await _join(bob, info.join_code, 'Bob')
    await ann.should_see('Make a prompt')  # open mode (the default): every step open

    # the instructor switches to paced mode on the workshop page: later steps lock on the attendees' pages at once
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}')
    user.find('Paced: I unlock the steps').click()
    await user.should_see('Pacing saved.')
    for browser in (ann, bob):
        await browser.should_see('Make a prompt (the instructor will open this)')
        assert not _one(browser, 'tick-1').enabled
    ann.find(marker='tick-1').click()  # a greyed step cannot be ticked
    assert _one(ann, 'tick-1').value is False
    ann.find('Next step').click()  # nor moved to
    await ann.should_see('Step 1 of 3')

    # unlocking on the dashboard opens step 2 for everyone, live
    await user.open(f'/workshops/{info.id}/dashboard')
    await user.should_see('1 of 3 step(s) open')
    user.find(marker='unlock-next').click()
    await user.should_see('2 of 3 step(s) open')
    for browser in (ann, bob):
        await browser.should_see('Reflect (the instructor will open this)')
        await _eventually(lambda b=browser: _one(b, 'tick-1').enabled)
    ann.find('Next step').click()
    await ann.should_see('Step 2 of 3: Make a prompt')
    await ann.should_see('Reflect (the instructor will open this)')

    # a step timer reaches every attendee and the projector view, each counting down on its own
    projector = create_user()
    await sign_in(projector, 'teach@example.org')
    await projector.open(f'/workshops/{info.id}/dashboard?projector=true')
    await projector.should_not_see(marker='timer')
    user.find(marker='timer-minutes').clear().type('5')
    user.find(marker='timer-start').click()
    for browser in (ann, bob, projector):
        await browser.should_see('Step 2: Make a prompt: 4:', retries=50)
    first = _one(ann, 'timer').text
    await _eventually(lambda: _one(ann, 'timer').text != first, seconds=3)  # it counts down
    user.find(marker='timer-stop').click()
    await ann.should_not_see(marker='timer')
    await projector.should_not_see(marker='timer')

    # eyes on the projector dims every attendee's screen, also one who joins while it is on, until released
    user.find(marker='focus-text').clear().type('Look at the big screen')
    user.find(marker='focus-on').click()
    for browser in (ann, bob):
        await browser.should_see('Look at the big screen', retries=50)
    carl = create_user()
    await _join(carl, info.join_code, 'Carl')
    await carl.should_see('Look at the big screen')
    await ann.open(f'/workshops/{info.id}')  # a reload keeps it too
    await ann.should_see('Look at the big screen')
    user.find(marker='focus-off').click()
    for browser in (ann, bob, carl):
        await browser.should_not_see('Look at the big screen', retries=50)


async def test_assistant_claims_a_hand_messages_one_attendee_and_cannot_end(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    teacher, info = await _workshop(services, make_account)
    helper_id = await make_account('help@example.org', 'Hana Helper')  # an ordinary account, not an instructor
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}')
    user.find(marker='assistant-email').type('help@example.org')
    user.find(marker='assistant-add').click()
    await user.should_see('Hana Helper assists this workshop now.')
    await user.should_see('Hana Helper (help@example.org)')
    await user.open(f'/workshops/{info.id}/dashboard')

    helper = create_user()
    await sign_in(helper, 'help@example.org')
    await helper.open(f'/workshops/{info.id}')
    await helper.should_see('You assist this workshop')
    helper.find(marker='assistant-dashboard').click()
    await helper.should_see(info.join_code)
    # the assistant's dashboard has no announcements, moves, pacing or end
    for marker in ('dash-end', 'announce-send', 'move-all', 'pacing-controls'):
        await helper.should_not_see(marker=marker)
    await helper.should_see(marker='message-box')

    ann, bob = create_user(), create_user()
    await _join(ann, info.join_code, 'Ann')
    await _join(bob, info.join_code, 'Bob')
    ann.find(marker='hand-message').type('my tool call fails')
    ann.find(marker='raise-hand').click()
    await helper.should_see('my tool call fails', retries=50)
    await user.should_see('my tool call fails', retries=50)
    hand_id = next(iter(services.workshops.live[info.id].hands))

    # the assistant claims it first: the attendee learns who is coming, the instructor sees it claimed by whom
    helper.find(marker=f'claim-{hand_id}').click()
    await ann.should_see('Hana Helper has seen your hand and is on the way.', retries=50)
    await user.should_see('Hana Helper is on the way', retries=50)
    await user.should_not_see(marker=f'claim-{hand_id}')
    # a second claim (a dashboard that had not updated yet) is refused with who has it
    ws = services.workshops
    with pytest.raises(Conflict, match='Hana Helper already claimed this hand'):
        await ws.claim_hand(teacher, info.id, hand_id)

    # a private message reaches Ann only
    helper.find(marker='message-to').click()
    helper.find('Ann').click()
    helper.find(marker='message-text').type('Check the tool URL')
    helper.find(marker='message-send').click()
    await helper.should_see('Sent to Ann.')
    await ann.should_see('Check the tool URL', retries=50)
    await bob.should_not_see('Check the tool URL')
    await ann.open(f'/workshops/{info.id}')  # still there after a reload
    await ann.should_see('Check the tool URL')

    helper.find(marker=f'resolve-{hand_id}').click()
    await ann.should_see('Your question was resolved.', retries=50)

    # the assistant cannot end the workshop: the button is absent and the service refuses
    with pytest.raises(PermissionDenied, match='As an assistant you can claim and resolve hands'):
        await ws.end(helper_id, info.id)
    assert ws.live.get(info.id) is not None
    # and a signed-in attendee who is not an assistant still cannot open the dashboard
    await bob.open(f'/workshops/{info.id}/dashboard')
    await bob.should_see('This page needs the instructor role.')
