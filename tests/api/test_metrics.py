"""`GET /metrics` for Prometheus: off without METRICS_TOKEN, only with the token, and it says what happened — requests
by route, model calls with tokens and time to first token, slots and queues per host, errors by kind, live
attendees, memory. The Grafana dashboard shipped in docs/ only asks for metrics the platform exports."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import assert_problem

TOKEN = 'scrape-me-0123456789'
DASHBOARD = Path(__file__).resolve().parents[2] / 'docs' / 'grafana' / 'ollama-workshop-platform.json'


@pytest.fixture(autouse=True)
def _metrics_on(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if 'metrics_off' not in request.keywords:
        monkeypatch.setenv('METRICS_TOKEN', TOKEN)
    else:
        monkeypatch.delenv('METRICS_TOKEN', raising=False)


def samples(text: str) -> dict[str, list]:
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        found.setdefault(family.name, [])
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def value(found: dict[str, list], name: str, **labels: str) -> float:
    return sum(s.value for s in found.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items()))


async def scrape(client) -> dict[str, list]:
    response = await client.get('/metrics', headers={'Authorization': f'Bearer {TOKEN}'})
    assert response.status_code == 200, response.text
    assert response.headers['content-type'].startswith('text/plain')
    return samples(response.text)


@pytest.mark.metrics_off
async def test_metrics_are_off_without_a_token(client) -> None:
    assert_problem(await client.get('/metrics'), 404, 'Set METRICS_TOKEN')


async def test_metrics_need_the_token(client, alice) -> None:
    assert_problem(await client.get('/metrics'), 401, 'metrics token')
    assert_problem(await client.get('/metrics', headers={'Authorization': 'Bearer wrong'}), 401, 'metrics token')
    assert_problem(await client.get('/metrics', headers=alice.headers), 401, 'metrics token')  # a user's token: no


async def test_metrics_tell_what_the_room_did(client, alice, ollama_server) -> None:
    before = await scrape(client)  # counters live as long as the process: compare what this test adds
    body = {'model': 'llama3.2', 'stream': True, 'messages': [{'role': 'user', 'content': 'Hello'}]}
    assert (await client.post('/api/v1/chat', json=body, headers=alice.headers)).status_code == 200
    assert (await client.get('/api/v1/knowledge/999999', headers=alice.headers)).status_code == 404
    found = await scrape(client)

    def added(name: str, **labels: str) -> float:
        return value(found, name, **labels) - value(before, name, **labels)

    assert added('owp_model_calls_total', model='llama3.2', purpose='api', outcome='ok') == 1
    assert added('owp_model_tokens_total', model='llama3.2', direction='completion') > 0
    assert added('owp_model_time_to_first_token_seconds_count', model='llama3.2') == 1
    assert added('owp_http_requests_total', route='/api/v1/chat', method='POST', status='200') == 1
    assert added('owp_http_requests_total', route='/api/v1/knowledge/{kb_id}', status='404') == 1
    assert added('owp_errors_total', kind='not-found') >= 1
    assert value(found, 'owp_host_slots', host=ollama_server.url) >= 1
    assert value(found, 'owp_host_up', host=ollama_server.url) == 1
    assert value(found, 'owp_host_slots_in_use', host=ollama_server.url, kind='generate') == 0  # the stream ended
    assert 'owp_websocket_clients' in found
    assert value(found, 'owp_process_tree_resident_memory_bytes') > 20 * 1024 * 1024


async def test_live_attendees_are_counted_per_workshop(client, services, instructor, alice) -> None:
    workshop = await services.workshops.create(instructor.id, 'Metrics 101')
    await services.workshops.start(instructor.id, workshop.id)
    await services.workshops.join(workshop.join_code, user_id=alice.id)
    await services.workshops.dashboard(instructor.id, workshop.id)  # the live workshop the dashboard watches
    found = await scrape(client)
    states = ('online', 'idle', 'offline')
    total = sum(value(found, 'owp_workshop_attendees', workshop=str(workshop.id), presence=p) for p in states)
    assert total == 1


async def test_ingestion_is_counted(client, alice) -> None:
    kb = await client.post('/api/v1/knowledge', json={'name': 'K', 'embedding_model': 'nomic-embed-text'},
                           headers=alice.headers)  # fmt: skip
    kb_id = kb.json()['id']
    files = [('files', ('a.md', b'# Llamas\nLlamas hum.\n\n## Food\nGrass.', 'text/markdown'))]
    assert (
        await client.post(f'/api/v1/knowledge/{kb_id}/documents', files=files, headers=alice.headers)
    ).status_code == 201
    before = value(await scrape(client), 'owp_ingest_chunks_total')
    assert (await client.post(f'/api/v1/knowledge/{kb_id}/ingest', headers=alice.headers)).status_code == 202
    for _ in range(200):
        job = (await client.get(f'/api/v1/knowledge/{kb_id}/ingest', headers=alice.headers)).json()
        if job['finished']:
            break
        await asyncio.sleep(0.05)
    assert job['state'] == 'done'
    assert value(await scrape(client), 'owp_ingest_chunks_total') - before == job['chunks_done'] > 0


async def test_the_grafana_dashboard_asks_only_for_exported_metrics(client, alice) -> None:
    body = {'model': 'llama3.2', 'messages': [{'role': 'user', 'content': 'Hello'}]}
    assert (await client.post('/api/v1/chat', json=body, headers=alice.headers)).status_code == 200
    exported = {name for name in await scrape(client)}
    exported |= {re.sub(r'_(bucket|count|sum|total)$', '', n) for n in exported}
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard['title'] and dashboard['schemaVersion'] >= 36 and dashboard['uid']
    panels = dashboard['panels']
    assert len(panels) >= 10
    ids = [p['id'] for p in panels]
    assert len(ids) == len(set(ids)), 'panel ids must be unique'
    asked = set()
    for panel in panels:
        assert panel['type'] in {'timeseries', 'stat', 'gauge', 'bargauge', 'table'}, panel['title']
        assert {'x', 'y', 'w', 'h'} <= set(panel['gridPos']), panel['title']
        assert panel['targets'], panel['title']
        for target in panel['targets']:
            assert target['datasource']['uid'] == '${datasource}'
            asked |= set(re.findall(r'\b(owp_[a-z_]+|process_[a-z_]+)\b', target['expr']))
    missing = {name for name in asked if name not in exported}
    assert not missing, f'the dashboard asks for metrics the platform does not export: {sorted(missing)}'
    assert [v['name'] for v in dashboard['templating']['list']][:1] == ['datasource']
