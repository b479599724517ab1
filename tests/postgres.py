"""A throwaway PostgreSQL server for tests: initdb into a temp dir and run it on a free loopback port.

Uses the server binaries of Debian's `postgresql` package (installed by scripts/test.sh when missing). As root the
server runs as the `postgres` user, because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def find_bin() -> Path | None:
    candidates = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which('initdb')
    return Path(initdb).parent if initdb else None


class PostgresServer:
    def __init__(self) -> None:
        self.bin = find_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries not found: install Debian's postgresql package.")
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            self.port = sock.getsockname()[1]
        self.dir = Path(tempfile.mkdtemp(prefix='pg-test-'))
        self.as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f'postgres://postgres@127.0.0.1:{self.port}/postgres'

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ['runuser', '-u', 'postgres', '--', *command]
        subprocess.run(command, check=True, capture_output=True)

    def start(self) -> PostgresServer:
        if self.as_root:
            shutil.chown(self.dir, 'postgres')
        self._run('initdb', '-D', str(self.dir / 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8')
        self._run(
            'pg_ctl',
            '-D',
            str(self.dir / 'data'),
            '-l',
            str(self.dir / 'log'),
            '-w',
            '-o',
            f'-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off',
            'start',
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(('127.0.0.1', self.port)) == 0:
                    return self
            time.sleep(0.1)
        raise RuntimeError('PostgreSQL did not start')

    def stop(self) -> None:
        try:
            self._run('pg_ctl', '-D', str(self.dir / 'data'), '-m', 'immediate', 'stop')
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
