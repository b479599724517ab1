"""Attendees who keep who they are (issue 18 item 1), in several simulated browsers: the resume code on another device,
the remembered device after the session ended, merging two attendees, and every link a step or resource shows."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui
from nicegui.testing import User

from models import StepProgress, WorkshopMembership
from services.core import sessions
from services.prompts.library import PromptDraft
from services.tools.library import ToolDraft
from services.wiring import Services
from services.workshops.rules import RULES
from tests.ui.conftest import sign_in
from tests.ui.test_workshops import _eventually, _join, _workshop


def _text(browser: User, marker: str) -> str:
    return next(iter(browser.find(marker=marker).elements)).text


def _checked(browser: User, marker: str) -> bool:
    return bool(next(iter(browser.find(marker=marker).elements)).value)


async def test_resume_code_brings_the_attendee_back_on_another_device(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    _, info = await _workshop(services, make_account)
    laptop = create_user()
    await _join(laptop, info.join_code, 'Ann')
    await laptop.should_see('Your resume code')
    code = _text(laptop, 'resume-code-shown')
    assert len(code) == 14 and code.count('-') == 2
    laptop.find(marker='tick-2').click()
    await _eventually(lambda: _checked(laptop, 'tick-2'))

    # a wrong code is refused and counted like a wrong join code
    phone = create_user()
    await phone.open('/join')
    phone.find(marker='tab-resume').click()
    phone.find(marker='resume-code').type('AAAA-BBBB-CCCC')
    phone.find(marker='resume-submit').click()
    await phone.should_see('No attendee has this resume code')
    assert sum(len(v) for v in services.workshops.join_throttle._failures.values()) == 1
    # the right one (typed in lower case, without dashes) signs the phone into Ann's account and workshop
    phone.find(marker='resume-code').clear().type(code.replace('-', ' ').lower())
    phone.find(marker='resume-submit').click()
    await phone.should_see('Step 1 of 3', retries=50)
    await phone.should_see(code)
    assert _checked(phone, 'tick-2')  # the progress made on the laptop
    assert await WorkshopMembership.filter(workshop_id=info.id).count() == 1
    [ann] = services.workshops.live[info.id].attendees.values()
    assert ann.name == 'Ann'

    # an instructor has no resume code: they sign in with their password
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}')
    await user.should_not_see('Your resume code')


async def test_a_remembered_device_signs_the_attendee_in_after_the_browser_closed(
    create_user: Callable[[], User], services: Services, make_account
) -> None:
    _, info = await _workshop(services, make_account)
    browser = create_user()
    await _join(browser, info.join_code, 'Bea')
    assert browser.http_client.cookies.get(sessions.DEVICE_COOKIE)
    code = _text(browser, 'resume-code-shown')

    # the browser is closed: its session is gone, the long-lived device cookie stays
    browser.http_client.cookies.delete('session')
    await browser.open('/join')
    await browser.should_see('Step 1 of 3', retries=50)
    await browser.should_see(code)  # the same account, back in its workshop
    browser.http_client.cookies.delete('session')
    await browser.open(f'/workshops/{info.id}')
    await browser.should_see(code)
    assert await WorkshopMembership.filter(workshop_id=info.id).count() == 1

    # signing out makes the browser forget the attendee
    response = await browser.http_client.post('/logout', headers={'origin': 'http://test'})
    assert response.status_code == 303
    assert not browser.http_client.cookies.get(sessions.DEVICE_COOKIE)
    await browser.open('/join')
    await browser.should_see('Your name (shown to the instructors)')

    # a forged device cookie is dropped and leads to the join form
    stranger = create_user()
    stranger.http_client.cookies.set(sessions.DEVICE_COOKIE, 'forged-token')
    await stranger.open('/join')
    await stranger.should_see('Your name (shown to the instructors)')


async def test_instructor_merges_two_attendees_who_are_the_same_person(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    teacher, info = await _workshop(services, make_account)
    laptop, phone = create_user(), create_user()
    await _join(laptop, info.join_code, 'Cleo')
    await _join(phone, info.join_code, 'Cleo phone')
    phone.find(marker='tick-2').click()
    phone.find(marker='hand-message').type('is this right?')
    phone.find(marker='raise-hand').click()
    await phone.should_see('Your hand is raised')
    live = services.workshops.live[info.id]
    ids = {a.name: a.user_id for a in live.attendees.values()}
    code = _text(laptop, 'resume-code-shown')

    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}')
    await user.should_see('Merge attendees')
    user.find(marker='merge-keep').elements.pop().value = ids['Cleo']
    user.find(marker='merge-drop').elements.pop().value = ids['Cleo']
    user.find(marker='merge-submit').click()
    await user.should_see('Pick two different attendees')
    user.find(marker='merge-drop').elements.pop().value = ids['Cleo phone']
    user.find(marker='merge-submit').click()
    await user.should_see('Merge these attendees?')
    user.find(marker='confirm').click()

    await _eventually(lambda: list(live.attendees) == [ids['Cleo']])
    memberships = await WorkshopMembership.filter(workshop_id=info.id).values_list('user_id', flat=True)
    assert memberships == [ids['Cleo']]
    step = await services.workshops.steps(info.id)
    assert await StepProgress.filter(membership__user_id=ids['Cleo'], step_id=step[2].id).exists()
    [hand] = live.hands.values()
    assert hand['user_id'] == ids['Cleo'] and hand['name'] == 'Cleo'
    recent = await services.workshops.attendee_activity(teacher, info.id, ids['Cleo'])
    assert any(a.action == 'workshop_join' and a.details.get('new_account') for a in recent[:2])
    # the laptop sees the step ticked on the phone; the phone (its remembered device) goes on as Cleo
    await _eventually(lambda: _checked(laptop, 'tick-2'))
    await phone.open(f'/workshops/{info.id}')
    await phone.should_see(code, retries=50)
    await phone.should_see('Your hand is raised')
    assert not (await services.auth.get_user(ids['Cleo phone']))


async def test_every_link_a_step_or_shared_resource_shows_opens_a_real_page(
    user: User, services: Services, make_account
) -> None:
    teacher, info = await _workshop(services, make_account)
    wid = info.id
    for rule in RULES:
        await services.workshops.add_step(teacher, wid, f'Step for {rule.key}', 'Do it.', rule.key)
    prompt = await services.prompts.create(
        teacher, PromptDraft(name='Greeting', user_template='Hello there', visibility='workshop', workshop_id=wid)
    )
    tool = await services.tools.create(
        teacher,
        ToolDraft(
            name='weather',
            description='Weather',
            config={'response': {'sky': 'sunny'}},
            visibility='workshop',
            workshop_id=wid,
        ),
    )
    kb = await services.knowledge.create_kb(
        teacher, name='Camelids', embedding_model='nomic-embed-text:latest', visibility='workshop', workshop_id=wid
    )
    rag = await services.rag.create(
        teacher, name='Ask llamas', kb_ids=[kb.id], chat_model='llama3.2:latest', visibility='workshop', workshop_id=wid
    )
    for kind, rid in (('prompt', prompt.id), ('tool', tool.id), ('knowledge', kb.id), ('rag', rag.id)):
        await services.workshops.add_resource(teacher, wid, kind, rid, f'the {kind}')

    await user.open('/join')
    user.find(marker='join-code').type(info.join_code)
    user.find(marker='join-name').type('Walker')
    user.find(marker='join-submit').click()
    await user.should_see(f'Step 1 of {3 + len(RULES)}', retries=50)
    view = await services.workshops.attendee_view(next(iter(services.workshops.live[wid].attendees)), wid)
    links = [s.link for s in view.workshop.steps if s.link] + [r.link for r in view.workshop.resources]
    assert {s.rule['key'] for s in view.workshop.steps if s.rule and s.link} == {r.key for r in RULES}
    assert len(view.workshop.resources) == 4
    for link in sorted(set(links)):
        await user.open(link)  # asserts HTTP 200 and a page (a 404 fails here)
        assert not any('No such' in getattr(e, 'text', '') for e in user.find(ui.label).elements), link
