"""Backup and restore: one .tar.gz with the database, the vectors, the uploads, the storage secret and a manifest.

A backup is taken while the platform serves, in this order:
1. the database: SQLite's online backup API (one step, a consistent snapshot while the app writes), or pg_dump
   (one repeatable-read transaction) for PostgreSQL;
2. the uploads and NiceGUI's storage folder: files are written before their database rows, so every document in
   the snapshot has its files;
3. the vectors of the knowledge bases in the built-in store (services.knowledge.vector_export): exported after the
   snapshot, so they hold at least every document the snapshot calls embedded (ingestion flushes vectors before it
   marks a document embedded; vectors of documents not yet embedded are dropped when the job resumes).

Archive layout: manifest.json, database/platform.db (or database/platform.pgdump), vectors/<collection>.npz,
uploads/…, storage/…, storage_secret. A restore only goes into an empty data directory (and, for PostgreSQL, an empty
database) and refuses a backup made by newer code than this installation's. Synchronous code for manage.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from packaging.version import Version

from config import Settings, tortoise_config
from services.core.db import MIGRATIONS
from services.core.i18n import N_
from services.knowledge import vector_export

FORMAT = 1
ROOT = Path(__file__).resolve().parents[2]
SQLITE_NAME, PG_NAME = 'database/platform.db', 'database/platform.pgdump'


class Refused(Exception):
    """A backup or restore that must not go ahead; the message says why in one sentence."""


@dataclass(kw_only=True, slots=True)
class Result:
    path: Path
    bytes: int
    seconds: float
    manifest: dict[str, Any]


# ----- versions ------------------------------------------------------------------------------------------------------
def app_version() -> str:
    return tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']['version']


def migration_number(name: str | None) -> int:
    return int(name.split('_', 1)[0]) if name else -1


def newest_migration(location: Path = MIGRATIONS / 'models') -> str | None:
    return max((p.name for p in location.glob('[0-9]*_*.py')), key=migration_number, default=None)


def check_not_newer(manifest: dict[str, Any], location: Path = MIGRATIONS / 'models') -> None:
    mine, theirs = newest_migration(location), manifest.get('migration')
    ours, version = app_version(), manifest.get('app_version', '0')
    if migration_number(theirs) > migration_number(mine) or Version(version) > Version(ours):
        raise Refused(
            N_(
                'This backup was made by newer code (version {version}, migration {theirs}) than this '
                'installation (version {ours}, migration {mine}): update the platform first, then '
                'restore.',
                version=version,
                theirs=theirs,
                ours=ours,
                mine=mine,
            )
        )


# ----- the database --------------------------------------------------------------------------------------------------
def database_kind(db_url: str) -> str:
    scheme = db_url.split('://', 1)[0]
    if scheme == 'sqlite':
        return 'sqlite'
    if scheme in {'postgres', 'postgresql', 'asyncpg', 'psycopg'}:
        return 'postgres'
    raise Refused(f'Backups support SQLite and PostgreSQL databases, not "{scheme}".')


def sqlite_path(db_url: str) -> Path:
    path = db_url.removeprefix('sqlite://').split('?', 1)[0]
    if not path or path == ':memory:':
        raise Refused('An in-memory SQLite database cannot be backed up or restored.')
    return Path(path)


def _pg(db_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password (which goes to PGPASSWORD, not onto the command line) and the environment."""
    parts = urlsplit(db_url)
    env = dict(os.environ)
    if parts.password:
        env['PGPASSWORD'] = parts.password
    host = parts.hostname or ''
    netloc = f'{parts.username}@' if parts.username else ''
    netloc += f'[{host}]' if ':' in host else host
    netloc += f':{parts.port}' if parts.port else ''
    return urlunsplit(('postgresql', netloc, parts.path, '', '')), env


def _run(command: list[str], env: dict[str, str]) -> str:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise Refused(f'{command[0]} is not installed: install PostgreSQL\'s client programs (Debian: '
                      'postgresql-client).') from None  # fmt: skip
    if done.returncode != 0:
        raise Refused(f'{command[0]} failed: {done.stderr.strip() or done.returncode}')
    return done.stdout


def dump_database(db_url: str, folder: Path) -> str:
    """Snapshot the database into `folder`; the archive name of the file."""
    if database_kind(db_url) == 'postgres':
        uri, env = _pg(db_url)
        target = folder / PG_NAME
        target.parent.mkdir(parents=True, exist_ok=True)
        _run(
            ['pg_dump', '--format=custom', '--no-owner', '--no-privileges', f'--file={target}', f'--dbname={uri}'], env
        )
        return PG_NAME
    source_path = sqlite_path(db_url)
    if not source_path.exists():
        raise Refused(f'There is no database at {source_path}: nothing to back up.')
    target = folder / SQLITE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    source, copy = sqlite3.connect(source_path, timeout=30), sqlite3.connect(target)
    try:
        source.backup(copy)  # all pages in one step: a consistent snapshot even while the app writes
        copy.execute('PRAGMA journal_mode=DELETE')  # one self-contained file in the archive
        if (check := copy.execute('PRAGMA quick_check').fetchone()[0]) != 'ok':
            raise Refused(f'The database snapshot failed its integrity check: {check}')
    finally:
        source.close()
        copy.close()
    return SQLITE_NAME


def _postgres_is_empty(db_url: str) -> bool:
    uri, env = _pg(db_url)
    query = "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    return (
        _run(['psql', '--no-psqlrc', '--tuples-only', '--no-align', f'--dbname={uri}', '-c', query], env).strip() == '0'
    )


async def _platform_state(db_url: str) -> tuple[str | None, list[dict[str, Any]]]:
    """The latest applied migration and the built-in store's collections, from the database (no migration run)."""
    from aerich.models import Aerich
    from tortoise import Tortoise

    from models import KnowledgeBase
    from services.knowledge.bases import collection_name

    await Tortoise.init(config=tortoise_config(db_url))
    try:
        versions = await Aerich.filter(app='models').values_list('version', flat=True)
        rows = (
            await KnowledgeBase.filter(vector_db_id=None)
            .order_by('id')
            .values('id', 'collection', 'embedding_model', 'metric')
        )
    finally:
        await Tortoise.close_connections()
    collections = [{'name': r['collection'] or collection_name(r['id']), 'model': r['embedding_model'],
                    'metric': r['metric']} for r in rows]  # fmt: skip
    return max(versions, key=migration_number, default=None), collections


# ----- backup --------------------------------------------------------------------------------------------------------
def backup(settings: Settings, output: Path) -> Result:
    """Write a backup of the running (or stopped) platform to `output` (a .tar.gz, readable by its owner only)."""
    started = time.monotonic()
    output = output.expanduser().resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    kind = database_kind(settings.db_url)
    with tempfile.TemporaryDirectory(prefix='.backup-', dir=output.parent) as tmp:
        work = Path(tmp)
        database = dump_database(settings.db_url, work)
        migration, collections = asyncio.run(_platform_state(settings.db_url))
        contents = [database]
        for name, source in (('uploads', settings.uploads_dir), ('storage', settings.storage_dir)):
            if _copy_tree(source, work / name):
                contents.append(f'{name}/')
        secret_file = settings.data_dir / 'storage_secret'
        secret = settings.storage_secret or (secret_file.read_text().strip() if secret_file.exists() else '')
        if secret:
            (work / 'storage_secret').write_text(secret)
            contents.append('storage_secret')
        with vector_export.connect(settings.milvus_location, settings.milvus_token) as client:
            exported = vector_export.export(client, collections, work / 'vectors')
        contents += [e['file'] for e in exported]
        manifest = {
            'format': FORMAT,
            'app_version': app_version(),
            'migration': migration,
            'created_at': datetime.now(UTC).isoformat(timespec='seconds'),
            'database': kind,
            'vectors': 'milvus-server' if settings.milvus_uri else 'milvus-lite',
            'storage_secret': 'environment' if settings.storage_secret else 'file' if secret else 'none',
            'collections': exported,
            'contents': contents,
        }
        (work / 'manifest.json').write_text(json.dumps(manifest, indent=2))
        partial = output.with_name(output.name + '.partial')
        partial.touch(mode=0o600)
        with tarfile.open(partial, 'w:gz', compresslevel=6) as tar:
            tar.add(work / 'manifest.json', 'manifest.json')  # first: read without unpacking the rest
            for item in sorted(work.iterdir()):
                if item.name != 'manifest.json':
                    tar.add(item, item.name)
        partial.chmod(0o600)
        os.replace(partial, output)
    return Result(path=output, bytes=output.stat().st_size, seconds=time.monotonic() - started, manifest=manifest)


def _copy_tree(source: Path, target: Path) -> bool:
    """Copy the files under `source`, skipping those deleted while copying; whether there was anything."""
    if not source.is_dir():
        return False
    copied = False
    for path in sorted(source.rglob('*')):
        if path.is_file():
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copy2(path, destination)
                copied = True
            except FileNotFoundError:
                continue  # deleted after the database snapshot: not referenced by it
    return copied


# ----- restore -------------------------------------------------------------------------------------------------------
def read_manifest(archive: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, 'r:gz') as tar:
            member = tar.extractfile('manifest.json')
            manifest = json.loads(member.read()) if member else None
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError) as exc:
        raise Refused(f'{archive} is not a platform backup ({exc}).') from None
    if not isinstance(manifest, dict) or manifest.get('format') != FORMAT:
        raise Refused(f'{archive} is not a platform backup this version can read (format {FORMAT}).')
    return manifest


def check_empty(data_dir: Path) -> None:
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise Refused(
            f'{data_dir} is not empty: a backup is only restored into an empty or new data directory, so nothing is '
            'overwritten. Move its contents away, or choose another directory with --data-dir.'
        )


def restore(settings: Settings, archive: Path) -> dict[str, Any]:
    """Restore `archive` into the (empty) data directory and database of `settings`; the manifest."""
    manifest = read_manifest(archive)
    check_not_newer(manifest)
    data_dir = settings.data_dir
    check_empty(data_dir)
    kind = database_kind(settings.db_url)
    if kind != manifest['database']:
        raise Refused(f'This backup holds a {manifest["database"]} database but DATABASE_URL names a {kind} one.')
    if kind == 'postgres' and not _postgres_is_empty(settings.db_url):
        raise Refused('The PostgreSQL database of DATABASE_URL is not empty: restore only into a new, empty database.')
    if kind == 'sqlite' and sqlite_path(settings.db_url).exists():
        raise Refused(f'{sqlite_path(settings.db_url)} exists: restore only where there is no database yet.')
    collections = manifest.get('collections', [])
    if settings.milvus_uri:
        with vector_export.connect(settings.milvus_location, settings.milvus_token) as client:
            if taken := vector_export.existing(client, collections):
                raise Refused(f'The Milvus server already has the collection(s) {", ".join(taken)}: nothing restored.')
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix='.restoring-', dir=data_dir))
    try:
        with tarfile.open(archive, 'r:gz') as tar:
            tar.extractall(staging, filter='data')
        if kind == 'postgres':
            uri, env = _pg(settings.db_url)
            _run(['pg_restore', '--no-owner', '--no-privileges', '--exit-on-error', f'--dbname={uri}',
                  str(staging / PG_NAME)], env)  # fmt: skip
        else:
            sqlite_path(settings.db_url).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(staging / SQLITE_NAME, sqlite_path(settings.db_url))
        # a secret the restoring environment sets (STORAGE_SECRET) stays there, never written to disk
        names = ('uploads', 'storage') if settings.storage_secret else ('uploads', 'storage', 'storage_secret')
        for name in names:
            if (staging / name).exists():
                shutil.move(staging / name, data_dir / name)
        if (data_dir / 'storage_secret').exists():
            (data_dir / 'storage_secret').chmod(0o600)
        if collections:
            with vector_export.connect(settings.milvus_location, settings.milvus_token, must_exist=False) as client:
                vector_export.restore(client, collections, staging / 'vectors')
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest
