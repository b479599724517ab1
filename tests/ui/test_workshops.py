"""Workshops in several simulated browsers: joining, the live dashboard, hands, broadcasts, ending, throttling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from nicegui import ui
from nicegui.testing import User

from services.core import actions
from services.models.callers import Purpose
from services.wiring import Services
from tests.ui.conftest import sign_in


async def _workshop(services: Services, make_account) -> tuple[int, Any]:
    await make_account('admin@example.org', 'Admin')
    teacher = await make_account('teach@example.org', 'Teacher', role='instructor')
    ws = services.workshops
    info = await ws.create(teacher, 'Intro to Ollama')
    await ws.add_step(teacher, info.id, 'Say hello', 'Open the **chat** <img src=x onerror=alert(1)>', 'chat')
    await ws.add_step(teacher, info.id, 'Make a prompt', 'Use a variable', 'prompt_variable')
    await ws.add_step(teacher, info.id, 'Reflect', 'Tick when done')
    await ws.start(teacher, info.id)
    return teacher, info


async def _join(browser: User, code: str, name: str) -> None:
    await browser.open('/join')
    browser.find(marker='join-code').type(code.lower())
    browser.find(marker='join-name').type(name)
    browser.find(marker='join-submit').click()
    await browser.should_see('Step 1 of 3', retries=50)


def _matrix(browser: User) -> list[dict]:
    """All rows of the progress matrix (several tables of up to 50 rows each)."""
    tables = browser.find(marker='matrix').elements
    assert all(isinstance(t, ui.table) for t in tables)
    return [row for table in tables for row in table.rows]


async def _eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError('condition not met in time')


def _row(browser: User, name: str) -> dict | None:
    return next((r for r in _matrix(browser) if r['name'] == name), None)


async def test_join_progress_and_hands_on_the_dashboard(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    _, info = await _workshop(services, make_account)
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}/dashboard')
    await user.should_see(info.join_code)

    ann = create_user()
    await _join(ann, info.join_code, 'Ann')
    await ann.should_see('instructors of this workshop see your workshop activity')
    await _eventually(lambda: _row(user, 'Ann') is not None)
    await _eventually(lambda: _row(user, 'Ann')['presence'] == 'online')

    # a manual tick and an automatic completion (a chat recorded for Ann) both reach the matrix
    ann.find(marker='tick-2').click()
    await _eventually(lambda: _row(user, 'Ann')['s2'] == '✔')
    ann_id = _row(user, 'Ann')['id']
    await services.activity.record(ann_id, actions.CHAT, model='llama3.2:latest', tokens=10, latency_ms=20)
    await _eventually(lambda: _row(user, 'Ann')['s0'] == '⚡')
    await user.should_see('Say hello: 1/1 done')
    tick = next(iter(ann.find(marker='tick-0').elements))
    await _eventually(lambda: tick.value is True)

    # a raised hand reaches the instructor; its resolution reaches the attendee
    ann.find(marker='hand-message').type('my model does not answer')
    ann.find(marker='raise-hand').click()
    await user.should_see('my model does not answer', retries=50)
    hand_id = next(iter(services.workshops.live[info.id].hands))
    user.find(marker=f'resolve-{hand_id}').click()
    await ann.should_see('Your question was resolved.', retries=50)
    assert services.workshops.live[info.id].hands == {}


async def test_broadcast_reaches_every_attendee_and_end_refuses_joins(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    _, info = await _workshop(services, make_account)
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}/dashboard')
    browsers = [create_user() for _ in range(3)]
    for i, browser in enumerate(browsers):
        await _join(browser, info.join_code, f'Attendee{i}')
    user.find(marker='announce-text').type('Break until 11:00 <script>alert(1)</script>')
    user.find(marker='announce-send').click()
    for browser in browsers:
        await browser.should_see('Break until 11:00', retries=50)
    user.find(marker='move-all').click()
    for browser in browsers:
        await browser.should_see('Step 1 of 3')

    user.find(marker='dash-end').click()
    await user.should_see('End the workshop?')
    user.find(marker='confirm').click()
    await browsers[0].should_see('This workshop has ended', retries=50)
    late = create_user()
    await late.open('/join')
    late.find(marker='join-code').type(info.join_code)
    late.find(marker='join-name').type('Late')
    late.find(marker='join-submit').click()
    await late.should_see('This workshop has ended and no longer takes attendees', retries=50)


async def test_attendee_cannot_open_the_dashboard_or_other_workshops(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    _, info = await _workshop(services, make_account)
    await _join(user, info.join_code, 'Mallory')
    await user.open(f'/workshops/{info.id}/dashboard')
    await user.should_see('This page needs the instructor role.')
    await user.open(f'/workshops/{info.id}/summary')
    await user.should_see('This page needs the instructor role.')
    other = await make_account('other@example.org', 'Other', role='instructor')
    foreign = await services.workshops.create(other, 'Secret workshop')
    await user.open(f'/workshops/{foreign.id}')
    await user.should_see('No such workshop.')
    response = await user.http_client.get(f'/workshops/{info.id}/export.json')
    assert response.status_code == 403
    await user.open('/workshops')
    await user.should_see('Intro to Ollama')
    await user.should_not_see('Secret workshop')
    await user.should_not_see(info.join_code)  # attendees never see the code list of managers


async def test_wrong_join_code_is_throttled(user: User, services: Services, make_account) -> None:
    _, info = await _workshop(services, make_account)
    await user.open('/join')
    throttle = services.workshops.join_throttle
    for i in range(throttle.free):
        user.find(marker='join-code').clear().type('NOPE42')
        user.find(marker='join-name').clear().type('Eve')
        user.find(marker='join-submit').click()
        await _eventually(lambda n=i + 1: sum(len(v) for v in throttle._failures.values()) == n)
    await user.should_see('No workshop has this code')
    user.find(marker='join-code').clear().type(info.join_code)
    user.find(marker='join-submit').click()
    await user.should_see('Too many wrong join codes', retries=30)


async def test_summary_and_export(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    _, info = await _workshop(services, make_account)
    ann = create_user()
    await _join(ann, info.join_code, '=HYPERLINK("x")')
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}/summary')
    await user.should_see('1 attendee(s)')
    csv_text = (await user.http_client.get(f'/workshops/{info.id}/export.csv')).text
    assert 'Say hello' in csv_text and "'=HYPERLINK" in csv_text
    data = (await user.http_client.get(f'/workshops/{info.id}/export.json')).json()
    assert data['attendees'][0]['name'] == '=HYPERLINK("x")'
    assert [s['title'] for s in data['steps']] == ['Say hello', 'Make a prompt', 'Reflect']


async def test_projector_mode_hides_names_and_drill_down_shows_activity(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    teacher, info = await _workshop(services, make_account)
    ann = create_user()
    await _join(ann, info.join_code, 'Ann Secretname')
    ann_id = next(iter(services.workshops.live[info.id].attendees))
    await services.activity.record(ann_id, actions.CHAT, model='qwen3:0.6b', error='model crashed')
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}/dashboard?projector=true')
    await user.should_see(info.join_code)
    await user.should_not_see('Ann Secretname')
    columns = next(iter(user.find(marker='matrix').elements)).columns
    assert columns[0]['field'] == 'alias' and not any(c['field'] == 'requests' for c in columns)
    await user.open(f'/workshops/{info.id}/dashboard')
    errors = next(iter(user.find(marker='errors').elements))
    assert [r['error'] for r in errors.rows] == ['model crashed']
    recent = await services.workshops.attendee_activity(teacher, info.id, ann_id)
    assert recent[0].error == 'model crashed'


async def test_matrix_is_split_into_tables_and_only_the_changed_one_updates(
    user: User, services: Services, make_account
) -> None:
    _, info = await _workshop(services, make_account)
    ids = [(await services.workshops.join(info.join_code, f'P{i}')).user_id for i in range(55)]
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}/dashboard')
    tables = list(user.find(marker='matrix').elements)
    assert sorted(len(t.rows) for t in tables) == [5, 50]
    step = services.workshops.live[info.id].steps[2]['id']
    await services.workshops.tick(ids[53], info.id, step, True)
    await _eventually(lambda: _row(user, 'P53')['s2'] == '✔')
    assert len(_matrix(user)) == 55


async def test_the_dashboard_shows_the_room(
    user: User, create_user: Callable[[], User], services: Services, make_account, ollama_server
) -> None:
    services.workshops.sample_seconds = 0.3
    services.calls.room.default_slots = 1  # one generation at a time: a second call waits
    _, info = await _workshop(services, make_account)
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}/dashboard')
    ann, bob = create_user(), create_user()
    await _join(ann, info.join_code, 'Ann')
    await _join(bob, info.join_code, 'Bob')
    await _eventually(lambda: _row(user, 'Bob') is not None)
    ann_id, bob_id = _row(user, 'Ann')['id'], _row(user, 'Bob')['id']

    ollama_server.token_delay = 0.05
    ollama_server.response_tokens = 200
    hello = [{'role': 'user', 'content': 'Hello'}]
    stream = await services.calls.chat_stream(
        await services.calls.caller(ann_id), Purpose.PLAYGROUND, model='llama3.2', messages=hello
    )
    await anext(stream)
    waiting = asyncio.create_task(
        services.calls.chat_stream(
            await services.calls.caller(bob_id), Purpose.PLAYGROUND, model='llama3.2', messages=hello
        )
    )
    await user.should_see('slots 1/1 in use, 1 waiting', retries=100)
    await user.should_see('Waiting for a slot:', retries=50)
    await user.should_see('Bob (', retries=50)
    await stream.aclose()  # Ann's reply ends: Bob's call gets the slot
    second = await asyncio.wait_for(waiting, 5)
    await second.aclose()
    await user.should_see('slots 0/1 in use, 0 waiting', retries=100)
