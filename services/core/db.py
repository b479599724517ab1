"""Database lifecycle: open Tortoise, apply pending aerich migrations, close.

Migrations are applied in place on the connection the app uses (so an in-memory SQLite database works too), in
order, each in its own transaction, and recorded in aerich's table exactly as `aerich upgrade` records them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aerich.migrate import Migrate
from aerich.models import Aerich
from aerich.utils import decompress_dict, import_py_module
from tortoise import Tortoise, connections
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from config import tortoise_config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parents[2] / 'migrations'
APP = 'models'


async def applied_migrations() -> set[str]:
    try:
        return set(await Aerich.filter(app=APP).values_list('version', flat=True))
    except OperationalError:  # no aerich table yet: an empty database
        return set()


# a PostgreSQL advisory lock key ('owsp'): several processes starting at once on one database take turns migrating
MIGRATION_LOCK = 0x6F777370


async def migrate(location: Path = MIGRATIONS) -> list[str]:
    """Apply every pending migration found in `location`. Returns the applied file names.

    On PostgreSQL the whole step runs under an advisory lock, so when several app processes start at once on an empty
    database one migrates and the others wait, then find nothing left to apply (SQLite is one process's file)."""
    conn = connections.get('default')
    if conn.capabilities.dialect != 'postgres':
        return await _migrate(location)
    async with conn.acquire_connection() as session:  # a session-level lock, held on this one connection
        if not await session.fetchval('SELECT pg_try_advisory_lock($1)', MIGRATION_LOCK):
            log.info('another process is migrating the database: waiting for it to finish')
            await session.execute('SELECT pg_advisory_lock($1)', MIGRATION_LOCK)
        try:
            return await _migrate(location)
        finally:
            await session.execute('SELECT pg_advisory_unlock($1)', MIGRATION_LOCK)


async def _migrate(location: Path) -> list[str]:
    Migrate.app = APP
    Migrate.migrate_location = location / APP
    done = await applied_migrations()
    applied = []
    for module in Migrate.get_all_version_modules():
        version = f'{module.name}.py'
        if version in done:
            continue
        migration = import_py_module(module)
        async with in_transaction('default') as conn:
            await conn.execute_script(await migration.upgrade(conn))
            await Aerich.create(
                version=version, app=APP, content=decompress_dict(migration.MODELS_STATE), using_db=conn
            )
        log.info('applied migration %s', version)
        applied.append(version)
    return applied


async def open_database(db_url: str, *, location: Path = MIGRATIONS) -> list[str]:
    await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
    return await migrate(location)


async def close_database() -> None:
    await Tortoise.close_connections()


async def ping() -> None:
    """Raise if the database cannot answer a trivial query."""
    await connections.get('default').execute_query('SELECT 1')


async def update_rows(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, key: str = 'id') -> None:
    """Update many rows by key with one prepared statement (executemany, one transaction).

    Each row holds the new values of `columns`, then the key. For per-row values where Tortoise's `bulk_update`
    (one CASE expression per column, built term by term) costs more than the update itself.
    """
    if not rows:
        return
    connection = connections.get('default')
    if connection.capabilities.dialect == 'postgres':
        marks = [f'${i}' for i in range(1, len(columns) + 2)]
    else:
        marks = ['?'] * (len(columns) + 1)
    assignments = ', '.join(f'"{column}" = {mark}' for column, mark in zip(columns, marks, strict=False))
    await connection.execute_many(
        f'UPDATE "{table}" SET {assignments} WHERE "{key}" = {marks[-1]}', [list(r) for r in rows]
    )
