"""Live pull progress: one card per pull job, a bar per layer (bytes, percent, speed)."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from components import format as fmt
from services.core import i18n
from services.core.i18n import _
from services.models.admin import PullJob

STATE_COLORS = {'running': 'primary', 'done': 'green-9', 'failed': 'red-9', 'cancelled': 'grey-8'}  # AA on white


def pull_card(job: PullJob, on_cancel: Callable[[int], object] | None) -> None:
    with ui.card().classes('w-full gap-1').props('flat bordered').mark(f'pull-{job.model}'):
        with ui.row().classes('w-full items-center gap-2'):
            ui.icon('download', color=STATE_COLORS[job.state])
            ui.label(_('Pulling {model}', model=job.model) if job.state == 'running' else job.model).classes(
                'font-semibold'
            )
            ui.badge(_(job.state), color=STATE_COLORS[job.state])
            ui.label(_(job.status)).classes('text-sm text-gray-700 dark:text-gray-300')
            ui.space()
            if job.state == 'running' and on_cancel is not None:
                ui.button(_('Cancel'), icon='close', on_click=lambda: on_cancel(job.id)).props('flat dense').classes(
                    'dark:text-blue-300!'
                ).mark(f'cancel-pull-{job.model}')
        if job.state == 'running' or job.state == 'done':
            bar = ui.linear_progress(value=job.percent / 100, show_value=False).props('rounded size=10px')
            bar.mark(f'progress-{job.model}')
            bar._props['aria-label'] = _('Pulling {model}', model=job.model)
            ui.label(
                _('{percent} % · {done} of {total}', percent=i18n.number(job.percent, 1), done=fmt.size(job.completed),
                  total=fmt.size(job.total))
            ).classes('text-sm')  # fmt: skip
        if job.error:
            ui.label(_(job.error)).classes('text-negative text-sm').props('role=alert')
        if job.state == 'running':
            for layer in job.layers:
                with ui.row().classes('w-full items-center gap-2 text-xs text-gray-700 dark:text-gray-300'):
                    digest = layer.digest.removeprefix('sha256:')[:12]
                    ui.label(digest).classes('font-mono w-28')
                    layer_bar = ui.linear_progress(value=layer.percent / 100, show_value=False).classes('w-48')
                    layer_bar.props('size=6px')._props['aria-label'] = _('Layer {digest}', digest=digest)
                    ui.label(
                        f'{i18n.number(layer.percent, 0)} % · {fmt.size(layer.completed)}/{fmt.size(layer.total)} · '
                        f'{fmt.speed(layer.speed)}'
                    )
