"""GET/POST /api/v1/workshops/{id}/preflight: the check, the pull and warm-up job, the forecast, permissions."""

from __future__ import annotations

from services.wiring import Services
from tests.api.conftest import assert_problem


async def test_preflight_over_the_api(client, services: Services, instructor, alice, account) -> None:
    created = await client.post(
        '/api/v1/workshops',
        json={'title': 'Prompting 101', 'allowed_models': ['llama3.2', 'tinyllama']},
        headers=instructor.headers,
    )
    wid = created.json()['id']
    url = f'/api/v1/workshops/{wid}/preflight'

    checked = await client.get(url, headers=instructor.headers)
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body['models'] == ['llama3.2:latest', 'tinyllama:latest'] and body['source'] == 'allowed'
    assert not body['ready'] and 'tinyllama:latest is missing on Default.' in body['problems']
    pulled = {(c['model'], c['pulled']) for c in body['checks']}
    assert pulled == {('llama3.2:latest', True), ('tinyllama:latest', False)}
    assert [f['message'] for f in body['forecasts']] == [
        'Warm it up to measure its speed.',
        'Not pulled on any host that answers.',
    ]

    started = await client.post(url, headers=instructor.headers)
    assert started.status_code == 202 and started.json()['running'] is True
    assert_problem(await client.post(url, headers=instructor.headers), 409, 'already running')
    await services.preflight.wait(wid)

    ready = (await client.get(url, params={'attendees': 12, 'interval_s': 30}, headers=instructor.headers)).json()
    assert ready['ready'] and ready['summary'].startswith('Ready to teach')
    assert all(c['tokens_per_s'] and c['load_s'] is not None for c in ready['checks'])
    forecast = ready['forecasts'][0]
    assert forecast['verdict'] in ('ok', 'tight', 'overloaded') and forecast['attendees'] == 12
    assert 'With 12 attendee(s) each asking about once every 30 s' in forecast['message']

    # attendees get 403, instructors of other workshops 404
    other = await account('olga@example.org', 'instructor', 'Olga')
    assert_problem(await client.get(url, headers=alice.headers), 403)
    assert_problem(await client.post(url, headers=alice.headers), 403)
    assert_problem(await client.get(url, headers=other.headers), 404)
    assert_problem(await client.post(url, headers=other.headers), 404)
