"""Helpers shared by the benchmarks: free ports, the fake Ollama server and the app as subprocesses, text."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = (
    'llama alpaca vicuna guanaco andes wool pack herd valley river mountain glacier village market weaver farmer '
    'harvest quinoa potato maize altitude oxygen breath trail caravan salt copper silver festival music drum flute '
    'poncho blanket dye colour loom thread needle basket pottery clay kiln fire stone bridge rope terrace canal '
    'rain cloud storm sun moon star season winter summer spring autumn shepherd dog fence pasture grass shrub '
    'cactus lake island boat reed fish trout bird condor eagle hawk insect beetle flower orchid tree forest'
).split()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST_')}
    env.update(extra)
    return env


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f'{url} did not answer within {timeout} s')


def start_fake_ollama() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, '-m', 'tests.ollama_server', '--port', str(port), '--token-delay', '0'],
        cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f'http://127.0.0.1:{port}'
    wait_http(f'{url}/api/version')
    return process, url


def peak_rss_mb(pid: int) -> float:
    try:
        text = Path(f'/proc/{pid}/status').read_text()
    except OSError:  # it just exited
        return 0.0
    for line in text.splitlines():
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) / 1024
    return 0.0


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children...), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path('/proc').iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / 'stat').read_text().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def peak_rss_tree_mb(pid: int) -> tuple[float, int]:
    """The sum of the peak RSS of a process and all its descendants (worker processes, Milvus Lite), and how many."""
    others = descendants(pid)
    return peak_rss_mb(pid) + sum(peak_rss_mb(p) for p in others if Path(f'/proc/{p}').exists()), len(others)


def sentence(rng: random.Random, n: int = 12) -> str:
    return ' '.join(rng.choice(WORDS) for _ in range(n)).capitalize() + '.'


def markdown_doc(rng: random.Random, index: int, size: int = 5000) -> str:
    parts = [f'# Document {index}: {rng.choice(WORDS)} and {rng.choice(WORDS)}\n']
    while sum(len(p) for p in parts) < size:
        parts.append(f'\n## {rng.choice(WORDS).title()} {rng.choice(WORDS)}\n')
        parts.append(' '.join(sentence(rng) for _ in range(6)) + '\n')
    return ''.join(parts)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
