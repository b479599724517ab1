"""Tools never run code on the server (threat-model T11).

Tools are declarative: a built-in implementation chosen by name, an HTTP call, or a static JSON response. The attack:
tool definitions that try to smuggle code in — an unknown kind, a built-in named after a Python callable, a static
response or a schema holding Python, arguments that try format-string or template tricks — through the API. Each is
refused with a clear error or stays inert data, and no file appears on the server. A scan of the source makes sure
no module of the app calls `exec`, `eval` or `compile`, unpickles, or starts a shell.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE = "__import__('os').system('touch {marker}')"


@pytest.mark.parametrize(
    'definition',
    [
        {'kind': 'python', 'config': {'code': CODE}},
        {'kind': 'builtin', 'config': {'builtin': 'os.system'}},
        {'kind': 'builtin', 'config': {'builtin': '__import__'}},
        {'kind': 'builtin', 'config': {'builtin': 'eval'}},
    ],
)
async def test_a_tool_that_names_code_is_refused(client, alice, tmp_path: Path, definition: dict) -> None:
    marker = tmp_path / 'pwned'
    config = {k: (v.format(marker=marker) if isinstance(v, str) else v) for k, v in definition['config'].items()}
    body = {'name': 'sneaky', 'description': 'runs code', 'parameters': {'type': 'object'}, **definition}
    body['config'] = config
    response = await client.post('/api/v1/tools', json=body, headers=alice.headers)
    assert response.status_code in (400, 422), response.text
    assert response.headers['content-type'].startswith('application/problem+json')
    assert not marker.exists()
    assert (await client.get('/api/v1/tools', headers=alice.headers)).json()['total'] == 0


async def test_code_in_a_static_tool_or_its_arguments_stays_data(client, alice, tmp_path: Path) -> None:
    marker = tmp_path / 'pwned'
    code = CODE.format(marker=marker)
    body = {
        'name': 'echo',
        'description': 'returns what it holds',
        'parameters': {'type': 'object', 'properties': {'x': {'type': 'string', 'default': code}}},
        'kind': 'static',
        'config': {'response': {'text': code, 'template': '{x.__class__.__mro__}', 'jinja': '{{ 7*7 }}'}},
    }
    created = await client.post('/api/v1/tools', json=body, headers=alice.headers)
    assert created.status_code == 201, created.text
    tool_id = created.json()['id']
    for args in ({'x': code}, {'x': '{0.__globals__}'}, {'x': '{{ cycler.__init__.__globals__.os }}'}):
        called = await client.post(f'/api/v1/tools/{tool_id}/call', json={'arguments': args}, headers=alice.headers)
        assert called.status_code == 200, called.text
        result = called.json()
        assert result['result'] == {'text': code, 'template': '{x.__class__.__mro__}', 'jinja': '{{ 7*7 }}'}
    assert not marker.exists()


async def test_the_calculator_evaluates_arithmetic_only(client, alice, tmp_path: Path) -> None:
    marker = tmp_path / 'pwned'
    for expression in (CODE.format(marker=marker), '().__class__.__bases__[0].__subclasses__()', 'open("/etc/passwd")'):
        response = await client.post(
            '/api/v1/tools/builtin/calculator/call',
            json={'arguments': {'expression': expression}},
            headers=alice.headers,
        )
        assert response.status_code == 200, response.text
        outcome = response.json()
        assert outcome['ok'] is False and outcome['result'] is None and 'allowed' in outcome['error']
        assert 'root:' not in response.text  # nothing of /etc/passwd came back
    assert not marker.exists()
    ok = await client.post(
        '/api/v1/tools/builtin/calculator/call', json={'arguments': {'expression': '6 * 7'}}, headers=alice.headers
    )
    assert ok.json()['ok'] is True and '42' in str(ok.json()['result'])


FORBIDDEN_CALLS = {'exec', 'eval', 'compile', '__import__'}
FORBIDDEN_MODULES = {'pickle', 'marshal', 'shelve', 'dill', 'cloudpickle'}


def _app_sources() -> list[Path]:
    files = [ROOT / 'app.py', ROOT / 'config.py']
    for folder in ('services', 'api', 'pages', 'components', 'models'):
        files += sorted((ROOT / folder).rglob('*.py'))
    return files


def test_no_module_of_the_app_can_run_code_from_text() -> None:
    found = []
    for path in _app_sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else None
                if name in FORBIDDEN_CALLS:
                    found.append(f'{where}:{node.lineno}: {name}()')
                for keyword in node.keywords:
                    if keyword.arg == 'shell' and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                    ):
                        found.append(f'{where}:{node.lineno}: a shell')
                if (
                    isinstance(node.func, ast.Attribute)
                    and node.func.attr in ('system', 'popen')
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == 'os'
                ):
                    found.append(f'{where}:{node.lineno}: os.{node.func.attr}()')
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or '']
                found += [f'{where}:{node.lineno}: import {n}' for n in names if n.split('.')[0] in FORBIDDEN_MODULES]
    assert not found, 'code execution from data is not allowed:\n' + '\n'.join(found)
