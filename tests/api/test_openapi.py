"""/docs lists every endpoint with its schemas: this test fails when an /api/v1 or /v1 route is undocumented."""

from __future__ import annotations

from nicegui import app

DOCUMENTED_PREFIXES = ('/api/v1', '/v1/')


def _content_schema(response: dict) -> bool:
    return any('schema' in media for media in (response.get('content') or {}).values())


async def test_every_api_endpoint_is_documented(services, client) -> None:
    app.openapi_schema = None
    schema = app.openapi()
    operations = [
        (path, method, op)
        for path, item in schema['paths'].items()
        if path.startswith(DOCUMENTED_PREFIXES)
        for method, op in item.items()
    ]
    assert len(operations) >= 25
    problems = []
    for path, method, op in operations:
        where = f'{method.upper()} {path}'
        if not op.get('summary'):
            problems.append(f'{where}: no summary')
        ok = {code: r for code, r in op['responses'].items() if code.startswith('2')}
        if not ok:
            problems.append(f'{where}: no success response')
        elif not any(_content_schema(r) for r in ok.values()) and '204' not in ok:
            problems.append(f'{where}: success response without a schema')
        if not any(code.startswith('4') for code in op['responses']):
            problems.append(f'{where}: error responses undocumented')
        if {'PersonalToken': []} not in op.get('security', []):
            problems.append(f'{where}: bearer auth not declared')
    assert not problems, '\n'.join(problems)
    scheme = schema['components']['securitySchemes']['PersonalToken']
    assert scheme['type'] == 'http' and scheme['scheme'] == 'bearer' and 'query string' in scheme['description']
    assert 'Problem' in schema['components']['schemas']
    # the same document is served to /docs
    served = await client.get('/openapi.json')
    assert served.status_code == 200 and set(served.json()['paths']) >= {p for p, _, _ in operations}
    docs = await client.get('/docs')
    assert docs.status_code == 200 and 'swagger' in docs.text.lower()
