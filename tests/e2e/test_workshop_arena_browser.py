"""The blind arena and the results gallery in real Chromium: an instructor opens the arena and asks for a result, two
attendees submit and vote, the projector view shows the leaderboard and the chosen result. Screenshots are saved to
test-artifacts/ (workshop-arena-*.png, workshop-gallery*.png)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveApp, screenshot, sign_up


def _join(page: Page, app: LiveApp, code: str, name: str) -> None:
    page.goto(f'{app.url}/join')
    page.get_by_label('Join code').fill(code)
    page.get_by_label('Your name').fill(name)
    page.get_by_role('button', name='Join').click()
    page.get_by_text('Step 1 of 2').wait_for()


def test_arena_and_gallery_in_chromium(live_app: LiveApp, new_page) -> None:
    url = live_app.url
    teacher: Page = new_page((1400, 1000))
    sign_up(teacher, live_app, 'Teacher', 'teach@example.org')
    teacher.goto(f'{url}/workshops')
    teacher.get_by_role('button', name='New workshop').click()
    teacher.get_by_label('Title').fill('Arena workshop')
    teacher.get_by_role('button', name='Create', exact=True).click()
    teacher.get_by_label('Models attendees may use').fill('llama3.2, qwen3:0.6b')
    teacher.get_by_role('button', name='Save details').click()
    teacher.get_by_text('Saved.').first.wait_for()
    for title in ('Explain Ollama in one sentence', 'Vote in the arena'):
        teacher.get_by_label('Step title').fill(title)
        teacher.get_by_role('button', name='Add step').click()
        teacher.get_by_text(f'. {title}').wait_for()
    teacher.get_by_role('button', name='Start workshop').click()
    teacher.get_by_role('button', name='Open dashboard').wait_for()
    code = teacher.get_by_text(re.compile(r'^[A-HJ-NP-Z2-9]{6}$')).first.inner_text()

    # the arena models, and a result asked for at step 1
    teacher.get_by_role('button', name='Arena').click()
    teacher.get_by_label('Models (2 or more)').click()
    teacher.get_by_role('option', name='llama3.2:latest').click()
    teacher.get_by_role('option', name='qwen3:0.6b').click()
    teacher.keyboard.press('Escape')
    teacher.get_by_role('button', name='Save arena models').click()
    teacher.get_by_text('The arena is open with these models.').wait_for()
    teacher.goto(url + teacher.url.removeprefix(url).replace('/arena', '/gallery'))
    teacher.get_by_label('Attendees submit').first.click()
    teacher.get_by_role('option', name='an answer').click()
    teacher.get_by_text('Saved.').first.wait_for()

    ann, bob = new_page(), new_page()
    _join(ann, live_app, code, 'Ann Secretname')
    _join(bob, live_app, code, 'Bob Proud')
    ann.get_by_label('Your answer').fill('Ollama serves open models on my own laptop.')
    ann.get_by_role('button', name='Submit').click()
    ann.get_by_text('Submitted.').wait_for()
    bob.get_by_label('Your answer').fill('A local server for LLMs.')
    bob.get_by_role('checkbox', name=re.compile('Show my name')).click()
    bob.get_by_role('button', name='Submit').click()
    bob.get_by_text('Submitted.').wait_for()
    screenshot(ann, 'workshop-gallery-attendee')

    for page, prompt, vote in ((ann, 'What is a token?', 'A is better'), (bob, 'What is quantization?', 'Tie')):
        page.get_by_text('Blind arena').click()
        page.get_by_placeholder('Your prompt').fill(prompt)
        page.get_by_role('button', name='Send to A and B').click()
        page.get_by_role('button', name=vote).wait_for()
        body = page.locator('body').inner_html()
        assert 'llama3.2' not in body and 'qwen3' not in body  # blind until the vote
        if page is ann:
            screenshot(page, 'workshop-arena-battle')
        page.get_by_role('button', name=vote).click()
        page.get_by_text('You voted').wait_for()
        expect(page.get_by_text(re.compile(r'A was (llama3\.2:latest|qwen3:0\.6b)'))).to_be_visible()
    screenshot(ann, 'workshop-arena-revealed')

    projector = teacher.context.new_page()  # the instructor's second tab, on the projector
    projector.goto(teacher.url.replace('/gallery', '/dashboard?projector=true'))
    projector.get_by_text('Arena leaderboard').wait_for()
    # Ann: A wins (1016 / 984); Bob: a tie between the same two (1014.5 / 985.5)
    projector.get_by_role('cell', name='1015', exact=True).wait_for()
    projector.get_by_role('cell', name='985', exact=True).wait_for()
    teacher.reload()
    for text in ('Ollama serves open models on my own laptop.', 'A local server for LLMs.'):
        teacher.get_by_text(text).wait_for()
    for text in ('Ollama serves open models on my own laptop.', 'A local server for LLMs.'):
        teacher.get_by_role('button', name='Show on projector').first.click()  # the list is redrawn after each
        projector.get_by_text(text).wait_for()
    expect(projector.get_by_text('Bob Proud')).to_be_visible()
    assert projector.get_by_text('Ann Secretname').count() == 0
    screenshot(teacher, 'workshop-gallery')
    screenshot(projector, 'workshop-arena-projector')
