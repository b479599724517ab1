"""The "Ready to teach" panel on a workshop's page: what is missing, one click to pull and warm up with live progress,
then ready; the forecast follows an edited number of attendees; attendees never see the panel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nicegui import ui
from nicegui.testing import User

from services.wiring import Services
from tests.ollama_server import OllamaTestServer
from tests.ui.conftest import sign_in


def _bars(user: User) -> list[ui.linear_progress]:
    return [e for e in user.find(marker='pf-progress').elements if isinstance(e, ui.linear_progress)]


async def _eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError('condition not met in time')


async def test_the_panel_pulls_and_warms_up_with_live_progress(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await make_account('admin@example.org', 'Admin')
    teacher = await make_account('teach@example.org', 'Teacher', role='instructor')
    info = await services.workshops.create(teacher, 'Intro', allowed_models=['tinyllama', 'llama3.2'])
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}')
    await user.should_see('Ready to teach')
    await user.should_see('Not ready yet: tinyllama:latest is missing on Default.', retries=100)
    await user.should_see('missing')
    await user.should_see('llama3.2:latest: Warm it up to measure its speed.')
    await user.should_not_see(marker='pf-progress')  # no bars until something runs

    ollama_server.pull_delay = 0.1  # a pull of ~2 s: long enough to watch
    ollama_server.token_delay = 0.01  # ~100 tokens/s: 200 tokens take ~2 s
    user.find(marker='preflight-run').click()
    await user.should_see('Pulling and warming up…', retries=100)
    await user.should_see('pulling', retries=100)
    bars = _bars(user)
    await _eventually(lambda: any(0 < (b.value or 0) < 1 for b in bars))  # the bar moves while the page stays
    await user.should_see('Ready to teach: 2 model(s) pulled and loaded on 1 host(s).', retries=200)
    assert all(b.value == 1 for b in _bars(user))
    await user.should_see('tokens/s')
    await user.should_see('loaded')
    assert 'tinyllama:latest' in {m['name'] for m in ollama_server._ps_entries()}

    # the forecast: each model has one; an edited number of attendees recomputes it and stops following the room
    await user.should_see(marker='forecast-tinyllama:latest')
    [attendees] = user.find(marker='forecast-attendees').elements
    [interval] = user.find(marker='forecast-interval').elements
    [follow] = user.find(marker='forecast-follow').elements
    assert follow.value is True
    await user.should_see(marker='forecast-tinyllama:latest', content='With 20 attendee(s)')  # nobody joined yet
    attendees.value = 500
    await user.should_see(marker='forecast-tinyllama:latest', content='cannot keep up', retries=50)
    await user.should_see(marker='forecast-tinyllama:latest', content='Add a host or pick a smaller model.')
    assert follow.value is False
    interval.value = 3600  # once an hour: calm
    await user.should_see(marker='forecast-tinyllama:latest', content='at p95 for tinyllama:latest', retries=50)


async def test_attendees_do_not_see_the_panel(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await make_account('admin@example.org', 'Admin')
    teacher = await make_account('teach@example.org', 'Teacher', role='instructor')
    info = await services.workshops.create(teacher, 'Intro', allowed_models=['llama3.2'])
    await services.workshops.start(teacher, info.id)
    await user.open('/join')
    user.find(marker='join-code').type(info.join_code)
    user.find(marker='join-name').type('Ann')
    user.find(marker='join-submit').click()
    await user.should_see('instructors of this workshop see your workshop activity', retries=50)
    await user.open(f'/workshops/{info.id}')
    await user.should_see('instructors of this workshop see your workshop activity')
    await user.should_not_see('Ready to teach')
    await user.should_not_see(marker='preflight-run')


async def test_the_forecast_follows_the_room_as_it_fills(
    user: User, create_user: Callable[[], User], services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await make_account('admin@example.org', 'Admin')
    teacher = await make_account('teach@example.org', 'Teacher', role='instructor')
    services.workshops.sample_seconds = 0.2
    info = await services.workshops.create(teacher, 'Live one', allowed_models=['llama3.2'])
    await services.workshops.start(teacher, info.id)
    await services.preflight.start(teacher, info.id)  # measured, so there is a forecast
    await services.preflight.wait(info.id)
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}')
    await user.should_see(marker='forecast-room', content='0 of 0 attendee(s) online now', retries=100)
    [attendees] = user.find(marker='forecast-attendees').elements
    assert attendees.value == 20  # nobody yet: a planning default

    for name in ('Ann', 'Bob'):
        browser = create_user()
        await browser.open('/join')
        browser.find(marker='join-code').type(info.join_code)
        browser.find(marker='join-name').type(name)
        browser.find(marker='join-submit').click()
        await browser.should_see('instructors of this workshop see your workshop activity', retries=50)
    await user.should_see(marker='forecast-room', content='2 of 2 attendee(s) online now', retries=100)
    assert attendees.value == 2
    await user.should_see(marker='forecast-llama3.2:latest', content='With 2 attendee(s)', retries=100)
