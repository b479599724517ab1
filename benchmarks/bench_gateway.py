"""The API and the OpenAI-compatible gateway at room scale, over real HTTP (issue 15).

    python -m benchmarks.bench_gateway [--streams 50] [--seconds 20] [--samples 40]

The app runs as a server subprocess (`python app.py`, slots raised so the room's admission is not what is
measured), the Ollama test server as another, and N attendees call it as their SDKs do, each with their own API
token. Every figure is next to its baseline from the same run: the raw `ollama` client streaming from the test
server directly.

- throughput: N concurrent clients each streaming 200-token replies back to back for --seconds, instant tokens;
  replies per second and p95 of a whole reply, direct vs `/v1/chat/completions` (SSE) vs `/api/v1/chat` (NDJSON).
- first token at 20 ms a token: N concurrent streams; time to first token p50/p95, direct vs gateway.
- one stream: sequential streams, instant tokens, interleaved with direct ones; what the platform adds to the first
  token (p50, p95) and per token.
- one short reply (1 token) and one paced stream (20 tokens at 20 ms): the same, without the CPU contention of 200
  instant tokens (three busy processes on two cores), and at a model's pace.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
import ollama

from benchmarks.bench_room import prepare, say, start_app, stop
from benchmarks.common import ROOT, clean_env, free_port, percentile, wait_http

MESSAGES = [{'role': 'user', 'content': 'Tell me about llamas.'}]
TOKENS = 200


def start_ollama() -> tuple[object, str]:
    import subprocess

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, '-m', 'tests.ollama_server', '--port', str(port), '--token-delay', '0',
         '--response-tokens', str(TOKENS)],
        cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f'http://127.0.0.1:{port}'
    wait_http(f'{url}/api/version')
    return process, url


def control(url: str, **switches: float) -> None:
    httpx.post(f'{url}/__control', json=switches).raise_for_status()


async def direct(client: ollama.AsyncClient) -> tuple[float, float, int]:
    """(time to first token, whole reply, tokens) of one stream, straight from the test server."""
    started = time.perf_counter()
    first, tokens = None, 0
    async for part in await client.chat(model='llama3.2', messages=MESSAGES, stream=True):
        if part.message.content:
            tokens += 1
            first = first or time.perf_counter() - started
    return first or 0.0, time.perf_counter() - started, tokens


async def through(http: httpx.AsyncClient, token: str, path: str) -> tuple[float, float, int]:
    """The same stream through the platform: `/v1/chat/completions` (SSE) or `/api/v1/chat` (NDJSON)."""
    started = time.perf_counter()
    first, tokens = None, 0
    body = {'model': 'llama3.2', 'messages': MESSAGES, 'stream': True}
    async with http.stream('POST', path, json=body, headers={'Authorization': f'Bearer {token}'}) as response:
        if response.status_code != 200:
            raise RuntimeError(f'{path}: {response.status_code} {(await response.aread())[:200]!r}')
        async for line in response.aiter_lines():
            if not line or line.startswith(':'):
                continue
            text = line.removeprefix('data: ')
            if text == '[DONE]':
                break
            part = json.loads(text)
            if 'choices' in part:
                content = ((part['choices'] or [{}])[0].get('delta') or {}).get('content')
            else:
                content = (part.get('message') or {}).get('content')
            if content:
                tokens += 1
                first = first or time.perf_counter() - started
    return first or 0.0, time.perf_counter() - started, tokens


def summary(results: list[tuple[float, float, int]], seconds: float | None = None) -> dict:
    firsts = [r[0] for r in results]
    wholes = [r[1] for r in results]
    out = {
        'streams': len(results),
        'ttft_p50_ms': round(percentile(firsts, 0.5) * 1000, 1),
        'ttft_p95_ms': round(percentile(firsts, 0.95) * 1000, 1),
        'reply_p50_ms': round(percentile(wholes, 0.5) * 1000, 1),
        'reply_p95_ms': round(percentile(wholes, 0.95) * 1000, 1),
    }
    if seconds:
        out['per_second'] = round(len(results) / seconds, 1)
    return out


async def loop_for(seconds: float, workers: int, one) -> tuple[list, float]:
    """`workers` clients each running `one(i)` back to back until `seconds` are over."""
    results: list = []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()

    async def worker(i: int) -> None:
        while time.perf_counter() < deadline:
            results.append(await one(i))

    await asyncio.gather(*(worker(i) for i in range(workers)))
    return results, time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--streams', type=int, default=50)
    parser.add_argument('--seconds', type=float, default=20)
    parser.add_argument('--samples', type=int, default=40)
    args = parser.parse_args()
    people = [f'a{i:02d}' for i in range(args.streams)]
    server, ollama_url = start_ollama()
    data = Path(tempfile.mkdtemp(prefix='bench-gateway-'))
    tokens = await prepare(data, people)
    app, app_url = start_app(
        data, [ollama_url], OLLAMA_SLOTS=str(args.streams * 2), OLLAMA_HEALTH_INTERVAL='30', QUEUE_MAX_PER_USER='4'
    )
    report: dict = {}
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
    try:
        raw = ollama.AsyncClient(host=ollama_url, timeout=300)
        async with httpx.AsyncClient(base_url=app_url, timeout=300, limits=limits) as http:
            for path in ('/v1/chat/completions', '/api/v1/chat'):  # warm up: routes, first-call paths
                await through(http, tokens[people[0]], path)
            await direct(raw)

            say('one stream at a time, instant tokens, interleaved: direct, then each path, sample after sample')
            one: dict[str, list] = {'direct': [], '/v1/chat/completions': [], '/api/v1/chat': []}
            for _ in range(args.samples):
                one['direct'].append(await direct(raw))
                for path in ('/v1/chat/completions', '/api/v1/chat'):
                    one[path].append(await through(http, tokens[people[0]], path))
            base = one['direct']
            report['one_stream'] = {k: summary(v) for k, v in one.items()}
            for path in ('/v1/chat/completions', '/api/v1/chat'):
                added_first = percentile([r[0] for r in one[path]], 0.5) - percentile([r[0] for r in base], 0.5)
                added_p95 = percentile([r[0] for r in one[path]], 0.95) - percentile([r[0] for r in base], 0.95)
                added_whole = percentile([r[1] for r in one[path]], 0.5) - percentile([r[1] for r in base], 0.5)
                report['one_stream'][path]['added_first_token_ms'] = round(added_first * 1000, 2)
                report['one_stream'][path]['added_first_token_p95_ms'] = round(added_p95 * 1000, 2)
                report['one_stream'][path]['added_per_token_ms'] = round((added_whole - added_first) * 1000 / TOKENS, 3)

            # the same, with what the 200 instant tokens do to a 2-core machine taken out: one-token replies (the
            # platform's own cost per request), and 20-token replies at 20 ms a token (a model's pace: the processes
            # sleep between tokens, as with a real Ollama)
            for section, switches, samples in (
                ('one_short_reply', {'response_tokens': 1}, args.samples * 2),
                ('one_paced_stream', {'response_tokens': 20, 'token_delay': 0.02}, args.samples // 2),
            ):
                say(f'{section}: {switches}, interleaved')
                control(ollama_url, **switches)
                rows: dict[str, list] = {'direct': [], '/v1/chat/completions': [], '/api/v1/chat': []}
                for _ in range(samples):
                    rows['direct'].append(await direct(raw))
                    for path in ('/v1/chat/completions', '/api/v1/chat'):
                        rows[path].append(await through(http, tokens[people[0]], path))
                report[section] = {k: summary(v) for k, v in rows.items()}
                for path in ('/v1/chat/completions', '/api/v1/chat'):
                    for q, key in ((0.5, 'added_first_token_ms'), (0.95, 'added_first_token_p95_ms')):
                        ours, theirs = [r[0] for r in rows[path]], [r[0] for r in rows['direct']]
                        added = percentile(ours, q) - percentile(theirs, q)
                        report[section][path][key] = round(added * 1000, 2)
                control(ollama_url, response_tokens=TOKENS, token_delay=0.0)

            say(f'throughput: {args.streams} clients back to back for {args.seconds:.0f} s, instant tokens')
            results, took = await loop_for(args.seconds, args.streams, lambda i: direct(raw))
            report['throughput'] = {'direct': summary(results, took)}
            for path in ('/v1/chat/completions', '/api/v1/chat'):
                results, took = await loop_for(
                    args.seconds, args.streams, lambda i, path=path: through(http, tokens[people[i]], path)
                )
                report['throughput'][path] = summary(results, took)
                ratio = report['throughput'][path]['per_second'] / report['throughput']['direct']['per_second']
                report['throughput'][path]['ratio_to_direct'] = round(ratio, 2)

            say(f'first token: {args.streams} concurrent streams at 20 ms a token')
            control(ollama_url, token_delay=0.02)
            concurrent = {'direct': await asyncio.gather(*(direct(raw) for _ in range(args.streams)))}
            concurrent['/v1/chat/completions'] = await asyncio.gather(
                *(through(http, tokens[p], '/v1/chat/completions') for p in people)
            )
            report['first_token_20ms'] = {k: summary(v) for k, v in concurrent.items()}
            control(ollama_url, token_delay=0.0)
        await raw._client.aclose()
    finally:
        stop(app)
        server.kill()
    for section, rows in report.items():
        say(section)
        for name, row in rows.items():
            say(f'  {name:<22} {row}')
    print(json.dumps(report, indent=1))


if __name__ == '__main__':
    asyncio.run(main())
