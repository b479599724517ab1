"""Pacing and assistants in real Chromium (issue 18 items 2 and 4): a paced workshop whose instructor unlocks a step,
runs a timer and dims the attendees' screens, and an assistant who claims a raised hand and messages the attendee.
Screenshots are saved to test-artifacts/."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveApp, screenshot, sign_up


def test_paced_workshop_with_an_assistant_in_chromium(live_app: LiveApp, new_page) -> None:
    url = live_app.url
    teacher: Page = new_page((1400, 1000))
    sign_up(teacher, live_app, 'Teacher', 'teach@example.org')  # the first account: an admin, who may teach
    helper: Page = new_page((1400, 1000))
    sign_up(helper, live_app, 'Hana Helper', 'hana@example.org')  # an ordinary account

    teacher.goto(f'{url}/workshops')
    teacher.get_by_role('button', name='New workshop').click()
    teacher.get_by_label('Title').fill('Paced workshop')
    teacher.get_by_role('button', name='Create', exact=True).click()
    for title in ('First chat', 'Parameters', 'A prompt template'):
        teacher.get_by_label('Step title').fill(title)
        teacher.get_by_role('button', name='Add step').click()
        teacher.get_by_text(re.compile(rf'^\d\. {title}$')).wait_for()
    teacher.get_by_text('Paced: I unlock the steps').click()
    teacher.get_by_text('Pacing saved.').wait_for()
    teacher.get_by_label('Assistant email').fill('hana@example.org')
    teacher.get_by_role('button', name='Add assistant').click()
    teacher.get_by_text('Hana Helper (hana@example.org)').wait_for()
    teacher.get_by_role('button', name='Start workshop').click()
    teacher.get_by_role('button', name='Open dashboard').click()
    code = teacher.get_by_text(re.compile(r'^[A-HJ-NP-Z2-9]{6}$')).first.inner_text()
    expect(teacher.get_by_text('1 of 3 step(s) open')).to_be_visible()

    ann = new_page()
    ann.goto(f'{url}/join')
    ann.get_by_label('Join code').fill(code)
    ann.get_by_label('Your name').fill('Ann')
    ann.get_by_role('button', name='Join').click()
    ann.get_by_text('Step 1 of 3: First chat').wait_for()
    expect(ann.get_by_text('Parameters (the instructor will open this)')).to_be_visible()
    expect(ann.get_by_role('button', name='Next step')).to_be_disabled()
    screenshot(ann, 'workshop-paced-attendee')

    teacher.get_by_role('button', name='Unlock next step').click()
    expect(ann.get_by_role('checkbox', name='Parameters', exact=True)).to_be_enabled()
    ann.get_by_role('button', name='Next step').click()
    ann.get_by_text('Step 2 of 3: Parameters').wait_for()

    teacher.get_by_label('Minutes').fill('3')
    teacher.get_by_role('button', name='Start timer').click()
    expect(ann.get_by_text(re.compile(r'Step 2: Parameters: 2:\d\d left'))).to_be_visible()
    teacher.get_by_label('Message while screens are dimmed').fill('Look at the projector: temperature explained')
    teacher.get_by_role('button', name='Eyes on the projector').click()
    expect(ann.get_by_text('Look at the projector: temperature explained')).to_be_visible()
    screenshot(ann, 'workshop-eyes-on-projector')
    screenshot(teacher, 'workshop-dashboard-pacing')
    teacher.get_by_role('button', name='Release screens').click()
    expect(ann.get_by_text('Look at the projector: temperature explained')).to_be_hidden()

    # the assistant claims Ann's hand; the instructor's dashboard shows who is on the way
    helper.goto(f'{url}/workshops')
    helper.get_by_text('Paced workshop').click()
    helper.get_by_role('button', name='Open dashboard').click()
    expect(helper.get_by_role('button', name='End workshop')).to_have_count(0)
    ann.get_by_label('Question (optional)').fill('What does top_p do?')
    ann.get_by_role('button', name='Raise hand').click()
    helper.get_by_text('What does top_p do?').wait_for()
    helper.get_by_role('button', name='Claim').click()
    expect(ann.get_by_text('Hana Helper has seen your hand and is on the way.')).to_be_visible()
    expect(teacher.get_by_text('Hana Helper is on the way')).to_be_visible()
    helper.get_by_label('Message to').click()
    helper.get_by_role('option', name='Ann').click()
    helper.get_by_label('Private message (only this attendee sees it)').fill('Coming over, try top_p 0.5 meanwhile')
    helper.get_by_role('button', name='Send').click()
    expect(ann.get_by_text('Coming over, try top_p 0.5 meanwhile').first).to_be_visible()
    screenshot(helper, 'workshop-assistant-dashboard')
    screenshot(ann, 'workshop-attendee-claimed')
