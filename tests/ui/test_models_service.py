"""Hosts, catalogue and model management through the services (the same calls UI events and the API make)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.core import actions
from services.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from services.wiring import Services
from tests.ollama_server import OllamaTestServer


async def test_hosts_seeded_from_settings_and_managed_by_admins(
    services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    admin = await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    hosts = await services.health.check_hosts(admin)
    assert [(h.label, h.url, h.enabled) for h in hosts] == [('Default', ollama_server.url, True)]
    assert hosts[0].status.ok and hosts[0].status.version and hosts[0].status.latency_ms is not None

    added = await services.hosts.add_host(admin, 'Second', 'http://127.0.0.1:9/')
    assert added.url == 'http://127.0.0.1:9'
    assert await services.hosts.urls() == [ollama_server.url, 'http://127.0.0.1:9']
    status = await services.health.check_host(admin, added.id)
    assert not status.ok and 'not reachable' in status.error
    await services.hosts.update_host(admin, added.id, enabled=False)
    assert await services.hosts.urls() == [ollama_server.url]
    with pytest.raises(Conflict):
        await services.hosts.add_host(admin, 'Again', ollama_server.url + '/')
    with pytest.raises(InvalidInput, match='user name or password'):
        await services.hosts.add_host(admin, 'Trick', 'http://ollama.example.org@169.254.169.254')
    with pytest.raises(InvalidInput, match='Only http'):
        await services.hosts.add_host(admin, 'File', 'file:///etc/passwd')
    for attempt in (
        services.hosts.add_host(bob, 'Mine', 'http://10.0.0.1:11434'),
        services.hosts.update_host(bob, added.id, enabled=True),
        services.hosts.delete_host(bob, added.id),
        services.hosts.list_hosts(bob),
    ):
        with pytest.raises(PermissionDenied):
            await attempt
    await services.hosts.delete_host(admin, added.id)
    assert [h.url for h in await services.hosts.list_hosts(admin)] == [ollama_server.url]


async def test_catalogue_lists_models_with_capabilities_and_filters(services: Services, make_account) -> None:
    user = await make_account('ada@example.org', 'Ada')
    await services.catalogue.refresh()
    view = await services.catalogue.models(user)
    by_name = {m.name: m for m in view.models}
    assert set(by_name) >= {'llama3.2:latest', 'qwen3:0.6b', 'llava:7b', 'nomic-embed-text:latest'}
    assert by_name['qwen3:0.6b'].capabilities == ['completion', 'tools', 'thinking']
    assert by_name['qwen3:0.6b'].context_length == 40960
    assert by_name['nomic-embed-text:latest'].embedding_length == 768
    assert by_name['llama3.2:latest'].family == 'llama' and by_name['llama3.2:latest'].quantization == 'Q4_K_M'
    embeds = await services.catalogue.models(user, capability='embedding')
    assert {m.name for m in embeds.models} == {'nomic-embed-text:latest', 'all-minilm:latest'}
    assert [m.name for m in (await services.catalogue.models(user, search='QWEN')).models] == ['qwen3:0.6b']
    chat = {m.name for m in await services.catalogue.chat_models(user)}
    assert 'nomic-embed-text:latest' not in chat and 'llama3.2:latest' in chat
    details = await services.catalogue.details(user, view.models[0].host, 'llama3.2:latest')
    assert 'FROM' in details.modelfile and details.license == 'MIT' and 'stop' in details.parameters


async def test_catalogue_read_never_waits_on_ollama(
    services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    user = await make_account('ada@example.org', 'Ada')
    await services.catalogue.refresh()
    ollama_server.go_down()
    view = await asyncio.wait_for(services.catalogue.models(user), 0.5)
    assert view.models  # the cached list
    view = await services.catalogue.refresh()
    assert 'not reachable' in next(iter(view.errors.values()))


async def test_pull_reports_progress_and_lists_the_model(
    services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    admin = await make_account('ada@example.org', 'Ada')
    seen = []
    services.model_admin.pulls_changed.subscribe(lambda jobs: seen.append(jobs[0]))
    job = await services.model_admin.start_pull(admin, 'tinyllama')
    assert job.model == 'tinyllama:latest'
    with pytest.raises(Conflict):
        await services.model_admin.start_pull(admin, 'tinyllama:latest')
    done = await services.model_admin.wait(job.id)
    assert done.state == 'done' and done.percent == 100.0
    assert len(done.layers) == 3 and all(layer.percent == 100.0 for layer in done.layers)
    assert any(0 < j.percent < 100 for j in seen)  # live progress was emitted
    assert services.catalogue.known('tinyllama:latest') is not None
    pulls = await services.activity.query(action=actions.MODEL_PULL)
    assert pulls[0].model == 'tinyllama:latest' and pulls[0].error is None


async def test_pull_unknown_model_and_cancel(services: Services, make_account, ollama_server: OllamaTestServer) -> None:
    admin = await make_account('ada@example.org', 'Ada')
    job = await services.model_admin.start_pull(admin, 'no-such-model:7b')
    done = await services.model_admin.wait(job.id)
    assert done.state == 'failed' and 'was not found in the model registry' in done.error
    with pytest.raises(InvalidInput):
        await services.model_admin.start_pull(admin, 'bad name!')

    ollama_server.pull_delay = 0.2
    job = await services.model_admin.start_pull(admin, 'phi3:mini')
    await asyncio.sleep(0.3)
    await services.model_admin.cancel_pull(admin, job.id)
    done = await services.model_admin.wait(job.id)
    assert done.state == 'cancelled'
    assert await asyncio.to_thread(ollama_server.wait_for_disconnect)
    assert ollama_server.find('phi3:mini') is None


async def test_create_copy_delete_unload(services: Services, make_account, ollama_server: OllamaTestServer) -> None:
    admin = await make_account('ada@example.org', 'Ada')
    instructor = await make_account('ian@example.org', 'Ian', role='instructor')
    admin_tools = services.model_admin
    await services.catalogue.refresh()
    name = await admin_tools.create(
        instructor, 'pirate', 'llama3.2:latest', 'Talk like a pirate.', {'temperature': 1.2}
    )
    assert name == 'pirate:latest'
    created = ollama_server.find('pirate')
    assert created.system == 'Talk like a pirate.' and created.parameters['temperature'] == 1.2
    assert services.catalogue.known('pirate:latest') is not None
    with pytest.raises(Conflict):
        await admin_tools.create(instructor, 'pirate', 'llama3.2:latest')
    host = ollama_server.url
    await admin_tools.copy(instructor, host, 'pirate:latest', 'pirate2')
    assert services.catalogue.known('pirate2:latest') is not None
    await admin_tools.delete(admin, host, 'pirate2:latest')
    assert services.catalogue.known('pirate2:latest') is None and ollama_server.find('pirate2') is None
    await admin_tools.unload(admin, host, 'llama3.2:latest')
    logged = {a.action for a in await services.activity.query(limit=20)}
    assert {actions.MODEL_CREATE, actions.MODEL_COPY, actions.MODEL_DELETE, actions.MODEL_UNLOAD} <= logged


async def test_attendee_cannot_manage_models(services: Services, make_account, ollama_server: OllamaTestServer) -> None:
    await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    tools, host = services.model_admin, ollama_server.url
    for attempt in (
        tools.start_pull(bob, 'tinyllama'),
        tools.create(bob, 'x', 'llama3.2:latest'),
        tools.copy(bob, host, 'llama3.2:latest', 'x'),
        tools.delete(bob, host, 'llama3.2:latest'),
        tools.unload(bob, host, 'llama3.2:latest'),
        tools.cancel_pull(bob, 1),
    ):
        with pytest.raises(PermissionDenied):
            await attempt
    assert ollama_server.find('llama3.2:latest') is not None
    assert not [r for r in ollama_server.requests if r.get('path') in ('/api/pull', '/api/delete', '/api/create')]


async def test_host_not_enabled_is_refused(services: Services, make_account) -> None:
    admin = await make_account('ada@example.org', 'Ada')
    with pytest.raises(NotFound):
        await services.model_admin.delete(admin, 'http://169.254.169.254', 'llama3.2:latest')


def another_process(services: Services, lease_seconds: float = 30.0):
    """The model administration of a second app process on the same database (its own claims and tasks)."""
    from services.models.admin import ModelAdmin

    s = services
    return ModelAdmin(s.calls, s.hosts, s.auth, s.activity, s.catalogue, s.audit, lease_seconds=lease_seconds)


async def test_a_pull_survives_a_restart_and_a_dead_process(
    services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    """A pull handed back at shutdown is resumed by the next process and finishes; a pull whose process died (its
    lease ran out) is taken over; every process lists them from the database."""
    from models import ModelPull

    admin = await make_account('ada@example.org', 'Ada')
    ollama_server.pull_delay = 0.3  # a pull of some seconds
    first = another_process(services)
    job = await first.start_pull(admin, 'tinyllama')
    for _ in range(50):  # its progress reaches the database within a second or so
        row = await ModelPull.get(id=job.id)
        if row.completed:
            break
        await asyncio.sleep(0.1)
    assert row.state == 'running' and row.completed > 0 and row.total >= row.completed
    await first.stop()  # shutting down: handed back, not cancelled
    row = await ModelPull.get(id=job.id)
    assert (row.state, row.lease_until) == ('running', None)

    ollama_server.pull_delay = 0.02
    second = another_process(services)
    assert await second.resume_interrupted() == [job.id]
    done = await second.wait(job.id)
    assert done.state == 'done' and (await ModelPull.get(id=job.id)).state == 'done'
    assert any(j.id == job.id and j.state == 'done' for j in second.pulls())
    assert 'tinyllama:latest' in [m.model for m in await services.calls.list_models(ollama_server.url)]

    # a pull whose process died: still 'running', claimed, its lease run out -> the next sweep takes it over
    dead = await ModelPull.create(model='phi3:mini', host=ollama_server.url, user_id=admin, claimed_by='dead-process')
    await ModelPull.filter(id=dead.id).update(lease_until=datetime.now(UTC) - timedelta(seconds=1))
    third = another_process(services)
    assert await third.resume_interrupted() == [dead.id]
    assert (await third.wait(dead.id)).state == 'done'
    # and a fresh process lists both from the database, without having run either
    fresh = another_process(services)
    await fresh.resume_interrupted()
    listed = {j.id: j.state for j in fresh.pulls()}
    assert listed[job.id] == 'done' and listed[dead.id] == 'done'
    for process in (second, third, fresh):
        await process.stop()
