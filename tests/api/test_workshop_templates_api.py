"""GET /api/v1/workshops/{id}/template and POST /api/v1/workshops/import: export, import with a report, refusals."""

from __future__ import annotations

import io
import json
import zipfile

from services.wiring import Services
from tests.api.conftest import assert_problem


async def test_templates_over_the_api(client, services: Services, instructor, alice, account) -> None:
    ready = await client.get('/api/v1/workshops/templates/ready', headers=alice.headers)
    assert ready.status_code == 200 and ready.json()[0]['title'] == 'Introduction to local LLMs with Ollama'
    key = ready.json()[0]['key']
    assert_problem(await client.post(f'/api/v1/workshops/import/ready/{key}', headers=alice.headers), 403)

    made = await client.post(f'/api/v1/workshops/import/ready/{key}', headers=instructor.headers)
    assert made.status_code == 201, made.text
    report = made.json()
    wid = report['workshop_id']
    assert report['link'] == f'/workshops/{wid}' and report['skipped'] == [] and report['warnings'] == []
    assert sum(1 for i in report['created'] if i['kind'] == 'step') == 7

    plain = await client.get(f'/api/v1/workshops/{wid}/template', headers=instructor.headers)
    assert plain.status_code == 200 and plain.headers['content-type'] == 'application/json'
    assert (
        'attachment; filename="introduction-to-local-llms-with-ollama.workshop.json"'
        in plain.headers['content-disposition']
    )
    data = plain.json()
    assert data['format'] == 'owp-workshop-template' and data['version'] == 1 and len(data['steps']) == 7
    assert [d.get('file') for d in data['knowledge_bases'][0]['documents']] == [None, None, None]
    zipped = await client.get(f'/api/v1/workshops/{wid}/template?documents=true', headers=instructor.headers)
    assert zipped.headers['content-type'] == 'application/zip'
    names = zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
    assert 'workshop.json' in names and sum(n.startswith('documents/ollama-notes/') for n in names) == 3

    # other instructors do not see it; attendees may not export
    other = await account('olga@example.org', 'instructor', 'Olga')
    assert_problem(await client.get(f'/api/v1/workshops/{wid}/template', headers=other.headers), 404)
    assert_problem(await client.get(f'/api/v1/workshops/{wid}/template', headers=alice.headers), 403)

    # importing the .zip creates a second workshop with its documents
    files = {'file': ('intro.workshop.zip', zipped.content, 'application/zip')}
    imported = await client.post('/api/v1/workshops/import', files=files, headers=other.headers)
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert sum(1 for i in body['created'] if i['kind'] == 'document') == 3
    mine = (await client.get(f'/api/v1/workshops/{body["workshop_id"]}', headers=other.headers)).json()
    assert mine['state'] == 'draft' and mine['owner_id'] == other.id and len(mine['resources']) == 4

    # refusals name what is wrong
    data['version'] = 7
    bad = {'file': ('t.json', json.dumps(data).encode(), 'application/json')}
    assert_problem(await client.post('/api/v1/workshops/import', files=bad, headers=other.headers), 422, 'version 7')
    data['version'] = 1
    data['steps'][3]['title'] = 42
    bad = {'file': ('t.json', json.dumps(data).encode(), 'application/json')}
    assert_problem(
        await client.post('/api/v1/workshops/import', files=bad, headers=other.headers), 422, 'steps[3].title'
    )
    assert_problem(await client.post('/api/v1/workshops/import', files=files, headers=alice.headers), 403)
