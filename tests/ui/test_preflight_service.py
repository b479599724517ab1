"""Ready to teach (the pre-flight service) against the Ollama test server: missing models reported, pull and warm-up
on every host, warm-up metrics, host down, permissions, the catalogue fallback and the keep-alive of live workshops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from nicegui.testing import User

from models import ModelCall
from services.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from services.wiring import Services
from services.workshops.preflight import PreflightReport
from tests.ollama_server import OllamaTestServer


@pytest.fixture
def second_server() -> Iterator[OllamaTestServer]:
    server = OllamaTestServer().start()
    yield server
    server.stop()


async def _people(services: Services, make_account) -> tuple[int, int, int]:
    admin = await make_account('admin@example.org', 'Admin')
    teacher = await make_account('teach@example.org', 'Teacher', role='instructor')
    other = await make_account('other@example.org', 'Other', role='instructor')
    return admin, teacher, other


def _loaded(server: OllamaTestServer) -> set[str]:
    return {entry['name'] for entry in server._ps_entries()}


async def _eventually(check: Callable[[], bool], seconds: float = 8.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError('condition not met in time')


async def test_missing_models_are_pulled_and_everything_warmed_on_every_host(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer, second_server: OllamaTestServer
) -> None:
    admin, teacher, _ = await _people(services, make_account)
    await services.hosts.add_host(admin, 'Second', second_server.url)
    info = await services.workshops.create(teacher, 'Intro', allowed_models=['tinyllama', 'llama3.2'])
    preflight = services.preflight

    report = await preflight.check(teacher, info.id)
    assert report.source == 'allowed' and report.models == ['llama3.2:latest', 'tinyllama:latest']
    assert [h.url for h in report.hosts] == [ollama_server.url, second_server.url]
    assert all(h.up for h in report.hosts)
    for host in (ollama_server.url, second_server.url):
        missing, there = report.check_of('tinyllama:latest', host), report.check_of('llama3.2:latest', host)
        assert (missing.pulled, missing.loaded) == (False, False)
        assert (there.pulled, there.loaded) == (True, False)
    assert not report.ready
    assert 'tinyllama:latest is missing on Default.' in report.problems()
    assert report.summary().startswith('Not ready yet: ')

    seen: list[PreflightReport] = []
    preflight.changed.subscribe(seen.append)
    ollama_server.pull_delay = second_server.pull_delay = 0.03
    started = await preflight.start(teacher, info.id)
    assert started.running
    with pytest.raises(Conflict, match='already running'):
        await preflight.start(teacher, info.id)
    final = await preflight.wait(info.id)

    assert final is not None and final.ready and not final.running, final.problems()
    assert final.summary() == 'Ready to teach: 2 model(s) pulled and loaded on 2 host(s).'
    for check in final.checks:
        assert check.pulled and check.loaded and check.phase == 'done' and check.progress == 1.0
        assert check.load_s and check.load_s > 0  # Ollama's load_duration of the warm-up
        assert check.ttft_s is not None and check.ttft_s >= 0
        assert check.tokens_per_s and check.tokens_per_s > 0
    for server in (ollama_server, second_server):
        assert {'tinyllama:latest', 'llama3.2:latest'} <= _loaded(server)
        assert server.find('tinyllama') is not None
        warmups = [r for r in server.requests if r.get('path') == '/api/chat']
        assert warmups and all(r['body'].get('keep_alive') == '30m' for r in warmups)
    # progress went through pulling and warming, live
    phases = {c.phase for r in seen for c in r.checks}
    assert {'queued', 'pulling', 'warming', 'done'} <= phases
    assert any(0 < c.progress < 1 and c.phase == 'pulling' for r in seen for c in r.checks)
    # staff/system calls: recorded as workshop checks, never counted
    rows = await ModelCall.filter(purpose='workshop_check')
    assert len(rows) == 4 and not any(r.counted for r in rows) and {r.user_id for r in rows} == {teacher}
    # a fresh check keeps the measurements
    again = await preflight.check(teacher, info.id)
    assert again.ready and all(c.tokens_per_s for c in again.checks)
    # and the forecast uses the slots of both hosts
    [llama, tiny] = preflight.forecasts(again, 30)
    assert llama.forecast is not None
    assert tiny.forecast is not None and tiny.forecast.slots == 2 * services.calls.room.default_slots
    assert 'With 30 attendee(s) each asking about once a minute for ~200 tokens' in tiny.forecast.message


async def test_host_down_and_unknown_models_are_reported(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer, second_server: OllamaTestServer
) -> None:
    admin, teacher, _ = await _people(services, make_account)
    await services.hosts.add_host(admin, 'Broken', second_server.url)
    second_server.go_down()
    info = await services.workshops.create(teacher, 'Intro', allowed_models=['llama3.2', 'no-such-model'])
    report = await services.preflight.check(teacher, info.id)
    down = next(h for h in report.hosts if h.label == 'Broken')
    assert down.up is False and 'not reachable' in down.error
    assert report.check_of('llama3.2:latest', second_server.url).phase == 'down'
    assert any(p.startswith('Broken') and 'is down' in p for p in report.problems())

    await services.preflight.start(teacher, info.id)
    final = await services.preflight.wait(info.id)
    assert final is not None and not final.ready
    ok = final.check_of('llama3.2:latest', ollama_server.url)
    assert ok.ready and ok.tokens_per_s
    missing = final.check_of('no-such-model:latest', ollama_server.url)
    assert missing.phase == 'failed' and not missing.pulled
    assert 'was not found in the model registry' in missing.error
    assert final.check_of('no-such-model:latest', second_server.url).phase == 'down'
    [llama, nothing] = services.preflight.forecasts(final, 10)
    assert llama.forecast is not None and llama.forecast.slots == services.calls.room.default_slots
    assert nothing.forecast is None and nothing.reason == 'Not pulled on any host that answers.'


async def test_only_the_workshops_managers_may_check_or_warm(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    admin, teacher, other = await _people(services, make_account)
    info = await services.workshops.create(teacher, 'Intro', allowed_models=['tinyllama'])
    await services.workshops.start(teacher, info.id)
    attendee = (await services.workshops.join(info.join_code, 'Ann', client_address='1.2.3.4')).user_id
    preflight = services.preflight
    for attempt in (preflight.check, preflight.start, preflight.view):
        with pytest.raises(PermissionDenied):
            await attempt(attendee, info.id)
        with pytest.raises(NotFound):
            await attempt(other, info.id)
    assert ollama_server.find('tinyllama') is None  # nothing was pulled
    report = await preflight.check(admin, info.id)  # admins manage every workshop
    assert report.attendees == 1 and report.workshop_state == 'live'


async def test_a_workshop_that_allows_every_model_checks_the_catalogues_chat_models(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    _, teacher, _ = await _people(services, make_account)
    info = await services.workshops.create(teacher, 'Open')
    report = await services.preflight.check(teacher, info.id)
    assert report.source == 'catalogue'
    assert report.models == ['llama3.2:latest', 'llava:7b', 'qwen3:0.6b']  # no embedding model
    assert 'allows every model' in report.note and 'all 3' in report.note
    services.preflight.max_models = 2
    capped = await services.preflight.check(teacher, info.id)
    assert capped.models == ['llama3.2:latest', 'llava:7b'] and 'the first 2 of 3' in capped.note
    # no chat model at all: an empty state that says what to do, and nothing to start
    for name in ('llama3.2:latest', 'llava:7b', 'qwen3:0.6b'):
        ollama_server.remove_model(name)
    await services.catalogue.refresh()
    empty = await services.preflight.check(teacher, info.id)
    assert empty.source == 'none' and empty.models == [] and not empty.checks and not empty.ready
    assert 'the catalogue has no chat model yet' in empty.note
    with pytest.raises(InvalidInput, match='no chat model'):
        await services.preflight.start(teacher, info.id)


async def test_an_embedding_model_is_warmed_with_an_embedding(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    _, teacher, _ = await _people(services, make_account)
    info = await services.workshops.create(teacher, 'RAG', allowed_models=['nomic-embed-text'])
    await services.preflight.start(teacher, info.id)
    final = await services.preflight.wait(info.id)
    assert final is not None and final.ready
    [check] = final.checks
    assert check.embedding and check.tokens_per_s is None
    assert [r['path'] for r in ollama_server.requests if r['path'] in ('/api/embed', '/api/chat')] == ['/api/embed']
    [item] = services.preflight.forecasts(final, 10)
    assert item.forecast is None and 'embedding' in item.reason


async def test_a_live_workshop_keeps_its_models_loaded(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    _, teacher, _ = await _people(services, make_account)
    services.workshops.sample_seconds = 0.2
    services.preflight.rewarm_seconds = 0.0
    info = await services.workshops.create(teacher, 'Live', allowed_models=['llama3.2'])
    report = await services.preflight.check(teacher, info.id)
    assert report.check_of('llama3.2:latest', ollama_server.url).loaded is False
    await services.workshops.start(teacher, info.id)
    await services.workshops.live_state(info.id)  # the sampler runs from here
    await _eventually(lambda: 'llama3.2:latest' in _loaded(ollama_server))
    assert services.preflight.rewarmed >= 1
    # the open panel's report follows the samples
    panel = services.preflight._reports[info.id]
    await _eventually(lambda: panel.check_of('llama3.2:latest', ollama_server.url).loaded)
    # unloaded behind our back (another model pushed it out): warmed again
    ollama_server._unload('llama3.2:latest')
    before = services.preflight.rewarmed
    await _eventually(lambda: services.preflight.rewarmed > before and 'llama3.2:latest' in _loaded(ollama_server))
    rows = await ModelCall.filter(purpose='workshop_check', kind='chat')
    assert rows and all(r.user_id is None and not r.counted for r in rows)
    chats = [r for r in ollama_server.requests if r.get('path') == '/api/chat']
    assert chats and chats[-1]['body'].get('keep_alive') == '30m'
    await services.workshops.end(teacher, info.id)
