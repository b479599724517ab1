"""Ready to teach: the pre-flight panel on a workshop's manage page (its instructors and admins).

For every model the workshop uses and every enabled host: pulled, loaded, the warm-up's load time, time to first
token and tokens per second; one button pulls what is missing and warms everything up, with a live progress bar per
model and host (pushed by `services.workshops.preflight.PreflightService.changed`, no reload); and the capacity
forecast, which follows the attendees online while the workshop is live unless the number is edited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nicegui import ui

from components.forms import loading
from services.core import i18n
from services.core.auth import UserInfo
from services.core.errors import NotAuthenticated, ServiceError
from services.core.i18n import N_, _, _n
from services.models.errors import OllamaError
from services.wiring import Services
from services.workshops import capacity
from services.workshops.preflight import ModelCheck, PreflightReport

PHASE_COLORS = {
    'idle': 'grey-8',
    'queued': 'grey-8',
    'pulling': 'primary',
    'warming': 'primary',
    'done': 'green-9',
    'failed': 'negative',
    'down': 'negative',
}
VERDICT_CLASSES = {
    'ok': 'text-green-800 dark:text-green-300',
    'tight': 'text-amber-800 dark:text-amber-300',
    'overloaded': 'text-red-700 dark:text-red-300',
}
EXPLAINER = N_("""
Each attendee asks about once every *T* seconds, so questions arrive at **λ = N / T** per second. One answer of *k*
tokens takes **S = TTFT + k / (tokens per second)**, as the warm-up measured on each host. A model answers **c**
questions at once: the slots of every host that has it (hosts of different speed are pooled). That is the M/M/c
queue: the chance that a question has to wait is Erlang's C formula **C(c, λ·S)**, and the wait *W* has
**P(W > t) = C · e^(−(c/S − λ)·t)**, so the p95 wait is **ln(C / 0.05) / (c/S − λ)** (0 when fewer than 5 % wait).
When λ·S ≥ c the slots cannot keep up and the queue only grows; the room refuses calls that wait longer than its
limit. Read it as optimistic: bursts (everyone pressing Send at once) and several streams sharing one GPU make waits
longer than this.
""")


@dataclass(slots=True)
class _Row:
    pulled: ui.badge
    loaded: ui.badge
    metrics: ui.label
    bar: ui.linear_progress
    status: ui.label
    message: ui.label


class PreflightPanel:
    def __init__(self, services: Services, user: UserInfo, workshop_id: int) -> None:
        self.preflight = services.preflight
        self.user = user
        self.wid = workshop_id
        self.report: PreflightReport | None = None
        self.rows: dict[tuple[str, str], _Row] = {}
        self.layout: tuple[Any, ...] | None = None
        self.forecast_key: tuple[Any, ...] | None = None
        self._setting = False  # the panel itself is setting the attendee number (not the user)

    # ----- building ---------------------------------------------------------------------------------------------
    def build(self) -> None:
        with ui.card().classes('w-full gap-2').props('flat bordered').mark('preflight'):
            with ui.row().classes('w-full items-center gap-2'):
                ui.icon('flight_takeoff', color='primary').props('aria-hidden=true')
                ui.label(_('Ready to teach')).classes('font-semibold')
                ui.space()
                self.check_button = ui.button(_('Check again'), icon='refresh', on_click=self.check).props('flat')
                self.check_button.mark('preflight-check')
                self.run_button = ui.button(
                    _('Pull what is missing and warm everything up'), icon='local_fire_department', on_click=self.run
                ).mark('preflight-run')
            with ui.row().classes('items-center gap-2'):
                self.spinner = ui.spinner(size='sm')
                self.status = ui.label(_('Checking the models on every host…')).mark('preflight-status')
                self.status.props('role=status aria-live=polite')
            self.note = ui.label().classes('text-sm text-gray-700 dark:text-gray-300').mark('preflight-note')
            self.hosts_box = ui.column().classes('w-full gap-0')
            self.grid = ui.column().classes('w-full gap-1').mark('preflight-grid')
            ui.separator()
            self._forecast_controls()
        self.preflight.changed.subscribe(self._on_change)
        ui.timer(0.01, self._first_look, once=True)

    def _forecast_controls(self) -> None:
        ui.label(_('Capacity forecast')).classes('font-semibold')
        with ui.row().classes('items-center gap-2'):
            self.attendees = ui.number(
                _('Attendees'), value=0, min=0, max=5000, precision=0, on_change=self._attendees_edited
            )
            self.attendees.props('outlined dense').classes('w-28').mark('forecast-attendees')
            self.interval = ui.number(
                _('Seconds between questions'),
                value=capacity.DEFAULT_INTERVAL_S,
                min=5,
                max=3600,
                precision=0,
                on_change=self._render_forecast,
            )
            self.interval.props('outlined dense').classes('w-52').mark('forecast-interval')
            self.tokens = ui.number(
                _('Tokens per answer'),
                value=capacity.DEFAULT_TOKENS,
                min=10,
                max=8192,
                precision=0,
                on_change=self._render_forecast,
            )
            self.tokens.props('outlined dense').classes('w-40').mark('forecast-tokens')
            self.follow = ui.checkbox(_('Follow the room'), value=True, on_change=self._follow_changed)
            self.follow.tooltip(_('The number of attendees follows the people online in the live workshop.'))
            self.follow.mark('forecast-follow')
        self.forecast_box = ui.column().classes('w-full gap-1').mark('forecast')
        with ui.expansion(_('How the forecast is computed'), icon='functions').classes('w-full text-sm'):
            ui.markdown(_(EXPLAINER))

    # ----- actions ----------------------------------------------------------------------------------------------
    async def _first_look(self) -> None:
        report = await self._call(lambda: self.preflight.view(self.user.id, self.wid))
        if report is not None:
            self.show(report)
        if report is None or not report.running:
            await self.check()

    async def check(self) -> None:
        """Ask every host again (what is pulled and loaded)."""
        self.spinner.set_visibility(True)
        with loading(self.check_button):
            report = await self._call(lambda: self.preflight.check(self.user.id, self.wid))
        if report is not None:
            self.show(report)

    async def run(self) -> None:
        """Pull what is missing and warm everything up; progress arrives through `changed`."""
        self.run_button.disable()
        self.spinner.set_visibility(True)
        self.status.text = _('Starting: asking every host what it has…')
        report = await self._call(lambda: self.preflight.start(self.user.id, self.wid))
        if report is not None:
            self.show(report)
        elif self.report is not None:
            self.show(self.report)
        else:
            self.run_button.enable()

    async def _call(self, action: Any) -> Any:
        """A service call; its refusal is shown in the panel's status line and as a notification."""
        try:
            return await action()
        except NotAuthenticated as exc:
            ui.notify(_(exc.message), type='warning')
            ui.navigate.to('/login')
        except (ServiceError, OllamaError) as exc:
            ui.notify(_(exc.message), type='negative', multi_line=True)
            self.spinner.set_visibility(False)
            self.status.text = _(exc.message)
            self.status.classes(replace='text-red-700 dark:text-red-300')
        return None

    def _on_change(self, report: PreflightReport) -> None:
        if report.workshop_id == self.wid:
            self.show(report)

    # ----- showing a report -------------------------------------------------------------------------------------
    def show(self, report: PreflightReport) -> None:
        self.report = report
        self.spinner.set_visibility(report.running)
        self.status.text = _(report.summary())
        tone = (
            'text-green-800 dark:text-green-300'
            if report.ready
            else ''
            if report.running
            else 'text-amber-800 dark:text-amber-300'
        )
        self.status.classes(replace=tone)
        self.note.text = _(report.note) if report.note else ''
        self.note.set_visibility(bool(report.note))
        if report.running:
            self.run_button.disable()
        else:
            self.run_button.enable()
        self._show_hosts(report)
        layout = (tuple(report.models), tuple(h.url for h in report.hosts))
        if layout != self.layout:
            self._build_grid(report)
            self.layout = layout
        for check in report.checks:
            row = self.rows.get((check.model, check.host))
            if row is not None:
                _update_row(row, check)
        if self.follow.value:
            self._set_attendees(report.suggested_attendees)
        self._render_forecast()

    def _show_hosts(self, report: PreflightReport) -> None:
        self.hosts_box.clear()
        with self.hosts_box:
            for host in report.hosts:
                if host.up is False:
                    ui.label(
                        _(
                            '{host} ({url}) is down: {error}',
                            host=host.label,
                            url=host.url,
                            error=_(host.error) if host.error else '',
                        )
                    ).classes('text-red-700 dark:text-red-300 text-sm').props('role=alert').mark('preflight-host-down')

    def _build_grid(self, report: PreflightReport) -> None:
        self.grid.clear()
        self.rows = {}
        with self.grid:
            if not report.hosts:
                ui.label(_('No Ollama host is enabled. An admin adds one on the hosts page.')).classes(
                    'text-gray-700 dark:text-gray-300'
                )
                return
            if not report.models:
                with ui.row().classes('items-center gap-2 text-gray-700 dark:text-gray-300').mark('preflight-empty'):
                    ui.icon('inventory_2').props('aria-hidden=true')
                    ui.label(_('Pull a chat model on the models page, or list the models you teach with above.'))
                    ui.link(_('Open the models page'), '/models').classes('text-blue-700 dark:text-blue-300 underline')
                return
            for model in report.models:
                checks = [c for c in report.checks if c.model == model]
                with ui.row().classes('w-full items-center gap-2 pt-1'):
                    ui.label(model).classes('font-mono font-medium')
                    if any(c.embedding for c in checks):
                        ui.badge(_('embedding'), color='secondary')
                for check in checks:
                    with ui.row().classes('w-full items-center gap-2 pl-4 text-sm no-wrap'):
                        ui.label(check.host_label).classes('w-32 truncate').tooltip(check.host)
                        pulled = ui.badge('…', color='grey-8')
                        loaded = ui.badge('…', color='grey-8')
                        metrics = ui.label().classes('w-72 text-gray-700 dark:text-gray-300')
                        bar = ui.linear_progress(value=0, show_value=False).props('rounded size=8px')
                        bar.classes('w-40').mark('pf-progress')
                        bar._props['aria-label'] = _(
                            'Progress of {model} on {host}', model=model, host=check.host_label
                        )
                        status = ui.label().classes('w-40').mark('pf-status')
                        message = ui.label().classes('text-sm')
                    self.rows[(check.model, check.host)] = _Row(pulled, loaded, metrics, bar, status, message)

    # ----- the forecast -----------------------------------------------------------------------------------------
    def _set_attendees(self, value: int) -> None:
        if self.attendees.value != value:
            self._setting = True
            try:
                self.attendees.value = value
            finally:
                self._setting = False

    def _attendees_edited(self) -> None:
        if not self._setting:
            self.follow.value = False  # the instructor chose a number: keep it
        self._render_forecast()

    def _follow_changed(self) -> None:
        if self.follow.value and self.report is not None:
            self._set_attendees(self.report.suggested_attendees)
        self._render_forecast()

    def _render_forecast(self) -> None:
        report = self.report
        if report is None:
            return
        n = int(self.attendees.value or 0)
        interval = float(self.interval.value or capacity.DEFAULT_INTERVAL_S)
        tokens = int(self.tokens.value or capacity.DEFAULT_TOKENS)
        key = (
            n,
            interval,
            tokens,
            tuple((h.url, h.up, h.slots) for h in report.hosts),
            tuple((c.model, c.host, c.pulled, c.embedding, c.tokens_per_s, c.ttft_s) for c in report.checks),
        )
        if key == self.forecast_key:
            return
        self.forecast_key = key
        self.forecast_box.clear()
        with self.forecast_box:
            if not report.models:
                ui.label(_('No model to forecast.')).classes('text-gray-700 dark:text-gray-300')
                return
            if report.workshop_state == 'live':
                online_text = _n(
                    '{online} of {count} attendee(s) online now.',
                    '{online} of {count} attendee(s) online now.',
                    report.attendees,
                    online=report.online,
                    count=report.attendees,
                )
                ui.label(online_text).classes('text-sm text-gray-700 dark:text-gray-300').mark('forecast-room')
            for item in self.preflight.forecasts(report, n, interval_s=interval, tokens=tokens):
                if item.forecast is None:
                    ui.label(_('{model}: {reason}', model=item.model, reason=_(item.reason))).classes(
                        'text-gray-700 dark:text-gray-300'
                    ).mark(f'forecast-{item.model}')
                    continue
                f = item.forecast
                with ui.row().classes('w-full items-start gap-2 no-wrap'):
                    ui.icon(
                        {'ok': 'check_circle', 'tight': 'schedule', 'overloaded': 'warning'}[f.verdict],
                        color={'ok': 'positive', 'tight': 'warning', 'overloaded': 'negative'}[f.verdict],
                    ).props('aria-hidden=true')
                    ui.label(_(f.message)).classes(VERDICT_CLASSES[f.verdict]).mark(f'forecast-{item.model}')
                    if not math.isinf(f.p95_wait_s):
                        ui.badge(_('p95 {seconds} s', seconds=i18n.number(f.p95_wait_s, 1)), color='grey-8').props(
                            'outline'
                        )


def _update_row(row: _Row, check: ModelCheck) -> None:
    _badge(row.pulled, *_pulled(check))
    _badge(row.loaded, *_loaded(check))
    parts = []
    if check.load_s is not None:
        parts.append(
            _('load {ms} ms', ms=i18n.number(check.load_s * 1000, 0))
            if check.load_s < 1
            else _('load {seconds} s', seconds=i18n.number(check.load_s, 1))
        )
    if check.ttft_s is not None:
        parts.append(_('TTFT {ms} ms', ms=i18n.number(check.ttft_s * 1000, 0)))
    if check.tokens_per_s is not None:
        parts.append(_('{rate} tokens/s', rate=i18n.number(check.tokens_per_s, 1)))
    row.metrics.text = ' · '.join(parts) or (_('not measured yet') if check.phase != 'down' else '')
    row.bar.value = round(check.progress, 3)
    row.bar.props(f'color={PHASE_COLORS.get(check.phase, "primary")}')
    row.bar.set_visibility(check.phase not in ('idle', 'down'))
    row.status.text = _(check.status) if check.phase not in ('idle', 'down') else ''
    row.message.text = _(check.error or check.warning) if check.error or check.warning else ''
    row.message.classes(
        replace='text-sm ' + ('text-red-700 dark:text-red-300' if check.error else 'text-amber-800 dark:text-amber-300')
    )


def _pulled(check: ModelCheck) -> tuple[str, str]:
    if check.pulled is None:
        return _('host down'), 'negative'
    return (_('pulled'), 'green-9') if check.pulled else (_('missing'), 'negative')


def _loaded(check: ModelCheck) -> tuple[str, str]:
    if check.loaded is None:
        return '?', 'grey-8'
    return (_('loaded'), 'green-9') if check.loaded else (_('not loaded'), 'deep-orange-10')


def _badge(badge: ui.badge, text: str, color: str) -> None:
    badge.text = text
    badge.props(f'color={color}')
