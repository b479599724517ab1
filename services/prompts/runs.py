"""Running prompt templates: one model or several side by side (streamed), batches from CSV, saved and rated runs."""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from models import PromptRun
from services.core import actions
from services.core.activity import ActivityService
from services.core.auth import AuthService
from services.core.errors import InvalidInput, NotFound, ServiceError
from services.core.i18n import N_
from services.models.callers import Caller, Purpose
from services.models.calls import ModelCalls
from services.models.errors import OllamaError
from services.prompts.library import PromptService, VersionInfo
from services.prompts.templates import as_text, render, resolve_values

DETAIL_TEXT = 2000  # characters of a run's output kept in its activity details

MAX_CSV_CHARS = 1_000_000


@dataclass(kw_only=True, slots=True)
class RunInfo:
    id: int
    prompt_id: int
    version: int
    model: str
    values: dict[str, Any]
    system_prompt: str
    user_prompt: str
    options: dict[str, Any]
    output: str
    error: str | None
    metrics: dict[str, Any]
    rating: int | None
    created_at: datetime
    batch_id: str | None = None
    row_index: int | None = None


@dataclass(kw_only=True, slots=True)
class RunEvent:
    """A streamed piece of a run: `delta` (more output) or `done` (the saved run, with `error` set if it failed)."""

    kind: str
    text: str = ''
    run: RunInfo | None = None


@dataclass(kw_only=True, slots=True)
class Prepared:
    prompt_id: int
    version: VersionInfo
    values: dict[str, Any]
    system_prompt: str
    user_prompt: str
    model: str
    options: dict[str, Any]

    def messages(self) -> list[dict[str, str]]:
        system = [{'role': 'system', 'content': self.system_prompt}] if self.system_prompt.strip() else []
        return [*system, {'role': 'user', 'content': self.user_prompt}]


@dataclass(kw_only=True, slots=True)
class BatchResult:
    batch_id: str
    model: str
    variables: list[str]
    runs: list[RunInfo] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.runs if r.error)


def _run(row: PromptRun) -> RunInfo:
    return RunInfo(
        id=row.id,
        prompt_id=row.prompt_id,  # type: ignore[attr-defined]
        version=row.version,
        model=row.model,
        values=dict(row.values or {}),
        system_prompt=row.system_prompt,
        user_prompt=row.user_prompt,
        options=dict(row.options or {}),
        output=row.output,
        error=row.error,
        metrics=dict(row.metrics or {}),
        rating=row.rating,
        created_at=row.created_at,
        batch_id=row.batch_id,
        row_index=row.row_index,
    )


def metrics_of(final: Any, started: float, first_token: float | None) -> dict[str, Any]:
    """Latency and token counts from Ollama's final chunk plus what we measured."""
    data: dict[str, Any] = {'latency_ms': round((time.perf_counter() - started) * 1000, 1)}
    if first_token is not None:
        data['first_token_ms'] = round((first_token - started) * 1000, 1)
    if final is not None:
        data['prompt_tokens'] = getattr(final, 'prompt_eval_count', None)
        data['output_tokens'] = getattr(final, 'eval_count', None)
        eval_ns = getattr(final, 'eval_duration', None)
        if data['output_tokens'] and eval_ns:
            data['tokens_per_s'] = round(data['output_tokens'] / (eval_ns / 1e9), 1)
    return data


class PromptRunService:
    def __init__(
        self,
        *,
        auth: AuthService,
        activity: ActivityService,
        calls: ModelCalls,
        prompts: PromptService,
        max_batch_rows: int = 200,
    ) -> None:
        self.auth = auth
        self.activity = activity
        self.calls = calls  # each run, and each row of a batch, is one call through the one model-call path
        self.prompts = prompts
        self.max_batch_rows = max_batch_rows

    async def prepare(
        self,
        actor_id: int,
        prompt_id: int,
        values: dict[str, Any] | None,
        model: str = '',
        *,
        version: int | None = None,
        options: dict[str, Any] | None = None,
    ) -> Prepared:
        """Check access, resolve the version and values, render both templates (errors before any model call)."""
        info = await self.prompts.version(actor_id, prompt_id, version)
        typed = resolve_values(info.variables, values)
        model = (model or info.default_model or '').strip()
        if not model:
            raise InvalidInput(N_('Choose a model to run this prompt with.'))
        # the run's options over the version's, checked as every call will be (host-level options only from
        # instructors and admins, the admin's ranges): refused here, before any model call
        caller = await self.calls.caller(actor_id)
        own = await self.calls.check_options(caller, options) or {}
        merged = await self.calls.check_options(caller, {**info.options, **own}) or {}
        return Prepared(
            prompt_id=prompt_id,
            version=info,
            values=typed,
            system_prompt=render(info.system_template, typed),
            user_prompt=render(info.user_template, typed),
            model=model,
            options=merged,
        )

    async def _save(self, actor_id: int, prepared: Prepared, output: str, error: str | None, metrics: dict, **extra):
        row = await PromptRun.create(
            prompt_id=prepared.prompt_id,
            user_id=actor_id,
            version=prepared.version.number,
            values={k: v for k, v in prepared.values.items()},
            system_prompt=prepared.system_prompt,
            user_prompt=prepared.user_prompt,
            model=prepared.model,
            options=prepared.options,
            output=output,
            error=error,
            metrics=metrics,
            **extra,
        )
        return _run(row)

    async def stream_run(
        self,
        actor_id: int,
        prompt_id: int,
        values: dict[str, Any] | None,
        model: str = '',
        *,
        version: int | None = None,
        options: dict[str, Any] | None = None,
        on_wait: Callable[[int], None] | None = None,
    ) -> AsyncIterator[RunEvent]:
        """Stream one run. Template and access errors raise before streaming; model errors end in a saved run
        whose `error` says what happened."""
        prepared = await self.prepare(actor_id, prompt_id, values, model, version=version, options=options)
        stream = await self.calls.chat_stream(  # refusals (quota, limits, allowed models) raise before the run
            await self.calls.caller(actor_id),
            Purpose.PROMPT_RUN,
            model=prepared.model,
            messages=prepared.messages(),
            options=prepared.options or None,
            on_wait=on_wait,
        )
        host = stream.host
        started, first, final, parts, error = time.perf_counter(), None, None, [], None
        try:
            async for chunk in stream:
                text = chunk.message.content or '' if chunk.message else ''
                if text:
                    first = first or time.perf_counter()
                    parts.append(text)
                    yield RunEvent(kind='delta', text=text)
                if chunk.done:
                    final = chunk
        except OllamaError as exc:
            error = exc.message
        finally:
            await stream.aclose()
        metrics = metrics_of(final, started, first)
        run = await self._save(actor_id, prepared, ''.join(parts), error, metrics)
        await self.activity.record(
            actor_id,
            actions.PROMPT_RUN,
            model=prepared.model,
            host=host,
            tokens=metrics.get('output_tokens'),
            latency_ms=metrics['latency_ms'],
            error=error,
            prompt_id=prompt_id,
            version=prepared.version.number,
            run_id=run.id,
            output=''.join(parts)[:DETAIL_TEXT],  # for a workshop step's checks (never shown in the feed)
        )
        yield RunEvent(kind='done', run=run)

    async def run(self, actor_id: int, prompt_id: int, values: dict[str, Any] | None, model: str = '', **kw) -> RunInfo:
        """A whole run without streaming (the last event of `stream_run`)."""
        run = None
        async for event in self.stream_run(actor_id, prompt_id, values, model, **kw):
            if event.kind == 'done':
                run = event.run
        assert run is not None
        return run

    async def _complete(self, caller: Caller, prepared: Prepared) -> tuple[str, Any]:
        """One row of a batch: one call through the one path (so a batch of N rows counts N requests)."""
        reply = await self.calls.chat(
            caller,
            Purpose.BATCH_ROW,
            model=prepared.model,
            messages=prepared.messages(),
            options=prepared.options or None,
        )
        return reply.message.content or '', reply

    async def runs(self, actor_id: int, prompt_id: int, limit: int = 50) -> list[RunInfo]:
        """Your own runs of a prompt you can see, newest first (batch rows excluded)."""
        await self.prompts.version(actor_id, prompt_id)  # access check
        rows = await PromptRun.filter(prompt_id=prompt_id, user_id=actor_id, batch_id=None).order_by('-id').limit(limit)
        return [_run(r) for r in rows]

    async def rate(self, actor_id: int, run_id: int, rating: int | None) -> RunInfo:
        await self.auth.require(actor_id)
        if rating is not None and not (isinstance(rating, int) and 1 <= rating <= 5):
            raise InvalidInput(N_('A rating is 1 to 5 stars.'))
        row = await PromptRun.get_or_none(id=run_id, user_id=actor_id)
        if row is None:
            raise NotFound(N_('No such run.'))
        row.rating = rating
        await row.save(update_fields=['rating'])
        return _run(row)

    # ----- batches -------------------------------------------------------------------------------------------------
    async def parse_csv(self, actor_id: int, prompt_id: int, text: str | bytes, *, version: int | None = None):
        """Rows of variable values from CSV text (a header row of variable names), checked against the prompt."""
        info = await self.prompts.version(actor_id, prompt_id, version)
        if isinstance(text, bytes):
            try:
                text = text.decode('utf-8-sig')
            except UnicodeDecodeError:
                raise InvalidInput(
                    N_('The CSV file is not UTF-8 text. Save it as "CSV UTF-8" and try again.')
                ) from None
        if len(text) > MAX_CSV_CHARS:
            raise InvalidInput(N_('The CSV is too large (at most 1 MB).'))
        reader = csv.DictReader(io.StringIO(text.lstrip('\ufeff')))
        header = [h.strip() for h in reader.fieldnames or [] if h is not None]
        if not header:
            raise InvalidInput(N_('The CSV is empty. The first row must name the variables, e.g. "topic,tone".'))
        names = [v.name for v in info.variables]
        unknown = [h for h in header if h not in names]
        if unknown:
            raise InvalidInput(
                N_(
                    'The CSV has column(s) {unknown} that are not variables of this prompt ({variables}).',
                    unknown=', '.join(unknown),
                    variables=', '.join(names) or '—',
                )
            )
        rows: list[dict[str, Any]] = []
        for index, raw in enumerate(reader, start=1):
            if None in raw:
                raise InvalidInput(N_('Row {index} of the CSV has more cells than the header.', index=index))
            values = {k.strip(): v for k, v in raw.items() if k is not None and v is not None}
            if not any(str(v).strip() for v in values.values()):
                continue
            if len(rows) >= self.max_batch_rows:
                raise InvalidInput(
                    N_('A batch can have at most {max_batch_rows} rows.', max_batch_rows=self.max_batch_rows)
                )
            try:
                rows.append(resolve_values(info.variables, values))
            except InvalidInput as exc:
                raise InvalidInput(N_('Row {index} of the CSV: {message}', index=index, message=exc.message)) from None
        if not rows:
            raise InvalidInput(N_('The CSV has a header but no rows of values.'))
        return rows

    async def run_batch(
        self,
        actor_id: int,
        prompt_id: int,
        rows: list[dict[str, Any]],
        model: str = '',
        *,
        version: int | None = None,
        on_progress: Callable[[int, int], Awaitable[None] | None] | None = None,
    ) -> BatchResult:
        """Run every row (one after another, to share the model fairly); every row is saved as a run. Each row is one
        model call and counts as one request; when a row is refused (a quota used up, the per-user limit), it is
        saved with the reason and the batch stops there."""
        if not rows:
            raise InvalidInput(N_('There are no rows to run.'))
        if len(rows) > self.max_batch_rows:
            raise InvalidInput(
                N_('A batch can have at most {max_batch_rows} rows.', max_batch_rows=self.max_batch_rows)
            )
        first = await self.prepare(actor_id, prompt_id, rows[0], model, version=version)  # fail fast
        caller = await self.calls.caller(actor_id)
        await self.calls.admit(caller, Purpose.BATCH_ROW, first.model)  # refused up front: nothing is saved
        result = BatchResult(
            batch_id=str(uuid.uuid4()), model=first.model, variables=[v.name for v in first.version.variables]
        )
        hosts: set[str] = set()
        started = time.perf_counter()
        for index, values in enumerate(rows):
            prepared = await self.prepare(actor_id, prompt_id, values, first.model, version=first.version.number)
            t0, output, error, final, refused = time.perf_counter(), '', None, None, False
            try:
                output, final = await self._complete(caller, prepared)
                hosts.add(final.host)
            except OllamaError as exc:
                error = exc.message
            except ServiceError as exc:  # a quota used up mid-batch, or the room too busy for too long
                if not result.runs:
                    raise  # the first row: the batch is refused as a whole and nothing is saved
                error, refused = N_('Not run: {message}', message=exc.message), True
            metrics = metrics_of(final, t0, None)
            run = await self._save(
                actor_id, prepared, output, error, metrics, batch_id=result.batch_id, row_index=index + 1
            )
            result.runs.append(run)
            if on_progress is not None:
                maybe = on_progress(index + 1, len(rows))
                if maybe is not None:
                    await maybe
            if refused:
                break
        await self.activity.record(
            actor_id,
            actions.PROMPT_BATCH,
            model=first.model,
            host=', '.join(sorted(hosts)) or None,
            tokens=sum(r.metrics.get('output_tokens') or 0 for r in result.runs),
            latency_ms=(time.perf_counter() - started) * 1000,
            error=f'{result.failed} of {len(result.runs)} rows failed' if result.failed else None,
            prompt_id=prompt_id,
            rows=len(rows),
            failed=result.failed,
            batch_id=result.batch_id,
        )
        return result


def _cell(value: Any) -> str:
    """Text for a CSV cell; a leading = + - @ is escaped so spreadsheets do not run model output as a formula."""
    text = as_text(value)
    return f"'{text}" if text[:1] in ('=', '+', '-', '@', '\t', '\r') else text


def batch_csv(result: BatchResult) -> str:
    """The batch results as CSV: the variables, then model, output, error and metrics."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*result.variables, 'model', 'output', 'error', 'latency_ms', 'output_tokens'])
    for run in result.runs:
        writer.writerow(
            [
                *(_cell(run.values.get(name, '')) for name in result.variables),
                run.model,
                _cell(run.output),
                _cell(run.error or ''),
                run.metrics.get('latency_ms', ''),
                run.metrics.get('output_tokens', ''),
            ]
        )
    return buffer.getvalue()
