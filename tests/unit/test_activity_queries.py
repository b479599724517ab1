"""The queries behind the dashboard, quotas, usage and activity feeds stay fast as a room's history grows.

Each hot query is run through the real service that issues it, with the SQL captured as Tortoise sends it; then the
database explains it. A plan that scans the whole activity log or usage ledger (SQLite `SCAN activity_events`,
PostgreSQL `Seq Scan`, or an index walked without a condition) fails: with a million rows stored, that query would
read all of them every time an attendee sends a message or a dashboard opens. On PostgreSQL sequential scans are
switched off for the EXPLAIN, so a plan still scanning means no usable index exists."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from tortoise import connections
from tortoise.backends.base.executor import EXECUTOR_CACHE

from models import ActivityEvent, ModelCall, Quota, Role, User, Workshop, WorkshopMembership
from services.core import db
from services.core.activity import ActivityService
from services.core.activity_reader import ActivityReader
from services.core.audit import AuditService
from services.core.auth import AuthService
from services.core.membership import Membership
from services.core.quotas import QuotaService
from services.workshops.usage import workshop_usage
from tests.history import seed_history
from tests.postgres import PostgresServer

HOT_TABLES = ('activity_events', 'model_calls')
BACKGROUND_ROWS = 200_000  # the rest of a long-running platform's history, so the planners weigh a real table


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.queries: list[tuple[str, list]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) == 2 and isinstance(args[0], str) and any(t in args[0] for t in HOT_TABLES):
            if args[0].lstrip().upper().startswith('SELECT'):
                self.queries.append((args[0], list(args[1] or [])))


@pytest.fixture(scope='module')
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=['sqlite', 'postgres'])
async def database(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    EXECUTOR_CACHE.clear()  # compiled queries are cached per connection name, not per dialect
    if request.param == 'postgres':
        server: PostgresServer = request.getfixturevalue('postgres')
        url = server.url
        await db.open_database(url)
        for table in ('activity_events', 'model_calls', 'quotas', 'workshop_memberships', 'workshops', 'users'):
            await connections.get('default').execute_script(f'TRUNCATE {table} RESTART IDENTITY CASCADE')
    else:
        await db.open_database(f'sqlite://{tmp_path / "plans.db"}')
    yield request.param
    await db.close_database()
    EXECUTOR_CACHE.clear()


async def _room(history: int = BACKGROUND_ROWS) -> dict[str, int]:
    """A workshop with an instructor and two attendees, quotas, and a history of activity and model calls."""
    users = {}
    for name, role in (
        ('admin', Role.ADMIN),
        ('teacher', Role.INSTRUCTOR),
        ('ann', Role.ATTENDEE),
        ('bo', Role.ATTENDEE),
    ):
        users[name] = (
            await User.create(email=f'{name}@example.org', display_name=name, password_hash='x', role=role)
        ).id
    workshop = await Workshop.create(title='RAG 101', owner_id=users['teacher'], join_code='PLAN-1')
    other = await Workshop.create(title='Other', owner_id=users['admin'], join_code='PLAN-2')
    for name in ('ann', 'bo'):
        await WorkshopMembership.create(workshop_id=workshop.id, user_id=users[name])
    await Quota.create(user_id=users['ann'], max_requests=1000)
    await Quota.create(workshop_id=workshop.id, max_tokens=100_000)
    now = datetime.now(UTC)
    events, calls = [], []
    for i in range(600):
        user = (users['ann'], users['bo'], users['teacher'])[i % 3]
        ws = (workshop.id, other.id, None)[i % 4 % 3]
        model = ('llama3.2', 'qwen2.5:0.5b')[i % 2]
        at = now - timedelta(minutes=i)
        events.append(
            ActivityEvent(user_id=user, action='chat', workshop_id=ws, model=model, tokens=10 + i % 7,
                          latency_ms=float(100 + i % 50), error='boom' if i % 29 == 0 else None, created_at=at)
        )  # fmt: skip
        calls.append(
            ModelCall(user_id=user, workshop_id=ws, purpose='chat', kind='chat', model=model, host='h',
                      counted=True, tokens=10 + i % 7, created_at=at)
        )  # fmt: skip
    await ActivityEvent.bulk_create(events)
    await ModelCall.bulk_create(calls)
    await seed_history(history)
    return {**users, 'workshop': workshop.id}


async def _run_hot_queries(room: dict[str, int]) -> list[tuple[str, str, list]]:
    """Every hot query, issued by the service that issues it in the app; returns (what, sql, params)."""
    auth = AuthService(min_password_length=10, max_failures=3, window_seconds=60, signup_open_default=True)
    membership = Membership()
    activity = ActivityService(membership)
    reader = ActivityReader(auth, membership)
    quotas = QuotaService(auth, AuditService(auth), membership)
    ws, ann, teacher = room['workshop'], room['ann'], room['teacher']
    since = datetime.now(UTC) - timedelta(hours=1)
    hot = {
        "an attendee's recent activity (home page)": lambda: activity.recent_for_user(ann),
        'the dashboard feed of a workshop': lambda: activity.query(workshop_id=ws, limit=50),
        'the usage of a workshop by attendee and model (dashboard, summary)': lambda: workshop_usage(ws),
        'quota usage before a model call': lambda: quotas._usage(ann, ws),
        'an attendee reading their activity': lambda: reader.page(ann),
        'an attendee reading their recent errors': lambda: reader.page(ann, errors_only=True, since=since),
        "an instructor reading a workshop's activity": lambda: reader.page(teacher, workshop_id=ws),
        "an instructor reading an attendee's activity": lambda: reader.page(teacher, user_id=ann),
        'an instructor reading all they may see': lambda: reader.page(teacher, since=since),
    }
    logger = logging.getLogger('tortoise.db_client')
    captured: list[tuple[str, str, list]] = []
    for what, run in hot.items():
        handler = _Captured()
        logger.addHandler(handler)
        level = logger.level
        logger.setLevel(logging.DEBUG)
        try:
            await run()
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
        assert handler.queries, f'{what}: no query on the activity log or the usage ledger was seen'
        captured += [(what, sql, params) for sql, params in handler.queries]
    return captured


def _sqlite_full_scans(plan: list[dict]) -> list[str]:
    return [row['detail'] for row in plan if re.match(rf'SCAN ({"|".join(HOT_TABLES)})\b', str(row.get('detail', '')))]


def _postgres_full_scans(node: dict) -> list[str]:
    found = []
    if node.get('Relation Name') in HOT_TABLES:
        kind = node.get('Node Type', '')
        if kind == 'Seq Scan' or (kind in ('Index Scan', 'Index Only Scan') and 'Index Cond' not in node):
            found.append(
                f'{kind} on {node["Relation Name"]}' + (f' using {node["Index Name"]}' if 'Index Name' in node else '')
            )
    for child in node.get('Plans', []):
        found += _postgres_full_scans(child)
    return found


async def test_no_hot_query_scans_the_activity_log_or_the_usage_ledger(database: str) -> None:
    room = await _room()
    conn = connections.get('default')
    scans = []
    for what, sql, params in await _run_hot_queries(room):
        if database == 'sqlite':
            plan = (await conn.execute_query(f'EXPLAIN QUERY PLAN {sql}', params))[1]
            full = _sqlite_full_scans([dict(r) for r in plan])
        else:
            async with conn.acquire_connection() as raw:
                async with raw.transaction():
                    await raw.execute('SET LOCAL enable_seqscan = off')
                    text = await raw.fetchval(f'EXPLAIN (FORMAT JSON) {sql}', *params)
            full = _postgres_full_scans(json.loads(text)[0]['Plan'])
        scans += [f'{what}: {f}\n    {sql}' for f in full]
    assert not scans, 'hot queries that read the whole table:\n' + '\n'.join(scans)


async def test_workshop_usage_sums_what_the_rows_say(database: str) -> None:
    room = await _room(history=1000)
    rows = await ActivityEvent.filter(workshop_id=room['workshop']).values('user_id', 'tokens', 'latency_ms', 'error')
    totals: dict[int | None, list] = {}
    for row in await workshop_usage(room['workshop']):
        t = totals.setdefault(row.user_id, [0, 0, 0.0, 0, 0])
        for i, v in enumerate((row.requests, row.tokens, row.latency_sum, row.latency_n, row.errors)):
            t[i] += v
    for user_id, t in totals.items():
        mine = [r for r in rows if r['user_id'] == user_id]
        assert t[0] == len(mine)
        assert t[1] == sum(r['tokens'] or 0 for r in mine)
        assert t[2] == pytest.approx(sum(r['latency_ms'] or 0 for r in mine))
        assert t[3] == sum(1 for r in mine if r['latency_ms'] is not None)
        assert t[4] == sum(1 for r in mine if r['error'])
    assert set(totals) == {r['user_id'] for r in rows}
