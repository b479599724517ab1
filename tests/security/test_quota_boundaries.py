"""Quota boundaries, attacked from the outside.

Who: only a workshop's own instructors (owner, co-instructors) and admins set, remove or restart the quotas of that
workshop; another instructor gets 404 (its existence is not revealed) and nothing changes; a quota for a single person
is platform-wide, so only admins set or remove it. How much: concurrent calls cannot overshoot a request limit at
all, nor a token limit by more than one call (a token-limited person's calls are settled one at a time).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from models import AuditEntry, ModelCall, Quota
from services.core.errors import NotFound, PermissionDenied
from services.wiring import Services
from tests.api.conftest import Account, assert_problem
from tests.ollama_server import OllamaTestServer

CHAT = {'model': 'llama3.2', 'messages': [{'role': 'user', 'content': 'Hello'}]}
TOKENS_PER_CALL = 11  # "Hello" is one prompt token; the test server answers `response_tokens` (set to 10) tokens


@pytest.fixture
async def olga(admin, account) -> Account:
    """Another instructor, with a workshop of her own."""
    return await account('olga@example.org', 'instructor', 'Olga')


async def workshop(client: httpx.AsyncClient, owner: Account, title: str, *attendees: Account) -> int:
    created = await client.post('/api/v1/workshops', json={'title': title}, headers=owner.headers)
    assert created.status_code == 201, created.text
    wid = created.json()['id']
    if attendees:
        started = await client.post(f'/api/v1/workshops/{wid}/start', headers=owner.headers)
        assert started.status_code == 200, started.text
        for who in attendees:
            body = {'code': started.json()['join_code']}
            joined = await client.post('/api/v1/workshops/join', json=body, headers=who.headers)
            assert joined.status_code == 200, joined.text
    return wid


async def set_quota(client: httpx.AsyncClient, who: Account, **body) -> httpx.Response:
    return await client.post('/api/v1/quotas', json=body, headers=who.headers)


async def snapshot() -> list[tuple]:
    return [
        (q.id, q.user_id, q.workshop_id, q.period, q.max_requests, q.max_tokens, q.session_started_at)
        for q in await Quota.all().order_by('id')
    ]


async def quota_changes_by(who: Account) -> int:
    return await AuditEntry.filter(user_id=who.id, action='quota_change').count()


# ----- who may set, remove and reset ----------------------------------------------------------------------------
async def test_an_instructor_cannot_touch_another_instructors_workshop_quotas(
    client, services: Services, instructor: Account, olga: Account, alice: Account
) -> None:
    ivan = instructor
    hers = await workshop(client, olga, 'Olgas class', alice)
    mine = await workshop(client, ivan, 'Ivans class')
    created = await set_quota(client, olga, workshop_id=hers, period='session', max_requests=5, max_tokens=500)
    assert created.status_code == 200, created.text
    quota = created.json()
    assert quota['workshop_title'] == 'Olgas class'
    before = await snapshot()

    # through the REST API: every attempt answers 404, exactly as for a workshop that does not exist
    for target in (hers, 9999):
        for body in (
            {'workshop_id': target, 'max_requests': 100_000},
            {'workshop_id': target, 'period': 'session', 'max_tokens': 0},
        ):
            assert_problem(await set_quota(client, ivan, **body), 404, 'No such workshop.')
        reset = await client.post(f'/api/v1/quotas/workshops/{target}/session', headers=ivan.headers)
        assert_problem(reset, 404, 'No such workshop.')
    assert_problem(await client.delete(f'/api/v1/quotas/{quota["id"]}', headers=ivan.headers), 404, 'No such quota.')
    assert_problem(await client.delete('/api/v1/quotas/9999', headers=ivan.headers), 404, 'No such quota.')
    assert (await client.get('/api/v1/quotas', headers=ivan.headers)).json() == []  # not even listed

    # through the services
    with pytest.raises(NotFound, match='No such workshop'):
        await services.quotas.set_quota(ivan.id, workshop_id=hers, max_requests=100_000)
    with pytest.raises(NotFound, match='No such workshop'):
        await services.quotas.start_session(ivan.id, hers)
    with pytest.raises(NotFound, match='No such quota'):
        await services.quotas.delete_quota(ivan.id, quota['id'])
    with pytest.raises(NotFound):  # her attendee's usage is not his to see
        await services.quotas.usage(ivan.id, user_id=alice.id)
    with pytest.raises(NotFound, match='No such workshop'):
        await services.quotas.usage(ivan.id, workshop_id=hers)  # nor her workshop's limits
    assert [(w, t) for w, t in await services.quotas.workshops(ivan.id)] == [(mine, 'Ivans class')]

    # nothing changed, nothing was recorded as a change; the owner still manages it
    assert await snapshot() == before
    assert await quota_changes_by(ivan) == 0
    assert [q['id'] for q in (await client.get('/api/v1/quotas', headers=olga.headers)).json()] == [quota['id']]
    assert [u.max_requests for u in await services.quotas.usage(olga.id, user_id=alice.id)] == [5]
    reset = await client.post(f'/api/v1/quotas/workshops/{hers}/session', headers=olga.headers)
    assert reset.status_code == 200 and reset.json() == {'quotas': 1}
    assert (await client.delete(f'/api/v1/quotas/{quota["id"]}', headers=olga.headers)).status_code == 204


async def test_an_attendee_cannot_manage_quotas(client, services: Services, olga: Account, alice: Account) -> None:
    hers = await workshop(client, olga, 'Olgas class', alice)
    quota = (await set_quota(client, olga, workshop_id=hers, max_requests=5)).json()
    before = await snapshot()
    assert_problem(await set_quota(client, alice, workshop_id=hers, max_requests=100_000), 403)
    assert_problem(await set_quota(client, alice, user_id=alice.id, max_requests=100_000), 403)
    assert_problem(await client.post(f'/api/v1/quotas/workshops/{hers}/session', headers=alice.headers), 403)
    assert_problem(await client.delete(f'/api/v1/quotas/{quota["id"]}', headers=alice.headers), 403)
    assert_problem(await client.get('/api/v1/quotas', headers=alice.headers), 403)
    with pytest.raises(PermissionDenied):
        await services.quotas.usage(alice.id, user_id=olga.id)
    assert await snapshot() == before


async def test_only_admins_set_or_remove_a_quota_for_one_person(
    client, services: Services, admin: Account, instructor: Account, alice: Account
) -> None:
    ivan = instructor
    await workshop(client, ivan, 'Ivans class', alice)  # even his own attendee: such a quota applies everywhere
    for body in ({'user_id': alice.id, 'max_requests': 1}, {'user_id': ivan.id, 'max_tokens': 10_000_000}):
        assert_problem(await set_quota(client, ivan, **body), 403, 'Only admins')
    with pytest.raises(PermissionDenied, match='Only admins'):
        await services.quotas.set_quota(ivan.id, user_email='alice@example.org', max_requests=1)
    with pytest.raises(PermissionDenied):  # no way to learn whether an account exists either
        await services.quotas.set_quota(ivan.id, user_email='nobody@example.org', max_requests=1)
    assert await snapshot() == [] and await quota_changes_by(ivan) == 0

    # an admin can; the instructor neither sees nor removes it
    created = await set_quota(client, admin, user_id=alice.id, max_requests=7)
    assert created.status_code == 200, created.text
    quota = created.json()
    assert (await client.get('/api/v1/quotas', headers=ivan.headers)).json() == []
    assert_problem(await client.delete(f'/api/v1/quotas/{quota["id"]}', headers=ivan.headers), 404)
    assert [q['id'] for q in (await client.get('/api/v1/quotas', headers=admin.headers)).json()] == [quota['id']]
    # the instructor may look at the usage of an attendee of his workshop (not set it)
    assert [u.max_requests for u in await services.quotas.usage(ivan.id, user_id=alice.id)] == [7]
    assert (await client.delete(f'/api/v1/quotas/{quota["id"]}', headers=admin.headers)).status_code == 204
    assert await snapshot() == []


async def test_an_admin_manages_any_workshops_quotas(
    client, services: Services, admin: Account, olga: Account, alice: Account, bob: Account
) -> None:
    hers = await workshop(client, olga, 'Olgas class', alice)
    created = await set_quota(client, admin, workshop_id=hers, period='session', max_requests=3)
    assert created.status_code == 200, created.text
    assert_problem(await set_quota(client, admin, workshop_id=9999, max_requests=3), 404, 'No such workshop.')
    reset = await client.post(f'/api/v1/quotas/workshops/{hers}/session', headers=admin.headers)
    assert reset.json() == {'quotas': 1}
    assert [q['workshop_id'] for q in (await client.get('/api/v1/quotas', headers=olga.headers)).json()] == [hers]
    assert [u.max_requests for u in await services.quotas.usage(admin.id, user_id=bob.id)] == []  # anyone's
    deleted = await client.delete(f'/api/v1/quotas/{created.json()["id"]}', headers=admin.headers)
    assert deleted.status_code == 204


async def test_a_co_instructor_manages_the_shared_workshop_only(
    client, services: Services, instructor: Account, olga: Account, alice: Account
) -> None:
    ivan = instructor
    shared = await workshop(client, olga, 'Shared class', alice)
    private = await workshop(client, olga, 'Olgas own class')
    await services.workshops.add_co_instructor(olga.id, shared, ivan.email)

    created = await set_quota(client, ivan, workshop_id=shared, period='session', max_requests=4)
    assert created.status_code == 200, created.text
    quota = created.json()
    assert [q['id'] for q in (await client.get('/api/v1/quotas', headers=ivan.headers)).json()] == [quota['id']]
    reset = await client.post(f'/api/v1/quotas/workshops/{shared}/session', headers=ivan.headers)
    assert reset.json() == {'quotas': 1}
    assert [u.max_requests for u in await services.quotas.usage(ivan.id, user_id=alice.id)] == [4]
    assert_problem(await set_quota(client, ivan, workshop_id=private, max_requests=4), 404)
    assert_problem(await client.post(f'/api/v1/quotas/workshops/{private}/session', headers=ivan.headers), 404)
    assert (await client.delete(f'/api/v1/quotas/{quota["id"]}', headers=ivan.headers)).status_code == 204

    # removed as co-instructor: the workshop is closed to him again
    quota = (await set_quota(client, olga, workshop_id=shared, max_requests=4)).json()
    await services.workshops.remove_co_instructor(olga.id, shared, ivan.id)
    assert (await client.get('/api/v1/quotas', headers=ivan.headers)).json() == []
    assert_problem(await client.delete(f'/api/v1/quotas/{quota["id"]}', headers=ivan.headers), 404)
    assert_problem(await set_quota(client, ivan, workshop_id=shared, max_requests=1_000), 404)
    assert (await Quota.get(id=quota['id'])).max_requests == 4


# ----- concurrent calls -------------------------------------------------------------------------------------------
def chat_requests(server: OllamaTestServer, since: int = 0) -> int:
    return sum(1 for r in list(server.requests)[since:] if r['path'] == '/api/chat')


async def fire(client: httpx.AsyncClient, who: Account, n: int) -> list[httpx.Response]:
    """`n` chat calls at once through the REST API, every other one streamed."""
    bodies = [CHAT | {'stream': i % 2 == 1} for i in range(n)]
    return list(await asyncio.gather(*(client.post('/api/v1/chat', json=b, headers=who.headers) for b in bodies)))


@pytest.mark.parametrize('scope', ['user', 'workshop'])
async def test_concurrent_calls_overshoot_a_token_limit_by_at_most_one_call(
    scope: str,
    client,
    services: Services,
    admin: Account,
    instructor: Account,
    alice: Account,
    ollama_server: OllamaTestServer,
) -> None:
    limit = 25  # two calls fit (22 tokens), the third crosses the limit, the others must not start
    if scope == 'user':
        assert (await set_quota(client, admin, user_id=alice.id, max_tokens=limit)).status_code == 200
    else:
        wid = await workshop(client, instructor, 'Token class', alice)
        quota = await set_quota(client, instructor, workshop_id=wid, period='session', max_tokens=limit)
        assert quota.status_code == 200, quota.text
    ollama_server.response_tokens = 10
    ollama_server.token_delay = 0.02  # each reply takes a while, so the calls really are in flight together
    since = len(ollama_server.requests)

    responses = await fire(client, alice, 6)

    rows = await ModelCall.filter(user_id=alice.id, counted=True).order_by('id')
    assert [r.tokens for r in rows] == [TOKENS_PER_CALL] * 3, [(r.tokens, r.error) for r in rows]
    total = sum(r.tokens for r in rows)
    assert limit <= total < limit + max(r.tokens for r in rows)  # over by less than the one call that crossed it
    assert chat_requests(ollama_server, since) == 3  # the refused calls sent nothing
    assert sorted(r.status_code for r in responses) == [200] * 3 + [429] * 3
    for refused in (r for r in responses if r.status_code == 429):
        assert_problem(refused, 429, f'token limit ({limit} tokens)')
        if scope == 'user':  # a daily limit says when it resets (a session ends when the instructor says so)
            assert int(refused.headers['retry-after']) > 0
    assert services.quotas.pending(alice.id) == 0


async def test_concurrent_calls_cannot_overshoot_a_request_limit(
    client, services: Services, admin: Account, alice: Account, ollama_server: OllamaTestServer
) -> None:
    assert (await set_quota(client, admin, user_id=alice.id, max_requests=3)).status_code == 200
    ollama_server.token_delay = 0.02
    since = len(ollama_server.requests)

    responses = await fire(client, alice, 8)

    assert chat_requests(ollama_server, since) == 3  # exactly three reached Ollama
    assert sorted(r.status_code for r in responses) == [200] * 3 + [429] * 5
    for refused in (r for r in responses if r.status_code == 429):
        assert_problem(refused, 429, 'daily request limit (3 requests)')
    assert await ModelCall.filter(user_id=alice.id, counted=True).count() == 3
    assert services.quotas.pending(alice.id) == 0


# ----- a token-limited person's calls wait for each other (bounded); others run side by side -------------------
async def held_reply(services: Services, who: Account) -> asyncio.Task:
    """A long playground reply consumed in a task; returns once it is streaming."""
    conversation = (await services.chat.create_conversation(who.id, 'llama3.2')).id
    stream = services.chat.send(who.id, conversation, 'Tell me a long story')
    started = asyncio.Event()

    async def consume(events: AsyncIterator) -> None:
        async for _ in events:
            started.set()

    task = asyncio.create_task(consume(stream))
    await asyncio.wait_for(started.wait(), 5)
    return task


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_token_limited_call_waits_for_the_one_in_flight_then_runs(
    client, services: Services, admin: Account, alice: Account, ollama_server: OllamaTestServer
) -> None:
    assert (await set_quota(client, admin, user_id=alice.id, max_tokens=10_000)).status_code == 200
    ollama_server.token_delay, ollama_server.response_tokens = 0.05, 400
    held = await held_reply(services, alice)
    try:
        ollama_server.response_tokens = 10
        since = len(ollama_server.requests)
        waiting = asyncio.create_task(client.post('/api/v1/chat', json=CHAT, headers=alice.headers))
        await asyncio.sleep(0.5)
        assert not waiting.done() and chat_requests(ollama_server, since) == 0  # waits, sends nothing yet
    finally:
        await stop(held)
    response = await asyncio.wait_for(waiting, 10)  # the held reply is settled: the waiting call runs
    assert response.status_code == 200, response.text
    assert chat_requests(ollama_server, since) == 1


async def test_the_wait_is_bounded_and_people_without_a_token_limit_do_not_wait(
    client, services: Services, admin: Account, alice: Account, bob: Account, ollama_server: OllamaTestServer
) -> None:
    assert (await set_quota(client, admin, user_id=alice.id, max_tokens=10_000)).status_code == 200
    assert (await set_quota(client, admin, user_id=bob.id, max_requests=100)).status_code == 200
    services.quotas.settle_wait = 0.3
    ollama_server.token_delay, ollama_server.response_tokens = 0.05, 400
    held = [await held_reply(services, alice), await held_reply(services, bob)]
    try:
        ollama_server.response_tokens = 10
        since = len(ollama_server.requests)
        refused = await client.post('/api/v1/chat', json=CHAT, headers=alice.headers)
        assert_problem(refused, 429, 'Another of your model calls is still running')
        assert 'token limit' in refused.json()['detail'] and int(refused.headers['retry-after']) > 0
        assert chat_requests(ollama_server, since) == 0
        # bob has no token limit: his second call runs while the first is still streaming
        assert (await client.post('/api/v1/chat', json=CHAT, headers=bob.headers)).status_code == 200
        assert chat_requests(ollama_server, since) == 1
        assert not any(task.done() for task in held)
    finally:
        for task in held:
            await stop(task)
    assert (await client.post('/api/v1/chat', json=CHAT, headers=alice.headers)).status_code == 200
    assert services.quotas.pending(alice.id) == services.quotas.pending(bob.id) == 0
