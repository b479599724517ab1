"""The page frame: Ollama status and the banner when Ollama is unreachable; health endpoints; request ids."""

from __future__ import annotations

import logging

from nicegui.testing import User

from services.wiring import Services
from tests.ollama_server import OllamaTestServer
from tests.ui.conftest import sign_in


async def test_banner_names_the_host_when_ollama_is_down(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await services.health.check_now()
    await user.should_see('Ollama: up')
    await user.should_not_see('is not reachable')

    ollama_server.go_down()
    await services.health.check_now()  # the monitor pushes the change to open pages
    await user.should_see(f'Ollama at {ollama_server.url} is not reachable.')
    await user.should_see('Start Ollama on that machine')
    await user.open('/admin/users')  # every page shows it
    await user.should_see(f'Ollama at {ollama_server.url} is not reachable.')

    ollama_server.come_up()
    await services.health.check_now()
    await user.should_not_see('is not reachable')


async def test_attendee_banner_says_what_to_do(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await make_account('ada@example.org', 'Ada')
    await make_account('bob@example.org', 'Bob')
    ollama_server.go_down()
    await services.health.check_now()
    await sign_in(user, 'bob@example.org')
    await user.should_see('Tell your instructor or admin.')


async def test_health_and_readiness(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    response = await user.http_client.get('/health')
    assert response.status_code == 200 and response.json() == {'status': 'ok'}
    assert response.headers['x-request-id']
    response = await user.http_client.get('/health/ready')  # without authentication: only ready / not ready
    assert response.status_code == 200 and response.json() == {'status': 'ok'}
    admin = {
        'Authorization': f'Bearer {(await services.tokens.create(await make_account("ada@example.org"), "t")).secret}'
    }
    response = await user.http_client.get('/health/ready', headers=admin)  # details for admins
    report = response.json()
    assert response.status_code == 200, report
    assert report['database']['status'] == 'ok' and report['vector_store']['status'] == 'ok'
    assert report['ollama'][0]['url'] == ollama_server.url and report['ollama'][0]['status'] == 'ok'
    assert report['disk']['status'] == 'ok' and report['disk']['free_mb'] > 0
    # Ollama down: the process still serves its pages — degraded, not down, so a load balancer keeps it in
    ollama_server.go_down()
    response = await user.http_client.get('/health/ready', headers=admin)
    assert response.status_code == 200 and response.json()['status'] == 'degraded'
    assert response.json()['ollama'][0]['status'] == 'down'
    assert any(p.startswith(f'Ollama {ollama_server.url}') for p in response.json()['problems'])
    response = await user.http_client.get('/health/ready')
    assert response.status_code == 200 and response.json() == {'status': 'degraded'}


async def test_request_id_is_on_log_lines_of_requests_and_ui_events(user: User, make_account, caplog) -> None:
    await make_account('ada@example.org', 'Ada')
    caplog.set_level(logging.INFO)
    response = await user.http_client.get('/health', headers={'X-Request-ID': 'trace-abc123'})
    assert response.headers['x-request-id'] == 'trace-abc123'
    await user.open('/login')
    user.find(marker='email').type('ada@example.org')
    user.find(marker='password').type('wrong-password-1')
    user.find(marker='submit').click()
    await user.should_see('Wrong email or password.', retries=30)
    failed = [r for r in caplog.records if 'failed login' in r.getMessage()]
    assert failed and failed[0].request_id.startswith('ev-')
