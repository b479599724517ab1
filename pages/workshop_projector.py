"""What the projector view shows below the progress matrix: the arena's class leaderboard and the results gallery,
both live (the dashboard page calls `projector_parts` in projector mode)."""

from __future__ import annotations

from nicegui import ui

from pages.workshop_arena import board_row, leaderboard
from pages.workshop_gallery import projector_gallery
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.i18n import _
from services.wiring import Services


async def projector_parts(services: Services, user: UserInfo, workshop_id: int) -> None:
    ws = services.workshops
    try:
        board = [board_row(r) for r in await ws.arena_leaderboard(user.id, workshop_id)]
        shown = await ws.gallery_shown(user.id, workshop_id)
    except ServiceError as exc:
        ui.label(_(exc.message)).classes('text-red-700 dark:text-red-300')
        return
    with ui.row().classes('w-full gap-6 items-start no-wrap max-lg:flex-wrap'):
        with ui.column().classes('w-full gap-2'):
            ui.label(_('Arena leaderboard')).classes('text-2xl font-semibold')
            leaderboard(services, workshop_id, board, big=True)
        with ui.column().classes('w-full gap-2'):
            projector_gallery(services, workshop_id, shown)
