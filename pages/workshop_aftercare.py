"""After the session: the printable certificate of completion (an attendee's own, or any attendee's for the
instructors) and the timeline replay of the session (instructors)."""

from __future__ import annotations

from typing import Any

from nicegui import APIRouter, ui

from components import theme
from components.frame import frame
from pages.common import page_user
from services.core.auth import Role
from services.core.errors import ServiceError
from services.wiring import Services
from services.workshops.aftercare import Certificate, certificate, timeline

PRINT_CSS = """
@media print {
  .no-print, .q-header, .q-drawer, .q-footer, .q-notifications { display: none !important; }
  .q-page-container { padding: 0 !important; }
  body { background: white !important; }
  .certificate { border: 6px double #555 !important; box-shadow: none !important; }
}
@page { size: A4 landscape; margin: 12mm; }
"""


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/workshops')

    async def show_certificate(workshop_id: int, user_id: int | None) -> None:
        user = await page_user(services)
        if user is None:
            return
        try:
            record = await certificate(services.workshops, user.id, workshop_id, user_id)
        except ServiceError as exc:
            with frame(services, user, 'Certificate'):
                ui.label(exc.message).classes('text-negative')
                ui.link('Back to your workshops', '/workshops')
            return
        theme.apply()
        ui.page_title(f'Certificate · {record.attendee_name} · {record.workshop_title}')
        ui.add_css(PRINT_CSS)
        _certificate(record, back=f'/workshops/{workshop_id}' + ('/timeline' if user_id else ''))

    @router.page('/{workshop_id}/certificate')
    async def own_certificate(workshop_id: int) -> None:
        await show_certificate(workshop_id, None)

    @router.page('/{workshop_id}/certificate/{user_id}')
    async def attendee_certificate(workshop_id: int, user_id: int) -> None:
        await show_certificate(workshop_id, user_id)

    @router.page('/{workshop_id}/timeline')
    async def timeline_page(workshop_id: int) -> None:
        user = await page_user(services, Role.INSTRUCTOR)
        if user is None:
            return
        try:
            data = await timeline(services.workshops, user.id, workshop_id)
            people = await services.workshops.identity.attendees(user.id, workshop_id)
        except ServiceError as exc:
            with frame(services, user, 'Timeline'):
                ui.label(exc.message).classes('text-negative')
            return
        with frame(services, user, f'Timeline · {data["workshop"]["title"]}'):
            Replay(data).build()
            _certificates(workshop_id, people)

    return router


def _certificate(record: Certificate, *, back: str) -> None:
    passed = record.passed
    with ui.column().classes('w-full items-center p-6 gap-4'):
        with ui.row().classes('no-print gap-2'):
            ui.button('Print', icon='print', on_click=lambda: ui.run_javascript('window.print()')).mark('cert-print')
            ui.button('Back', icon='arrow_back', on_click=lambda: ui.navigate.to(back)).props('flat')
        with ui.card().classes('certificate w-full max-w-3xl items-center gap-3 p-10 text-center').props('bordered'):
            ui.label(theme.PRODUCT_NAME).classes('text-sm uppercase tracking-widest text-gray-500')
            ui.label('Certificate of completion').classes('text-4xl font-serif').mark('cert-title')
            ui.label('This certifies that').classes('text-gray-500')
            ui.label(record.attendee_name).classes('text-3xl font-semibold').mark('cert-name')
            ui.label('took part in the workshop').classes('text-gray-500')
            ui.label(record.workshop_title).classes('text-2xl').mark('cert-workshop')
            when = record.date.astimezone().strftime('%d %B %Y')
            ui.label(f'{"held on" if record.ended else "in progress since"} {when} · run by {record.instructor_name}')
            ui.label(f'and completed {len(passed)} of {len(record.steps)} steps:').classes('mt-2').mark('cert-count')
            if not passed:
                ui.label('No step completed yet.').classes('text-gray-500')
            with ui.column().classes('items-start gap-1'):
                for step in passed:
                    with ui.row().classes('items-center gap-2 no-wrap'):
                        ui.icon('check_circle', color='positive')
                        ui.label(step.title).mark('cert-step')
            if not record.ended:
                ui.label('The workshop is still running: this record grows as you complete steps.').classes(
                    'text-sm text-gray-500 no-print'
                )


def _certificates(workshop_id: int, people: list[dict[str, Any]]) -> None:
    ui.label('Certificates of completion').classes('text-lg font-semibold mt-4')
    if not people:
        ui.label('No attendees.').classes('text-gray-500')
    with ui.row().classes('w-full gap-3'):
        for p in people:
            ui.link(f'{p["name"]} ({p["steps_done"]})', f'/workshops/{workshop_id}/certificate/{p["user_id"]}').mark(
                f'cert-link-{p["user_id"]}'
            )


class Replay:
    """The session over time: a chart of attendees, completed steps and hands, and a slider that shows the class at
    one moment (steps done per step, hands open)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.frames = data['frames']

    def build(self) -> None:
        data = self.data
        with ui.row().classes('w-full items-center gap-4'):
            ui.label(f'{data["attendees"]} attendee(s) · {len(data["hands"])} raised hand(s)').mark('tl-head')
            stuck = next((s for s in data['per_step'] if s['stuck']), None)
            if stuck:
                ui.label(f'The class got stuck most at: {stuck["title"]}').classes('text-warning font-semibold').mark(
                    'tl-stuck'
                )
        if not data['steps'] and not data['attendees']:
            ui.label('Nothing happened in this workshop yet: no attendees, no steps.').classes('text-gray-500')
            return
        ui.echart(self._over_time()).classes('w-full h-72').mark('tl-chart')
        with ui.row().classes('w-full items-center gap-4'):
            ui.label('Replay').classes('font-semibold')
            self.slider = ui.slider(min=0, max=len(self.frames) - 1, value=len(self.frames) - 1, step=1)
            self.slider.classes('grow').props('label-always=false').mark('tl-slider')
            self.moment = ui.label().classes('w-80 text-sm').mark('tl-moment')
        self.steps_chart = ui.echart(self._at_frame(len(self.frames) - 1)).classes('w-full h-64').mark('tl-steps')
        self.slider.on_value_change(lambda e: self.show(int(e.value)))
        self.show(len(self.frames) - 1)
        self._stuck_table()
        self._hands_table()

    def show(self, index: int) -> None:
        frame_ = self.frames[max(0, min(index, len(self.frames) - 1))]
        self.moment.text = (
            f'minute {frame_["minute"]:g}: {frame_["attendees"]} attendee(s), {frame_["completed"]} step(s) done, '
            f'{frame_["hands_open"]} hand(s) up'
        )
        self.steps_chart.options.update(self._at_frame(index))
        self.steps_chart.update()

    def _over_time(self) -> dict[str, Any]:
        minutes = [f['minute'] for f in self.frames]
        return {
            'title': {'text': 'The session over time (minutes since the start)', 'textStyle': {'fontSize': 13}},
            'tooltip': {'trigger': 'axis'},
            'legend': {'bottom': 0},
            'xAxis': {'type': 'category', 'data': minutes, 'name': 'min'},
            'yAxis': {'type': 'value', 'minInterval': 1},
            'series': [
                {'name': 'attendees', 'type': 'line', 'step': 'end', 'data': [f['attendees'] for f in self.frames]},
                {'name': 'steps completed', 'type': 'line', 'data': [f['completed'] for f in self.frames]},
                {'name': 'hands up', 'type': 'bar', 'data': [f['hands_open'] for f in self.frames]},
            ],
        }

    def _at_frame(self, index: int) -> dict[str, Any]:
        frame_ = self.frames[max(0, min(index, len(self.frames) - 1))]
        titles = [f'{i + 1}. {t}' for i, t in enumerate(self.data['steps'])]
        return {
            'title': {'text': f'Done per step at minute {frame_["minute"]:g}', 'textStyle': {'fontSize': 13}},
            'xAxis': {'type': 'value', 'max': max(self.data['attendees'], 1), 'minInterval': 1},
            'yAxis': {'type': 'category', 'data': list(reversed(titles))},
            'series': [{'type': 'bar', 'data': list(reversed(frame_['per_step']))}],
            'grid': {'left': 180},
        }

    def _stuck_table(self) -> None:
        ui.label('Where the class got stuck').classes('text-lg font-semibold')
        columns = [
            {'name': 'title', 'label': 'Step', 'field': 'title', 'align': 'left'},
            {'name': 'done', 'label': 'Done', 'field': 'done'},
            {'name': 'not_done', 'label': 'Not done', 'field': 'not_done'},
            {'name': 'median', 'label': 'Median minutes', 'field': 'median'},
            {'name': 'hands', 'label': 'Hands raised', 'field': 'hands'},
            {'name': 'flag', 'label': '', 'field': 'flag', 'align': 'left'},
        ]
        rows = [
            {**s, 'id': i, 'median': s['median_minutes'] if s['median_minutes'] is not None else '–',
             'flag': 'most stuck' if s['stuck'] else ''}
            for i, s in enumerate(self.data['per_step'])
        ]  # fmt: skip
        ui.table(columns=columns, rows=rows, row_key='id').props('dense flat bordered').classes('w-full').mark(
            'tl-per-step'
        )

    def _hands_table(self) -> None:
        ui.label('Raised hands').classes('text-lg font-semibold')
        if not self.data['hands']:
            ui.label('No hand was raised.').classes('text-gray-500')
            return
        rows = [
            {'id': i, 'minute': h['minute'], 'name': h['name'], 'step': h['step'], 'message': h['message'] or '',
             'resolved': f'after {h["resolved_after_min"]:g} min' if h['resolved_after_min'] is not None else 'open'}
            for i, h in enumerate(self.data['hands'])
        ]  # fmt: skip
        ui.table(rows=rows, row_key='id').props('dense flat bordered').classes('w-full').mark('tl-hands')
