"""Tools in the UI: each kind, the console, the HTTP allow-list and SSRF refusals, and access control."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from nicegui.testing import User

from services.core import actions
from services.tools.library import ToolDraft
from services.wiring import Services
from tests.ui.conftest import sign_in


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _json(self, status: int, data: object) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == '/weather':
            self._json(200, {'city': query.get('city', ['?'])[0], 'temp_c': 21, 'host': self.headers['Host']})
        elif url.path.startswith('/redirect/'):
            self.send_response(302)
            self.send_header('Location', {'internal': 'http://169.254.169.254/latest/meta-data/',
                                          'self': '/weather?city=Paris'}[url.path.rsplit('/', 1)[1]])  # fmt: skip
            self.send_header('Content-Length', '0')
            self.end_headers()
        elif url.path == '/big':
            self._json(200, {'data': 'x' * 400_000})
        else:
            self._json(500, {'error': 'boom'})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'] or 0)) or b'{}')
        self._json(200, {'received': body, 'path': self.path})


@pytest.fixture
def web() -> Iterator[str]:
    """A real HTTP server on loopback (reachable only through an explicit, unsafe allow-list entry)."""
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f'127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


def only(user: User, marker: str):
    [element] = user.find(marker=marker).elements
    return element


async def test_static_tool_created_in_the_form_editor_and_called_in_the_console(
    user: User, services: Services, make_account
) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await user.open('/tools')
    await user.should_see('calculator')
    user.find(marker='new-tool').click()
    await user.should_see('Save tool')
    user.find(marker='tool-name').type('get weather')
    user.find(marker='tool-description').type('The weather in a city')
    user.find(marker='add-param').click()
    await user.should_see(marker='param-name-1')
    user.find(marker='param-name-1').type('city')
    only(user, 'static-response').value = '{"forecast": "sunny"}'
    user.find(marker='save-tool').click()
    await user.should_see('A tool name must look like a function name')
    only(user, 'tool-name').value = 'get_weather'
    user.find(marker='save-tool').click()
    await user.should_see('Tool get_weather saved.', retries=30)
    [tool] = await services.tools.list_tools(ada)
    assert tool.parameters == {'type': 'object', 'properties': {'city': {'type': 'string'}}, 'required': ['city']}
    await user.open(f'/tools/{tool.id}')
    only(user, 'console-args').value = '{}'
    user.find(marker='console-call').click()
    await user.should_see('Missing required argument(s): city.', retries=20)
    only(user, 'console-args').value = '{"city": "Oslo"}'
    user.find(marker='console-call').click()
    await user.should_see(marker='console-result', retries=20)
    assert json.loads(only(user, 'console-result').content) == {'forecast': 'sunny'}
    calls = await services.activity.query(user_id=ada, action=actions.TOOL_CALL)
    assert [c.details['ok'] for c in calls] == [True, False]


async def test_raw_json_schema_editor_validates(user: User, make_account) -> None:
    await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await user.open('/tools/new')
    user.find(marker='tool-name').type('lookup')
    user.find(marker='tool-description').type('Look something up')
    only(user, 'param-mode').value = 'json'
    await user.should_see(marker='tool-parameters-json')
    only(user, 'tool-parameters-json').value = '{"type": "object", "properties": {"q": {"type": "date"}}}'
    user.find(marker='save-tool').click()
    await user.should_see('has type "date"')
    only(user, 'tool-parameters-json').value = json.dumps(
        {'type': 'object', 'properties': {'q': {'type': 'string', 'enum': ['a', 'b']}}, 'required': ['q']}
    )
    user.find(marker='save-tool').click()
    await user.should_see('Tool lookup saved.', retries=30)


async def test_builtin_tools_in_the_console(user: User, services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await user.open('/tools/builtin/calculator')
    only(user, 'console-args').value = '{"expression": "(2 + 3) * 4 ** 2"}'
    user.find(marker='console-call').click()
    await user.should_see(marker='console-result', retries=20)
    assert json.loads(only(user, 'console-result').content)['result'] == 80
    only(user, 'console-args').value = '{"expression": "().__class__.__bases__"}'
    user.find(marker='console-call').click()
    await user.should_see('Only numbers and + - * / // % ** with parentheses are allowed', retries=20)
    datetime = await services.tools.execute(ada, 'builtin:current_datetime', {'timezone': 'Asia/Tokyo'})
    assert datetime.ok and datetime.result['utc_offset'] == '+0900'
    bad_zone = await services.tools.execute(ada, 'builtin:current_datetime', {'timezone': '../../etc/passwd'})
    assert not bad_zone.ok and 'Unknown time zone' in bad_zone.error
    converted = await services.tools.execute(
        ada, 'builtin:convert_units', {'value': 10, 'from_unit': 'km', 'to_unit': 'miles'}
    )
    assert converted.ok and round(converted.result['result'], 3) == 6.214
    # a built-in saved as a tool of one's own gets the built-in's parameters
    tool = await services.tools.create(
        ada,
        ToolDraft(name='clock', description='What time is it', kind='builtin', config={'builtin': 'current_datetime'}),
    )
    assert tool.parameters['required'] == ['timezone']


async def test_http_tool_success_through_an_explicit_loopback_allowance(
    user: User, services: Services, make_account, web: str
) -> None:
    admin = await make_account('ada@example.org', 'Ada')
    host, port = web.split(':')
    await sign_in(user, 'ada@example.org')
    await user.open('/admin/http-allowlist')
    await user.should_see('No hosts yet')
    user.find(marker='allow-host').type(host)
    only(user, 'allow-private').value = True
    user.find(marker='allow-add').click()
    await user.should_see('Allowing private or loopback addresses needs a specific port.')
    only(user, 'allow-port').value = int(port)
    user.find(marker='allow-add').click()
    await user.should_see('127.0.0.1 allowed.', retries=20)
    await user.should_see('private addresses allowed')
    tool = await services.tools.create(
        admin,
        ToolDraft(
            name='weather', description='Weather', kind='http', parameters={'type': 'object', 'properties': {
                'city': {'type': 'string'}}, 'required': ['city']},
            config={'method': 'GET', 'url': f'http://{web}/weather?city={{city}}', 'headers': {'X-Key': 'k'}},
        ),
    )  # fmt: skip
    bob = await make_account('bob@example.org', 'Bob')
    await services.tools.update(admin, tool.id, ToolDraft(
        name=tool.name, description=tool.description, kind='http', parameters=tool.parameters, config=tool.config,
        visibility='public'))  # fmt: skip
    assert (await services.tools.get(bob, tool.id)).config['headers'] == {'X-Key': '(hidden)'}
    assert (await services.tools.execute(bob, tool.ref, {'city': 'Rome'})).result['body']['city'] == 'Rome'
    await user.open(f'/tools/{tool.id}')
    only(user, 'console-args').value = '{"city": "São Paulo & more"}'
    user.find(marker='console-call').click()
    await user.should_see(marker='console-result', retries=30)
    result = json.loads(only(user, 'console-result').content)
    assert result['status'] == 200 and result['body']['city'] == 'São Paulo & more'  # percent-encoded, not injected
    # a redirect to the same allowed host is followed; one to the metadata address is refused
    for path, expect in (('self', 'Paris'), ('internal', None)):
        redirect = await services.tools.create(
            admin, ToolDraft(name=f'r_{path}', description='r', kind='http',
                             config={'method': 'GET', 'url': f'http://{web}/redirect/{path}'}),
        )  # fmt: skip
        outcome = await services.tools.execute(admin, redirect.ref, {})
        if expect:
            assert outcome.ok and outcome.result['body']['city'] == expect
        else:
            assert not outcome.ok and 'not on the allow-list' in outcome.error
    big = await services.tools.create(
        admin, ToolDraft(name='big', description='b', kind='http', config={'method': 'GET', 'url': f'http://{web}/big'})
    )
    outcome = await services.tools.execute(admin, big.ref, {})
    assert not outcome.ok and 'larger than the limit' in outcome.error
    post = await services.tools.create(
        admin, ToolDraft(name='post', description='p', kind='http', parameters={'type': 'object', 'properties': {
            'n': {'type': 'integer'}}}, config={'method': 'POST', 'url': f'http://{web}/echo'}),
    )  # fmt: skip
    outcome = await services.tools.execute(admin, post.ref, {'n': 3})
    assert outcome.ok and outcome.result['body']['received'] == {'n': 3}
    failing = await services.tools.create(
        admin, ToolDraft(name='oops', description='o', kind='http', config={'method': 'GET', 'url': f'http://{web}/x'})
    )
    outcome = await services.tools.execute(admin, failing.ref, {})
    assert not outcome.ok and 'HTTP 500' in outcome.error


@pytest.mark.parametrize(
    'url',
    [
        'http://127.0.0.1:{port}/weather',
        'http://localhost:{port}/weather',
        'http://169.254.169.254/latest/meta-data/',
        'http://10.1.2.3/',
        'http://192.168.0.1/',
        'http://[::1]:{port}/',
        'http://0x7f.1:{port}/',
        'http://2130706433:{port}/',
        'http://allowed.example@127.0.0.1:{port}/',
    ],
)
async def test_http_tools_refuse_internal_targets(services: Services, make_account, web: str, url: str) -> None:
    admin = await make_account('ada@example.org', 'Ada')
    port = web.split(':')[1]
    for host in ('127.0.0.1', 'localhost', '169.254.169.254', '10.1.2.3', '192.168.0.1', '::1', 'allowed.example'):
        await services.tools.allow_host(admin, host)  # allow-listed, but without the explicit private exception
    url = url.format(port=port)
    try:
        tool = await services.tools.create(
            admin, ToolDraft(name='t', description='t', kind='http', config={'method': 'GET', 'url': url})
        )
    except Exception as exc:  # odd forms are refused when the tool is saved
        assert 'not usable' in str(exc)
        return
    outcome = await services.tools.execute(admin, tool.ref, {})
    assert not outcome.ok and outcome.error.startswith('Refused:')


async def test_private_tool_is_not_found_for_others(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    await make_account('bob@example.org', 'Bob')
    tool = await services.tools.create(
        ada, ToolDraft(name='secret', description='Secret', kind='static', config={'response': {'pin': 1234}})
    )
    bob = create_user()
    await sign_in(bob, 'bob@example.org')
    await bob.open(f'/tools/{tool.id}')
    await bob.should_see('No such tool')
    await bob.should_not_see('1234')
    await bob.open('/tools')
    await bob.should_not_see('secret')
    await bob.open('/admin/http-allowlist')
    await bob.should_see('This page needs the admin role.')
