"""Workshop flow in real Chromium: an instructor and an attendee in two browser contexts. Screenshots of the dashboard
are saved to test-artifacts/.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page

from tests.e2e.conftest import LiveApp, screenshot, sign_up


def test_instructor_and_attendee_in_chromium(live_app: LiveApp, new_page) -> None:
    app_url = live_app.url
    teacher: Page = new_page((1400, 1000))
    # the first account is an admin, who may run workshops
    sign_up(teacher, live_app, 'Teacher', 'teach@example.org')

    teacher.goto(f'{app_url}/workshops')
    teacher.get_by_role('button', name='New workshop').click()
    teacher.get_by_label('Title').fill('Browser workshop')
    teacher.get_by_role('button', name='Create', exact=True).click()
    teacher.get_by_label('Step title').fill('Say hello')
    teacher.get_by_label('Instructions (markdown)').fill('Open the **chat** and greet the model.')
    teacher.get_by_role('button', name='Add step').click()
    teacher.get_by_text('1. Say hello').wait_for()
    teacher.get_by_role('button', name='Start workshop').click()
    teacher.get_by_role('button', name='Open dashboard').click()
    code = teacher.get_by_text(re.compile(r'^[A-HJ-NP-Z2-9]{6}$')).first.inner_text()

    attendee = new_page()
    attendee.goto(f'{app_url}/join')
    attendee.get_by_label('Join code').fill(code.lower())
    attendee.get_by_label('Your name').fill('Ann')
    attendee.get_by_role('button', name='Join').click()
    attendee.get_by_text('Step 1 of 1: Say hello').wait_for()
    attendee.get_by_text('see your workshop activity').wait_for()

    teacher.get_by_role('cell', name='Ann').first.wait_for()
    teacher.get_by_text('online').first.wait_for()
    attendee.get_by_role('checkbox', name='Say hello').click()
    teacher.get_by_text('Say hello: 1/1 done').wait_for()

    attendee.get_by_label('Question (optional)').fill('Which model should I use?')
    attendee.get_by_role('button', name='Raise hand').click()
    teacher.get_by_text('Which model should I use?').wait_for()
    screenshot(teacher, 'workshop-dashboard')
    teacher.get_by_role('button', name='Resolve').click()
    attendee.get_by_text('Your question was resolved.').wait_for()

    # a second attendee whose browser asks for German
    german = attendee.context.browser.new_context(locale='de-DE', viewport={'width': 1366, 'height': 800})
    berta = german.new_page()
    berta.set_default_timeout(15_000)
    berta.goto(f'{app_url}/join')
    berta.get_by_label('Teilnahmecode').fill(code)
    berta.get_by_label('Ihr Name').fill('Berta')
    berta.get_by_role('button', name='Teilnehmen').click()
    berta.get_by_text('Schritt 1 von 1: Say hello').wait_for()

    teacher.get_by_label('Announcement to everyone').fill('Break until 11:00')
    teacher.get_by_role('button', name='Broadcast').click()
    attendee.get_by_text('Break until 11:00').first.wait_for()
    # the toast: one room-wide message, shown once on each page, in each reader's language
    toast = attendee.locator('.q-notification', has_text='Announcement: Break until 11:00')
    toast.wait_for()
    assert toast.count() == 1
    berta.locator('.q-notification', has_text='Ankündigung: Break until 11:00').wait_for()
    assert berta.locator('.q-notification').filter(has_text='Break until 11:00').count() == 1
    screenshot(attendee, 'workshop-attendee')
    german.close()

    teacher.goto(teacher.url + '?projector=true')
    teacher.get_by_text('Attendee 1').wait_for()
    assert teacher.get_by_role('cell', name='Ann').count() == 0
    screenshot(teacher, 'workshop-dashboard-projector')
