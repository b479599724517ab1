"""Chat relay benchmark: what the platform adds on top of a direct `ollama.AsyncClient` call.

    python -m benchmarks.bench_chat [--samples 200] [--long-tokens 20000] [--users 50]

Runs the Ollama test server with instant tokens (in its own process, so its threads do not compete with the
measured event loop for the GIL) and, in the same run, measures the same requests twice: directly with
`ollama.AsyncClient` and through `services.chat.conversations`
(the code path the playground page and the API use: permission check,
conversation load, host lookup, gateway stream, then saving the conversation and recording the activity). The page
coalesces browser updates (components/chat_view.py, at most one every MIN_INTERVAL seconds); the benchmark counts how
many updates that rule would send for the long stream.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import ollama


class TestServer:
    """tests/ollama_server.py in a subprocess, steered through its /__control endpoint."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(('127.0.0.1', 0))
            port = probe.getsockname()[1]
        self.url = f'http://127.0.0.1:{port}'
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'tests.ollama_server', '--port', str(port), '--token-delay', '0'],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                httpx.get(f'{self.url}/api/version', timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.05)

    @property
    def response_tokens(self) -> int:
        return httpx.get(f'{self.url}/__control').json()['response_tokens']

    @response_tokens.setter
    def response_tokens(self, value: int) -> None:
        httpx.post(f'{self.url}/__control', json={'response_tokens': value}).raise_for_status()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


async def direct_ttft(client: ollama.AsyncClient, prompt: str) -> tuple[float, int]:
    started = time.perf_counter()
    first, tokens = None, 0
    async for part in await client.chat(model='llama3.2', messages=[{'role': 'user', 'content': prompt}], stream=True):
        if part.message.content:
            tokens += 1
            if first is None:
                first = time.perf_counter()
    return (first - started) * 1000, tokens


async def platform_ttft(services, user_id: int, prompt: str, conversation_id: int) -> tuple[float, int, str | None]:
    from services.chat.conversations import ChatDelta

    started = time.perf_counter()
    first, tokens, error = None, 0, None
    async for event in services.chat.send(user_id, conversation_id, prompt):
        if isinstance(event, ChatDelta):
            tokens += 1
            if first is None:
                first = time.perf_counter()
        else:
            error = event.error
    return (first - started) * 1000 if first else float('nan'), tokens, error


async def run(args: argparse.Namespace) -> dict:
    data = Path(tempfile.mkdtemp(prefix='bench-chat-'))
    server = TestServer()
    os.environ.update(DATA_DIR=str(data), OLLAMA_HOST=server.url, STORAGE_SECRET='bench', OLLAMA_HEALTH_INTERVAL='3600')
    import nicegui.core

    from components.chat_view import MIN_INTERVAL
    from config import Settings
    from models import User
    from services.core import db
    from services.wiring import build_services

    nicegui.core.loop = asyncio.get_running_loop()  # background_tasks without a running NiceGUI app
    settings = Settings()
    settings.ensure_dirs()
    await db.open_database(settings.db_url)
    services = build_services(settings)
    services.chat.max_streams_per_user = 10_000
    users = [(await User.create(email=f'u{i}@bench.local', display_name=f'User {i}')).id for i in range(args.users)]
    await services.hosts.urls()
    await services.catalogue.refresh()
    client = ollama.AsyncClient(host=server.url)
    gc.collect()
    gc.freeze()
    results: dict = {}

    # 1. time to first token, sequential, interleaved so both see the same machine state
    server.response_tokens = 12

    async def fresh(user_id: int) -> int:  # a new conversation per reply: same history length every time (untimed)
        return (await services.chat.create_conversation(user_id, 'llama3.2:latest')).id

    for _ in range(20):  # warm-up
        await direct_ttft(client, 'warm up')
        await platform_ttft(services, users[0], 'warm up', await fresh(users[0]))
    direct, platform = [], []
    for i in range(args.samples):
        direct.append((await direct_ttft(client, f'hello {i}'))[0])
        conversation_id = await fresh(users[0])
        platform.append((await platform_ttft(services, users[0], f'hello {i}', conversation_id))[0])
    results['ttft'] = {
        'direct_p50': pct(direct, 50),
        'direct_p95': pct(direct, 95),
        'platform_p50': pct(platform, 50),
        'platform_p95': pct(platform, 95),
        'added_p50': pct(platform, 50) - pct(direct, 50),
        'added_p95': pct(platform, 95) - pct(direct, 95),
        'added_median_of_pairs': statistics.median(p - d for p, d in zip(platform, direct, strict=True)),
    }

    # 2. one long stream: relay throughput, and the browser updates the page's coalescing would send
    from services.chat.conversations import ChatDelta

    server.response_tokens = args.long_tokens
    started = time.perf_counter()
    _, direct_tokens = await direct_ttft(client, 'long')
    direct_s = time.perf_counter() - started
    conversation = await services.chat.create_conversation(users[0], 'llama3.2:latest')
    tokens, updates, last = 0, 0, 0.0
    started = time.perf_counter()
    async for event in services.chat.send(users[0], conversation.id, 'long'):
        if isinstance(event, ChatDelta):
            tokens += 1
            now = time.perf_counter()
            if now - last >= MIN_INTERVAL:
                updates, last = updates + 1, now
    platform_s = time.perf_counter() - started
    results['long'] = {
        'tokens': tokens,
        'direct_tokens_per_s': direct_tokens / direct_s,
        'platform_tokens_per_s': tokens / platform_s,
        'platform_seconds': platform_s,
        'browser_updates': updates + 1,
    }

    # 3. concurrent streams from many users
    server.response_tokens = args.concurrent_tokens

    async def many(fn) -> list:
        return await asyncio.gather(*(fn(i) for i in range(args.users)), return_exceptions=True)

    rounds = []
    for _ in range(args.rounds):  # alternate, so both see the same (shared, noisy) machine
        direct_runs = await many(lambda i: direct_ttft(client, f'user {i}'))
        conversations = [await fresh(user_id) for user_id in users]
        platform_runs = await many(lambda i, c=conversations: platform_ttft(services, users[i], f'user {i}', c[i]))
        errors = [r for r in platform_runs if isinstance(r, BaseException) or r[2]]
        d_ttft = [r[0] for r in direct_runs if not isinstance(r, BaseException)]
        p_ttft = [r[0] for r in platform_runs if not isinstance(r, BaseException) and not r[2]]
        rounds.append(
            {
                'errors': len(errors),
                'direct_errors': sum(isinstance(r, BaseException) for r in direct_runs),
                'direct_p95': pct(d_ttft, 95),
                'platform_p95': pct(p_ttft, 95),
                'added_p95': pct(p_ttft, 95) - pct(d_ttft, 95),
                'tokens_each': min((r[1] for r in platform_runs if not isinstance(r, BaseException)), default=0),
            }
        )
    results['concurrent'] = {
        'streams': args.users,
        'rounds': rounds,
        'errors': sum(r['errors'] for r in rounds),
        'added_p95_median': statistics.median(r['added_p95'] for r in rounds),
    }
    await client._client.aclose()
    await services.ollama.close()
    await db.close_database()
    server.stop()
    return results


def report(r: dict) -> str:
    t, long, c = r['ttft'], r['long'], r['concurrent']
    return '\n'.join(
        [
            f'Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)',
            'Time to first token (ms), sequential:',
            f'  direct   p50 {t["direct_p50"]:.2f}  p95 {t["direct_p95"]:.2f}',
            f'  platform p50 {t["platform_p50"]:.2f}  p95 {t["platform_p95"]:.2f}',
            f'  added    p50 {t["added_p50"]:.2f}  p95 {t["added_p95"]:.2f}  '
            f'(median of pairs {t["added_median_of_pairs"]:.2f})',
            f'One long stream ({long["tokens"]} tokens):',
            f'  direct   {long["direct_tokens_per_s"]:,.0f} tokens/s',
            f'  platform {long["platform_tokens_per_s"]:,.0f} tokens/s ({long["platform_seconds"]:.2f} s); '
            f'browser updates with coalescing: {long["browser_updates"]}',
            f'{c["streams"]} concurrent streams from {c["streams"]} users, {len(c["rounds"])} rounds:',
            *(
                f'  errors {x["errors"]} (direct {x["direct_errors"]}), {x["tokens_each"]} tokens each; TTFT p95 '
                f'direct {x["direct_p95"]:.1f} ms, platform {x["platform_p95"]:.1f} ms, added {x["added_p95"]:.1f} ms'
                for x in c['rounds']
            ),
            f'  total errors {c["errors"]}; added p95, median of rounds: {c["added_p95_median"]:.1f} ms',
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--samples', type=int, default=200)
    parser.add_argument('--long-tokens', type=int, default=20_000)
    parser.add_argument('--users', type=int, default=50)
    parser.add_argument('--rounds', type=int, default=9)
    parser.add_argument('--concurrent-tokens', type=int, default=200, help='tokens per reply in the concurrent test')
    args = parser.parse_args()
    print(report(asyncio.run(run(args))))


if __name__ == '__main__':
    main()
