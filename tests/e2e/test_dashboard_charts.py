"""The live dashboard's own charts filled by a working room (issue 17 item 2: the screenshot next to the Grafana
dashboard in docs/deployment.md): attendees chat over the API, the instructor watches the charts fill in Chromium."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import ARTIFACTS, screenshot
from tests.ollama_server import OllamaTestServer
from tests.security.live import PASSWORD, running_app

ATTENDEES = ('ann', 'bob', 'cem', 'dua', 'eli')


def test_dashboard_charts_fill_with_the_rooms_activity(
    tmp_path: Path, ollama: OllamaTestServer, browser: Browser
) -> None:
    ollama.come_up()
    ollama.reset()
    with running_app(tmp_path, ollama, ('admin', 'teacher', *ATTENDEES), WORKSHOP_SAMPLE_SECONDS='1') as (live, acc):
        api = httpx.Client(base_url=live.url, timeout=30)
        teacher = acc['teacher'].headers
        workshop = api.post('/api/v1/workshops', json={'title': 'Local LLMs 101'}, headers=teacher).json()
        assert api.post(f'/api/v1/workshops/{workshop["id"]}/start', headers=teacher).status_code < 300
        for name in ATTENDEES:
            joined = api.post('/api/v1/workshops/join', json={'code': workshop['join_code']}, headers=acc[name].headers)
            assert joined.status_code == 200, joined.text

        page = browser.new_context(viewport={'width': 1400, 'height': 900}).new_page()
        page.set_default_timeout(20_000)
        page.goto(f'{live.url}/login')
        page.get_by_label('Email').fill('teacher@example.org')
        page.get_by_label('Password', exact=True).fill(PASSWORD)
        page.get_by_label('Password', exact=True).press('Enter')
        page.get_by_text('Welcome,').wait_for()
        page.goto(f'{live.url}/workshops/{workshop["id"]}/dashboard')
        expect(page.get_by_text('5 attendee(s)')).to_be_visible()

        # a few seconds of a room at work: chats with two models, of different lengths, by everyone
        deadline = time.monotonic() + 8
        turn = 0
        while time.monotonic() < deadline:
            for i, name in enumerate(ATTENDEES):
                model = 'llama3.2' if (i + turn) % 3 else 'qwen3:0.6b'
                body = {'model': model, 'messages': [{'role': 'user', 'content': 'Explain RAG ' * (1 + i)}]}
                assert api.post('/api/v1/chat', json=body, headers=acc[name].headers).status_code == 200
            turn += 1
            time.sleep(0.3)
        charts = page.locator('.nicegui-echart')
        expect(charts.first).to_be_visible()
        expect(page.get_by_text('Sampling…')).to_have_count(0)  # the Ollama load panel has its first sample
        page.wait_for_timeout(2500)  # two more samples land in the charts
        expect(page.locator('tr', has_text='Ann').first).to_contain_text('Ann')  # each attendee's row, with counts
        screenshot(page, 'dashboard-with-charts')
        # the charts alone (what docs/deployment.md shows next to the Grafana dashboard)
        charts.first.scroll_into_view_if_needed()
        boxes = [charts.nth(i).bounding_box() for i in range(charts.count())]
        boxes.append(page.get_by_text('Ollama load').bounding_box())
        left, top = min(b['x'] for b in boxes), min(b['y'] for b in boxes)
        right, bottom = max(b['x'] + b['width'] for b in boxes), max(b['y'] + b['height'] for b in boxes)
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / 'dashboard-charts.png'
        page.screenshot(path=str(path), clip={'x': left, 'y': top, 'width': right - left, 'height': bottom - top})
        assert path.stat().st_size > 20_000  # drawn charts, not empty frames
        api.close()
        page.context.close()
