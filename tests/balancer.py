"""HAProxy (Debian's package, installed by scripts/test.sh when missing) running the shipped deploy/haproxy.cfg on a
free loopback port in front of app processes on loopback ports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / 'deploy' / 'haproxy.cfg'


class Balancer:
    def __init__(self, *backends: str) -> None:
        self.binary = shutil.which('haproxy') or next((p for p in ('/usr/sbin/haproxy',) if Path(p).exists()), None)
        if self.binary is None:
            raise RuntimeError("haproxy not found: install Debian's haproxy package.")
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            self.port = sock.getsockname()[1]
        self.backends = backends  # 'host:port' of app1, app2
        self.dir = Path(tempfile.mkdtemp(prefix='haproxy-test-'))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.port}'

    def start(self) -> Balancer:
        env = dict(os.environ, OWP_LB_BIND=f'127.0.0.1:{self.port}')
        for i, backend in enumerate(self.backends, start=1):
            env[f'OWP_APP{i}'] = backend
        self.process = subprocess.Popen(
            [self.binary, '-db', '-f', str(CONFIG)], env=env, stdout=open(self.dir / 'log', 'wb'),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f'haproxy exited: {(self.dir / "log").read_text()[-2000:]}')
            try:
                if httpx.get(f'{self.url}/health/ready', timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError('haproxy did not forward to a ready app process')

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)
