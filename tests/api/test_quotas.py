"""Quotas: the call that crosses a limit gets 429 with the message; usage resets on schedule (injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import openai
import pytest
from nicegui import app

from models import ActivityEvent, AuditEntry
from services.core.errors import Throttled
from services.wiring import Services
from tests.api.conftest import assert_problem

CHAT = {'model': 'llama3.2', 'messages': [{'role': 'user', 'content': 'Hello'}]}


class Clock:
    """A time source for the quota service: real time plus an offset the test moves."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def clock(services: Services) -> Clock:
    clock = Clock()
    services.quotas.clock = clock
    return clock


async def test_request_limit_answers_429_and_resets_at_midnight(client, admin, alice, clock: Clock) -> None:
    response = await client.post('/api/v1/quotas', json={'user_id': alice.id, 'max_requests': 2}, headers=admin.headers)
    assert response.status_code == 200, response.text
    for _ in range(2):
        assert (await client.post('/api/v1/chat', json=CHAT, headers=alice.headers)).status_code == 200
    refused = await client.post('/api/v1/chat', json=CHAT, headers=alice.headers)
    body = assert_problem(refused, 429, 'You have used up your daily request limit (2 requests)')
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime('%Y-%m-%d 00:00 UTC')
    assert f'It resets at {tomorrow}.' in body['detail']
    assert 0 < int(refused.headers['retry-after']) <= 86_401
    assert await ActivityEvent.filter(user_id=alice.id, action='chat').count() == 2  # the refused call did nothing
    assert await AuditEntry.filter(user_id=alice.id, action='quota_exceeded').exists()
    usage = (await client.get('/api/v1/me/usage', headers=alice.headers)).json()
    assert usage[0]['requests'] == 2 and usage[0]['max_requests'] == 2

    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    clock.offset = midnight - datetime.now(UTC) + timedelta(seconds=1)  # just after the next UTC midnight
    assert (await client.post('/api/v1/chat', json=CHAT, headers=alice.headers)).status_code == 200
    assert (await client.get('/api/v1/me/usage', headers=alice.headers)).json()[0]['requests'] == 0  # yesterday's


async def test_token_limit_in_the_gateway(client, admin, alice, services: Services) -> None:
    quota = await client.post('/api/v1/quotas', json={'user_id': alice.id, 'max_tokens': 10}, headers=admin.headers)
    assert quota.status_code == 200, quota.text
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url='http://test')
    async with openai.AsyncOpenAI(
        base_url='http://test/v1', api_key=alice.token, http_client=http, max_retries=0
    ) as sdk:
        await sdk.chat.completions.create(model='llama3.2', messages=[{'role': 'user', 'content': 'Hi'}])
        with pytest.raises(openai.RateLimitError) as refused:
            await sdk.chat.completions.create(model='llama3.2', messages=[{'role': 'user', 'content': 'Hi'}])
        assert 'daily token limit (10 tokens)' in refused.value.body['message']
        with pytest.raises(openai.RateLimitError):
            await sdk.embeddings.create(model='nomic-embed-text', input='hi', encoding_format='float')


async def test_workshop_session_quota_and_service_check(client, instructor, alice, bob, services: Services) -> None:
    workshop = await services.workshops.create(instructor.id, 'Quota class')
    await services.workshops.start(instructor.id, workshop.id)
    await services.workshops.join(workshop.join_code, user_id=alice.id)
    body = {'workshop_id': workshop.id, 'period': 'session', 'max_requests': 1}
    assert (await client.post('/api/v1/quotas', json=body, headers=instructor.headers)).status_code == 200
    assert (await client.post('/api/v1/chat', json=CHAT, headers=alice.headers)).status_code == 200
    refused = await client.post('/api/v1/chat', json=CHAT, headers=alice.headers)
    assert_problem(refused, 429, "this workshop's per-session request limit (1 requests)")
    assert 'starts a new workshop session' in refused.json()['detail']
    assert (await client.post('/api/v1/chat', json=CHAT, headers=bob.headers)).status_code == 200  # not in it
    with pytest.raises(Throttled):  # what the playground calls
        await services.quotas.check(alice.id)
    started = await client.post(f'/api/v1/quotas/workshops/{workshop.id}/session', headers=instructor.headers)
    assert started.json() == {'quotas': 1}
    await services.quotas.check(alice.id)  # a new session: usage starts from zero
    assert (await client.post('/api/v1/chat', json=CHAT, headers=alice.headers)).status_code == 200


async def test_quota_administration(client, admin, instructor, alice) -> None:
    assert_problem(
        await client.post('/api/v1/quotas', json={'user_id': alice.id, 'max_requests': 5}, headers=alice.headers), 403
    )
    assert_problem(await client.get('/api/v1/quotas', headers=alice.headers), 403)
    assert_problem(await client.post('/api/v1/quotas/workshops/1/session', headers=alice.headers), 403)
    both = {'user_id': alice.id, 'workshop_id': 3, 'max_requests': 5}
    assert_problem(await client.post('/api/v1/quotas', json=both, headers=instructor.headers), 422, 'exactly one')
    assert_problem(await client.post('/api/v1/quotas', json={'user_id': alice.id}, headers=instructor.headers), 422)
    assert_problem(
        await client.post('/api/v1/quotas', json={'user_id': 999, 'max_tokens': 5}, headers=admin.headers), 404
    )
    # a quota for one person applies everywhere: only admins set, see and remove it
    assert_problem(
        await client.post('/api/v1/quotas', json={'user_id': 999, 'max_tokens': 5}, headers=instructor.headers),
        403,
        'Only admins',
    )
    quota = (
        await client.post('/api/v1/quotas', json={'user_id': alice.id, 'max_requests': 5}, headers=admin.headers)
    ).json()
    assert_problem(
        await client.post('/api/v1/quotas', json={'user_id': alice.id, 'max_requests': 9}, headers=instructor.headers),
        403,
    )
    again = (
        await client.post('/api/v1/quotas', json={'user_id': alice.id, 'max_requests': 9}, headers=admin.headers)
    ).json()
    assert again['id'] == quota['id'] and again['max_requests'] == 9  # replaced, not duplicated
    assert (await client.get('/api/v1/quotas', headers=instructor.headers)).json() == []
    listed = (await client.get('/api/v1/quotas', headers=admin.headers)).json()
    assert [q['user_email'] for q in listed] == ['alice@example.org']
    assert_problem(await client.delete(f'/api/v1/quotas/{quota["id"]}', headers=alice.headers), 403)
    assert_problem(await client.delete(f'/api/v1/quotas/{quota["id"]}', headers=instructor.headers), 404)
    assert (await client.delete(f'/api/v1/quotas/{quota["id"]}', headers=admin.headers)).status_code == 204
    assert_problem(await client.delete(f'/api/v1/quotas/{quota["id"]}', headers=admin.headers), 404)
