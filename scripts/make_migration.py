"""Generate the next aerich migration from the current models.

    python scripts/make_migration.py NAME [--number N]

Builds a scratch SQLite database at the newest committed migration, diffs the models against it and writes
`migrations/models/<N>_<timestamp>_<NAME>.py`. `--number` picks the version number explicitly (useful when several
branches add migrations at once; numbers only need to be increasing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def make(name: str, number: int | None) -> str | None:
    from aerich import Command

    from config import tortoise_config

    scratch = Path(tempfile.mkdtemp()) / 'scratch.db'
    config = tortoise_config(f'sqlite://{scratch}')
    location = str(ROOT / 'migrations')
    async with Command(tortoise_config=config, app='models', location=location) as command:
        await command.init()
        await command.upgrade(run_in_transaction=True)
        await command.init()  # reload the newest applied state before diffing
        created = await command.migrate(name, no_input=True)
    if not created:
        return None
    path = ROOT / 'migrations' / 'models' / created
    if number is not None:
        target = path.with_name(f'{number}_{created.split("_", 1)[1]}')
        path.rename(target)
        path = target
    return str(path.relative_to(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('name')
    parser.add_argument('--number', type=int)
    args = parser.parse_args()
    created = asyncio.run(make(args.name, args.number))
    print(created or 'no changes: no migration written')
    sys.stdout.flush()
    os._exit(0)  # aiosqlite worker threads of the scratch database must not keep the process alive


if __name__ == '__main__':
    main()
