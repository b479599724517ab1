"""A long-running platform's history, written by the database itself: activity rows and model-call rows of a hundred
other people spread over many workshops. Used by the query-plan tests and by `benchmarks/bench_dashboard.py --history`
(a million rows in seconds, where creating them through the ORM would take minutes)."""

from __future__ import annotations

from collections.abc import Sequence

from tortoise import connections

from models import User

PEOPLE = 100


async def seed_history(rows: int, workshop_ids: Sequence[int] = (), *, workshops: int = 40) -> None:
    """`rows` activity events and as many model calls, one a second going back in time, by 100 extra people, spread
    over `workshop_ids` and made-up workshop ids (from 1000) up to `workshops` in all; then ANALYZE."""
    await User.bulk_create(
        [User(email=f'history{i}@example.org', display_name=f'History {i}', password_hash='x') for i in range(PEOPLE)]
    )
    first = min(await User.filter(email__startswith='history').values_list('id', flat=True))
    ids = list(workshop_ids) + [1000 + i for i in range(max(workshops - len(workshop_ids), 1))]
    workshop = f'CASE n % {len(ids)} {" ".join(f"WHEN {i} THEN {w}" for i, w in enumerate(ids))} END'
    conn = connections.get('default')
    if conn.schema_generator.DIALECT == 'postgres':
        series, at, true = f'FROM generate_series(1, {rows}) AS g(n)', "now() - n * interval '1 second'", 'true'
        head = ''
    else:
        head = f'WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {rows}) '
        series, at, true = 'FROM g', "strftime('%Y-%m-%d %H:%M:%f+00:00', 'now', '-' || n || ' seconds')", '1'
    person = f'{first} + n % {PEOPLE}'
    await conn.execute_script(
        'INSERT INTO activity_events (user_id, action, workshop_id, model, tokens, latency_ms, details, created_at) '
        f"{head}SELECT {person}, 'chat', {workshop}, 'llama3.2', 40 + n % 200, 200 + n % 900, '{{}}', {at} {series}; "
        'INSERT INTO model_calls (user_id, workshop_id, purpose, kind, model, host, counted, tokens, created_at) '
        f"{head}SELECT {person}, {workshop}, 'chat', 'chat', 'llama3.2', 'h', {true}, 40 + n % 200, {at} {series}"
    )
    await conn.execute_script('ANALYZE')
