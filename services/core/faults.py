"""Faults of the machine a day-long workshop meets — a full disk, a locked database — recognised and told in plain
sentences: what happened and what to do. The API answers them with 503 (services/core/errors.Unavailable) instead
of "something went wrong", and readiness reports them (`disk_report`)."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from services.core.i18n import N_

DISK_FULL = (
    "The server's disk is full, so nothing can be saved right now (what was saved before is safe). Tell an admin: "
    'they need to free space in the data directory.'
)
DATABASE_BUSY = (
    'The database is busy (locked by another program, e.g. a backup or a second copy of the platform), so this could '
    'not be saved. Try again in a moment; if it keeps happening, tell an admin.'
)
READ_ONLY = (
    "The server's data directory cannot be written to (read-only), so nothing can be saved right now. Tell an admin."
)


def explain(exc: BaseException) -> str | None:
    """A plain sentence for an infrastructure fault behind `exc` (or its causes), or None if it is something else."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        seen += 1
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return DISK_FULL
        if isinstance(current, OSError) and current.errno == errno.EROFS:
            return READ_ONLY
        text = str(current).lower()
        if isinstance(current, sqlite3.OperationalError) or type(current).__name__ in (
            'OperationalError', 'DiskFullError', 'InsufficientResourcesError', 'LockNotAvailableError'
        ):  # fmt: skip
            if 'disk is full' in text or 'no space left' in text or 'could not extend file' in text:
                return DISK_FULL
            if 'database is locked' in text or 'database table is locked' in text or 'lock timeout' in text:
                return DATABASE_BUSY
            if 'readonly database' in text or 'read-only' in text:
                return READ_ONLY
        current = current.__cause__ or current.__context__
    return None


def disk_report(path: Path, min_free_mb: int) -> dict[str, Any]:
    """Free space of the data directory and whether a file can be written there."""
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        return {
            'status': 'down',
            'error': N_('the data directory cannot be read: {problem}', problem=exc.strerror or exc),
        }
    free_mb = usage.free // (1024 * 1024)
    report: dict[str, Any] = {'status': 'ok', 'free_mb': free_mb, 'min_free_mb': min_free_mb}
    probe = path / f'.write-probe-{uuid.uuid4().hex}'
    try:
        with probe.open('wb') as handle:
            handle.write(b'\0' * 4096)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        report.update(status='down', error=explain(exc) or N_('the data directory cannot be written: {exc}', exc=exc))
    finally:
        probe.unlink(missing_ok=True)
    if report['status'] == 'ok' and free_mb < min_free_mb:
        report.update(
            status='full',
            error=N_(
                'only {free_mb} MB free in the data directory (less than {min_free_mb} MB)',
                free_mb=free_mb,
                min_free_mb=min_free_mb,
            ),
        )
    return report
