"""The dashboard benchmark's baseline: a bare NiceGUI app doing the least the platform's room does.

    python benchmarks/bare_nicegui.py   (PORT from the environment; started by bench_dashboard.py)

It answers the same benchmark endpoints as the platform with BENCH_ENDPOINT=true (join, login, act, announce, stats)
and serves an "attendee page" (a label) and a "dashboard" (a label). An action sets the label of every open dashboard
to `note=<marker>`; an announcement is a `ui.notify` on every attendee page. Same NiceGUI, same uvicorn, same
socket.io clients as the platform's run: what the platform adds on top is what the ratio shows.
"""

from __future__ import annotations

import gc
import os

from fastapi import Request
from nicegui import Client, app, ui

attendees: set[Client] = set()
dashboards: dict[Client, ui.label] = {}


def _forget(client: Client) -> None:
    attendees.discard(client)
    dashboards.pop(client, None)


@ui.page('/workshops/{workshop_id}')
def attendee_page(workshop_id: int, client: Client) -> None:
    ui.label(f'Workshop {workshop_id}')
    attendees.add(client)
    client.on_disconnect(lambda: _forget(client))


@ui.page('/workshops/{workshop_id}/dashboard')
def dashboard_page(workshop_id: int, client: Client) -> None:
    ui.label(f'Dashboard {workshop_id}')
    dashboards[client] = ui.label('')
    client.on_disconnect(lambda: _forget(client))


@app.get('/health')
def health() -> dict:
    return {'status': 'ok'}


@app.post('/api/bench/join')
def join(code: str, name: str) -> dict:
    return {'user_id': 0, 'workshop_id': 1}


@app.post('/api/bench/login')
def login(email: str, password: str) -> dict:
    return {'user_id': 0}


@app.post('/api/bench/act')
def act(request: Request, note: str = '') -> dict:
    for label in dashboards.values():
        label.text = f'note={note[:100]}'
    return {'id': 0, 'workshop_id': 1}


@app.post('/api/bench/announce')
def announce(workshop_id: int, text: str) -> dict:
    for client in list(attendees):
        with client:
            ui.notify(text)
    return {'id': 0}


@app.get('/api/bench/stats')
def stats(reset: bool = False) -> dict:
    return {'gc_objects': len(gc.get_objects()), 'gc_frozen': gc.get_freeze_count()}


if __name__ in {'__main__', '__mp_main__'}:
    ui.run(
        host='127.0.0.1',
        port=int(os.environ['PORT']),
        reload=False,
        show=False,
        storage_secret='bench-secret',
        show_welcome_message=False,
    )
