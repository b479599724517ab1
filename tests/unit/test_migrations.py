"""The upgrade path every schema change must keep: a database made at the first migration, with rows in it,
upgrades to the newest schema and keeps its rows; a second start applies nothing twice."""

from __future__ import annotations

import shutil
from pathlib import Path

from tortoise import connections

from models import ActivityEvent, User
from services.core import db


def first_migration_only(tmp_path: Path) -> Path:
    location = tmp_path / 'migrations'
    (location / 'models').mkdir(parents=True)
    first = sorted((db.MIGRATIONS / 'models').glob('0_*.py'))[0]
    shutil.copy(first, location / 'models' / first.name)
    return location


async def test_database_from_the_first_migration_upgrades_and_keeps_rows(tmp_path: Path) -> None:
    url = f'sqlite://{tmp_path / "old.db"}'
    applied = await db.open_database(url, location=first_migration_only(tmp_path))
    assert len(applied) == 1
    conn = connections.get('default')
    # rows written with the columns of the first schema, as an old release would have written them
    await conn.execute_query(
        'INSERT INTO users (email, display_name, password_hash, role, is_active, created_at, updated_at) '
        "VALUES ('ada@example.org', 'Ada', 'x', 'admin', 1, '2026-01-01 10:00:00', '2026-01-01 10:00:00')"
    )
    await conn.execute_query(
        'INSERT INTO activity_events (action, details, created_at, user_id) '
        "VALUES ('chat', '{\"model\": \"llama3.2\"}', '2026-01-01 10:05:00', 1)"
    )
    await db.close_database()

    applied = await db.open_database(url)
    all_migrations = sorted(
        (p.name for p in (db.MIGRATIONS / 'models').glob('[0-9]*_*.py')), key=lambda name: int(name.split('_')[0])
    )
    assert applied == [name for name in all_migrations if not name.startswith('0_')]
    user = await User.get(email='ada@example.org')
    assert user.display_name == 'Ada' and user.role == 'admin'
    event = await ActivityEvent.get(user_id=user.id)
    assert event.action == 'chat' and event.details == {'model': 'llama3.2'}
    await db.close_database()

    assert await db.open_database(url) == []  # a second start applies no migration twice
    assert await User.filter(email='ada@example.org').count() == 1
    await db.close_database()


async def test_every_migration_applies_to_an_empty_database(tmp_path: Path) -> None:
    applied = await db.open_database(f'sqlite://{tmp_path / "new.db"}')
    assert applied == sorted(
        (p.name for p in (db.MIGRATIONS / 'models').glob('[0-9]*_*.py')), key=lambda name: int(name.split('_')[0])
    )
    assert await db.applied_migrations() == set(applied)
    await db.close_database()
