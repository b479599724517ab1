"""Database lifecycle: open Tortoise, apply pending aerich migrations, close."""

from __future__ import annotations

import logging
from pathlib import Path

from aerich import Command
from tortoise import Tortoise, connections

from config import tortoise_config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / 'migrations'


async def migrate(db_url: str) -> list[str]:
    """Apply every pending migration (works on an empty database too). Returns the applied file names."""
    config = tortoise_config(db_url)
    async with Command(tortoise_config=config, app='models', location=str(MIGRATIONS)) as command:
        await command.init()
        applied = await command.upgrade(run_in_transaction=True)
    for name in applied:
        log.info('applied migration %s', name)
    return applied


async def open_database(db_url: str, *, run_migrations: bool = True) -> list[str]:
    applied = await migrate(db_url) if run_migrations else []
    await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
    return applied


async def close_database() -> None:
    await Tortoise.close_connections()


async def ping() -> None:
    """Raise if the database cannot answer a trivial query."""
    await connections.get('default').execute_query('SELECT 1')
