"""The worker processes that split documents: real spawned processes, a crash replaced by a fresh pool."""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from services.core.workers import WorkerPool
from services.knowledge import chunking


def _die_once(marker: str) -> int:
    path = Path(marker)
    if not path.exists():
        path.write_text('died')
        os._exit(1)  # the worker process dies as an out-of-memory kill would
    return os.getpid()


def _always_die() -> None:
    os._exit(1)


async def test_work_runs_in_another_process() -> None:
    pool = WorkerPool(1)
    try:
        assert await pool.run(os.getpid) != os.getpid()
    finally:
        pool.close()


async def test_a_dead_worker_is_replaced_and_the_call_retried(tmp_path: Path) -> None:
    pool = WorkerPool(1)
    try:
        pid = await pool.run(_die_once, str(tmp_path / 'marker'))
        assert pid != os.getpid()
        assert (tmp_path / 'marker').read_text() == 'died'
        with pytest.raises(BrokenProcessPool):  # dying twice in a row: the caller learns it
            await pool.run(_always_die)
        assert await pool.run(os.getpid) != os.getpid()  # and the pool still works afterwards
    finally:
        pool.close()


async def test_zero_workers_run_in_a_thread_of_this_process() -> None:
    assert await WorkerPool(0).run(os.getpid) == os.getpid()


async def test_split_files_in_a_worker_reports_each_file(tmp_path: Path) -> None:
    good, empty, broken = tmp_path / 'good.txt', tmp_path / 'empty.txt', tmp_path / 'broken.txt'
    good.write_text('Llamas hum. Alpacas spit. ' * 40, encoding='utf-8')
    empty.write_text('   ', encoding='utf-8')
    broken.write_bytes(b'\xff\xfe\x00 not utf-8 \xc3')
    pool = WorkerPool(1, warm=chunking.warm)
    try:
        results = await pool.run(
            chunking.split_files, [str(good), str(empty), str(broken), str(tmp_path / 'gone.txt')], 'sentence', 64, 8
        )
    finally:
        pool.close()
    chunks, *reasons = results
    assert len(chunks) > 2 and all(isinstance(c, chunking.ChunkText) for c in chunks)
    assert chunks[0].text.startswith('Llamas hum.')
    assert reasons[0] == 'The document produced no chunks (no text).'
    assert 'could not be read' in reasons[1]
    assert reasons[2] == 'The document produced no chunks (no text).'


def test_a_worker_of_an_app_started_as_a_script_does_not_run_the_script_again(tmp_path: Path) -> None:
    """`python app.py` starts the workers; a spawned process would otherwise run app.py again first (2-3 s and
    140-210 MB of services it never uses, per worker). A script that notes every run of itself starts a pool (warmed
    like the ingestion's) and runs a call in it: the script ran once, the call ran in another process."""
    import subprocess
    import sys

    runs = tmp_path / 'runs'
    script = tmp_path / 'main_script.py'
    script.write_text(
        'import asyncio, os, sys\n'
        f'sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n'
        f'open({str(runs)!r}, "a").write(__name__ + "\\n")\n'
        'from services.core.workers import WorkerPool\n'
        'from services.knowledge import chunking\n'
        'async def main():\n'
        '    pool = WorkerPool(1, warm=chunking.warm)\n'
        '    try:\n'
        '        assert await pool.run(os.getpid) != os.getpid()\n'
        '    finally:\n'
        '        pool.close()\n'
        "if __name__ == '__main__':\n"
        '    asyncio.run(main())\n'
    )
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert runs.read_text().split() == ['__main__']  # not '__mp_main__' in the worker as well
