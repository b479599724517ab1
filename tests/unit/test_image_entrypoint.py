"""The image's start, without a container engine: the final `platform` stage of the Dockerfile read as Docker reads
it (ENV, WORKDIR, USER, ENTRYPOINT/CMD, HEALTHCHECK, STOPSIGNAL, VOLUME), its start command run with that environment
from a root-owned copy of the code, as the image's user when the tests run as root.

What it shows: the platform serves `/health`; the HEALTHCHECK command passes (also while Ollama is down); the admin
command line works next to it; nothing but the data directory is written; `docker stop`'s signal ends it with exit
code 0 within Docker's grace period, a clean shutdown in the log and an intact database.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.dockerfile import ROOT, Stage, stages
from tests.ollama_server import OllamaTestServer

DOCKER_STOP_GRACE = 10.0  # seconds `docker stop` waits before it kills


@pytest.fixture(scope='module')
def stage() -> Stage:
    return stages()['platform']


@dataclass(kw_only=True, slots=True)
class Container:
    """What the container would have: the code at WORKDIR, the volume, the environment, the user."""

    app_dir: Path
    data_dir: Path
    tmp_dir: Path
    env: dict[str, str]
    user: dict[str, object]

    def run(self, command: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _host_python(command), cwd=self.app_dir, env=self.env, capture_output=True, text=True, **self.user, **kwargs
        )

    def snapshot_code(self) -> dict[str, tuple[int, int]]:
        return {
            str(path.relative_to(self.app_dir)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in sorted(self.app_dir.rglob('*'))
        }


def _host_python(command: list[str]) -> list[str]:
    """The image's `python` is the one on its PATH; here it is the interpreter running the tests (same packages)."""
    assert command and command[0] == 'python', f'expected a python command, got {command}'
    return [sys.executable, *command[1:]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _image_user(stage: Stage) -> tuple[int, int]:
    user = stage.last('USER')
    assert user, 'the platform stage sets no USER: it would run as root'
    uid, _, gid = user.partition(':')
    assert uid.isdigit() and gid.isdigit(), f'USER {user}: numeric uid:gid, so Kubernetes can check runAsNonRoot'
    assert int(uid) != 0, 'the platform must not run as root'
    return int(uid), int(gid)


def _copy_code(target: Path) -> None:
    """`COPY . .`: the files of the checkout (tracked and new, not ignored), owned by whoever runs the tests."""
    listed = subprocess.run(
        ['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split('\0')):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for path in (target, *target.rglob('*')):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _can_run_as(uid: int, gid: int, cwd: Path) -> str:
    """'' when the test interpreter and its packages work for that user, else why not."""
    try:
        probe = subprocess.run(
            [sys.executable, '-c', 'import nicegui, config'],
            cwd=cwd,
            user=uid,
            group=gid,
            extra_groups=[],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError as exc:
        return str(exc)
    return '' if probe.returncode == 0 else probe.stderr.strip().splitlines()[-1]


@pytest.fixture
def container(stage: Stage) -> Iterator[Container]:
    uid, gid = _image_user(stage)
    volumes = stage.all('VOLUME')
    assert volumes == ['["/data"]'], f'the data directory should be the one volume, found {volumes}'
    image_data = stage.env['DATA_DIR']
    assert image_data == '/data'
    root = Path(tempfile.mkdtemp(prefix='image-'))  # not tmp_path: pytest keeps that 0700, closed to another user
    try:
        root.chmod(0o755)
        app_dir, data_dir, tmp_dir = root / 'app', root / 'data', root / 'tmp'
        for path in (app_dir, data_dir, tmp_dir):
            path.mkdir()
        _copy_code(app_dir)
        user: dict[str, object] = {}
        if os.geteuid() == 0:
            why_not = _can_run_as(uid, gid, app_dir)
            if not why_not:
                for path in (data_dir, tmp_dir):
                    os.chown(path, uid, gid)
                user = {'user': uid, 'group': gid, 'extra_groups': []}
            else:
                print(f'running as root: uid {uid} cannot run the test interpreter here ({why_not})')
        # the image's environment, with its paths mapped into this machine; the image user's home is /data
        env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': image_data, 'TMPDIR': str(tmp_dir)}
        env.update(stage.env)
        env = {k: str(data_dir) + v.removeprefix(image_data) if v.startswith(image_data) else v for k, v in env.items()}
        env.update(HOST='127.0.0.1', PORT=str(_free_port()))
        yield Container(app_dir=app_dir, data_dir=data_dir, tmp_dir=tmp_dir, env=env, user=user)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_image_user_is_used_when_the_tests_run_as_root(container: Container) -> None:
    if os.geteuid() != 0:
        pytest.skip('the tests do not run as root: the app runs as this user')
    if not container.user:
        pytest.skip('uid 10001 cannot reach the test interpreter on this machine (see the captured output)')
    done = container.run(['python', '-c', 'import os; print(os.geteuid())'], timeout=30)
    assert done.stdout.strip() == str(container.user['user'])
    refused = container.run(['python', '-c', 'open("app.py", "a")'], timeout=30)
    assert refused.returncode != 0 and 'PermissionError' in refused.stderr, 'the code must be read-only to the user'


def test_the_code_is_not_the_image_users(stage: Stage) -> None:
    """COPY without --chown: the code belongs to root, so the platform (uid 10001) can read it but not change it."""
    chowned = [args for args in stage.all('COPY') if '--chown' in args or '--chmod' in args]
    assert not chowned, f'the code would be writable by the platform: COPY {chowned}'
    assert stage.all('USER')[-1] != '0' and not any(key == 'RUN' for key, _ in _after_last_user(stage))


def _after_last_user(stage: Stage) -> list[tuple[str, str]]:
    last = max(i for i, (key, _) in enumerate(stage.instructions) if key == 'USER')
    return stage.instructions[last + 1 :]


def _wait_for_health(url: str, process: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f'the app exited with {process.returncode}:\n{log.read_text()[-3000:]}')
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f'no answer from {url} within {seconds} s:\n{log.read_text()[-3000:]}')


def test_start_command_serves_passes_its_healthcheck_writes_only_data_and_stops_cleanly(
    stage: Stage, container: Container
) -> None:
    command, healthcheck = stage.command, stage.healthcheck
    assert stage.last('WORKDIR') == '/app'
    assert command == ['python', 'app.py'], 'a new start command: check the supervisord program and the docs too'
    assert healthcheck is not None, 'the platform stage has no HEALTHCHECK'
    assert '/health' in ' '.join(healthcheck.command) and '/health/ready' not in ' '.join(healthcheck.command), (
        'the HEALTHCHECK is liveness: it must not fail while Ollama is down'
    )
    stop_signal = getattr(signal, stage.last('STOPSIGNAL') or 'SIGTERM')
    before = container.snapshot_code()
    log = container.tmp_dir.parent / 'app.log'
    ollama = OllamaTestServer().start()
    container.env['OLLAMA_HOST'] = ollama.url
    process: subprocess.Popen | None = None
    try:
        with log.open('wb') as out:
            process = subprocess.Popen(
                _host_python(command),
                cwd=container.app_dir,
                env=container.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                **container.user,
            )
        _wait_for_health(f'http://127.0.0.1:{container.env["PORT"]}/health', process, log)

        check = container.run(healthcheck.command, timeout=healthcheck.seconds('timeout', 30))
        assert check.returncode == 0, f'HEALTHCHECK failed: {check.stdout}{check.stderr}'
        ollama.go_down()
        check = container.run(healthcheck.command, timeout=healthcheck.seconds('timeout', 30))
        assert check.returncode == 0, f'HEALTHCHECK fails while Ollama is down: {check.stdout}{check.stderr}'
        ollama.come_up()

        # the admin command line next to the running platform (`docker compose exec platform python manage.py ...`)
        admin = container.run(
            ['python', 'manage.py', 'create-admin', 'ops@example.org', '--password-stdin'],
            input='correct-horse-42\n',
            timeout=60,
        )
        assert admin.returncode == 0, admin.stdout + admin.stderr

        started = time.monotonic()
        process.send_signal(stop_signal)
        try:
            code = process.wait(DOCKER_STOP_GRACE)
        except subprocess.TimeoutExpired:
            pytest.fail(f'still running {DOCKER_STOP_GRACE} s after {stop_signal.name}: docker stop would kill it')
        output = log.read_text()
        assert code == 0, f'exit code {code} after {stop_signal.name}:\n{output[-3000:]}'
        assert 'shut down cleanly' in output, output[-3000:]
        assert 'Traceback' not in output, output[-3000:]
        print(f'stopped in {time.monotonic() - started:.2f} s')
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)
        ollama.stop()

    check = container.run(healthcheck.command, timeout=healthcheck.seconds('timeout', 30))
    assert check.returncode != 0, 'the HEALTHCHECK passes with the platform stopped'

    assert container.snapshot_code() == before, 'the platform wrote into its code directory'
    written = {path.name for path in container.data_dir.iterdir()}
    assert {'platform.db', 'storage_secret', 'storage', 'uploads'} <= written, written
    assert (
        not (container.data_dir / 'platform.db-wal').exists()
        or (container.data_dir / 'platform.db-wal').stat().st_size == 0
    ), 'the database was not closed (WAL not checkpointed)'
    with sqlite3.connect(container.data_dir / 'platform.db') as db:
        assert db.execute('PRAGMA integrity_check').fetchone() == ('ok',)
        assert db.execute("SELECT email FROM users WHERE email = 'ops@example.org'").fetchone()
        assert db.execute('SELECT count(*) FROM aerich').fetchone()[0] > 0
