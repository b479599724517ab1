"""Live pull progress: one card per pull job, a bar per layer (bytes, percent, speed)."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from components import format as fmt
from services.models.admin import PullJob

STATE_COLORS = {'running': 'primary', 'done': 'positive', 'failed': 'negative', 'cancelled': 'grey'}


def pull_card(job: PullJob, on_cancel: Callable[[int], object] | None) -> None:
    with ui.card().classes('w-full gap-1').props('flat bordered').mark(f'pull-{job.model}'):
        with ui.row().classes('w-full items-center gap-2'):
            ui.icon('download', color=STATE_COLORS[job.state])
            ui.label(f'Pulling {job.model}' if job.state == 'running' else job.model).classes('font-semibold')
            ui.badge(job.state, color=STATE_COLORS[job.state])
            ui.label(job.status).classes('text-sm text-gray-500')
            ui.space()
            if job.state == 'running' and on_cancel is not None:
                ui.button('Cancel', icon='close', on_click=lambda: on_cancel(job.id)).props('flat dense').mark(
                    f'cancel-pull-{job.model}'
                )
        if job.state == 'running' or job.state == 'done':
            ui.linear_progress(value=job.percent / 100, show_value=False).props('rounded size=10px').mark(
                f'progress-{job.model}'
            )
            ui.label(f'{job.percent:.1f} % · {fmt.size(job.completed)} of {fmt.size(job.total)}').classes('text-sm')
        if job.error:
            ui.label(job.error).classes('text-negative text-sm').props('role=alert')
        if job.state == 'running':
            for layer in job.layers:
                with ui.row().classes('w-full items-center gap-2 text-xs text-gray-500'):
                    ui.label(layer.digest.removeprefix('sha256:')[:12]).classes('font-mono w-28')
                    ui.linear_progress(value=layer.percent / 100, show_value=False).classes('w-48').props('size=6px')
                    ui.label(
                        f'{layer.percent:.0f} % · {fmt.size(layer.completed)}/{fmt.size(layer.total)} · '
                        f'{fmt.speed(layer.speed)}'
                    )
