"""A throwaway Redis for tests: Debian's `redis-server` (installed by scripts/test.sh when missing) on a free loopback
port, no persistence, its files in a temp dir."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class RedisServer:
    def __init__(self) -> None:
        self.binary = shutil.which('redis-server')
        if self.binary is None:
            raise RuntimeError("redis-server not found: install Debian's redis-server package.")
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            self.port = sock.getsockname()[1]
        self.dir = Path(tempfile.mkdtemp(prefix='redis-test-'))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f'redis://127.0.0.1:{self.port}/0'

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [self.binary, '--port', str(self.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
             '--dir', str(self.dir), '--protected-mode', 'yes'],
            stdout=open(self.dir / 'log', 'wb'), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(('127.0.0.1', self.port)) == 0:
                    return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f'redis-server did not start; see {self.dir / "log"}')

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)
