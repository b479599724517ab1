"""A fair room, measured over real HTTP: the app as a server subprocess, Ollama test servers as subprocesses with a
per-token delay, attendees as HTTP clients with their own API tokens (as their SDKs would call).

    python -m benchmarks.bench_room [--seconds 60] [--attendees 50] [--only neighbour,room,failover,cancel]

Scenarios (issue 13):
- neighbour: attendee B sends 20 chats one after another (time to first token) while attendee A is idle, then while
  A keeps 40 calls open across the chat API, the OpenAI gateway, RAG questions, prompt runs and evaluations.
  Target: B's TTFT p50 and p95 with A busy <= 1.5x B's with A idle (same run).
- room: N attendees each send a new 200-token stream as soon as the previous one ends, for --seconds (three of them
  send 10 at a time); two hosts with 4 slots each. Targets: none refused; Jain's fairness index of the tokens each
  attendee received >= 0.95 (the greedy three get no more than the rest); p50/p95 wait for the first token. During
  the room an instructor's call must start within one slot turnover (one stream's duration).
- failover: 20 attendees streaming over two hosts; one host is killed (SIGKILL) mid-run. No call that had not started
  streaming is lost; the room (GET /api/v1/room, what the dashboard shows) marks the host down within 5 s; after a
  restart it serves again.
- cancel: 20 streams whose clients disconnect free their slots within 1 s; after 1,000 cancelled streams no slot is
  left taken.

Baselines measured in the same run: the raw `ollama` client's time to first token against the test server directly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import ollama

from benchmarks.common import ROOT, clean_env, free_port, percentile, wait_http

TOKEN_DELAY = 0.02
TOKENS = 200
HELLO = [{'role': 'user', 'content': 'Tell me about llamas.'}]
DOC = b'# Llamas\n\nLlamas carry packs in the Andes. They live in herds and eat grass.\n'


def say(text: str) -> None:
    print(f'[{time.strftime("%H:%M:%S")}] {text}', file=sys.stderr, flush=True)


# ----- processes ---------------------------------------------------------------------------------------------------
def start_ollama(port: int | None = None) -> tuple[subprocess.Popen, str]:
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, '-m', 'tests.ollama_server', '--port', str(port), '--token-delay', str(TOKEN_DELAY),
         '--response-tokens', str(TOKENS)],
        cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f'http://127.0.0.1:{port}'
    wait_http(f'{url}/api/version')
    return process, url


async def prepare(data_dir: Path, people: list[str]) -> dict[str, str]:
    """Accounts and API tokens in a fresh database (the first account is the admin, `teacher` an instructor)."""
    os.environ['DATA_DIR'] = str(data_dir)
    sys.path.insert(0, str(ROOT))
    from config import Settings
    from models import Role
    from services.core import db
    from services.core.audit import AuditService
    from services.core.auth import AuthService
    from services.core.tokens import TokenService

    settings = Settings()
    settings.ensure_dirs()
    await db.open_database(settings.db_url)
    auth = AuthService(min_password_length=10, max_failures=5, window_seconds=60, signup_open_default=True)
    tokens = TokenService(auth, AuditService(auth))
    result = {}
    admin = None
    for name in ['admin', 'teacher', *people]:
        user = await auth.signup(f'{name}@bench.local', name, 'bench-password-42')
        admin = admin or user.id
        if name == 'teacher':
            await auth.set_role(admin, user.id, Role.INSTRUCTOR)
        result[name] = (await tokens.create(user.id, 'bench')).secret
    await db.close_database()
    return result


def start_app(data_dir: Path, hosts: list[str], **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    defaults = {'OLLAMA_HEALTH_INTERVAL': '1', 'OLLAMA_SLOTS': '4'}
    environment = clean_env(
        DATA_DIR=str(data_dir), HOST='127.0.0.1', PORT=str(port), OLLAMA_HOST=','.join(hosts),
        STORAGE_SECRET='bench-secret', **{**defaults, **env},
    )  # fmt: skip
    log = open(data_dir / 'app.log', 'ab')
    process = subprocess.Popen([sys.executable, 'app.py'], cwd=ROOT, env=environment, stdout=log, stderr=log)
    url = f'http://127.0.0.1:{port}'
    wait_http(f'{url}/health/ready', timeout=90)
    return process, url


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


# ----- clients -----------------------------------------------------------------------------------------------------
def auth(token: str) -> dict[str, str]:
    return {'Authorization': f'Bearer {token}'}


async def chat_stream(
    http: httpx.AsyncClient,
    token: str,
    *,
    first_only: bool = False,
    path: str = '/api/v1/chat',
    until: float | None = None,
) -> dict:
    """One streamed chat: time to first token, tokens received (before `until`, when given), and how it ended."""
    started = time.perf_counter()
    out = {'ttft': None, 'tokens': 0, 'status': 0, 'error': ''}
    body = {'model': 'llama3.2', 'messages': HELLO, 'stream': True}
    async with http.stream('POST', path, json=body, headers=auth(token)) as response:
        out['status'] = response.status_code
        if response.status_code != 200:
            out['error'] = (await response.aread()).decode()[:200]
            return out
        async for line in response.aiter_lines():
            if not line.strip() or line.startswith(':'):
                continue
            text = line.removeprefix('data: ')
            if text == '[DONE]':
                break
            part = json.loads(text)
            content = (part.get('message') or {}).get('content') or ''
            if not content and 'choices' in part:
                content = ((part['choices'] or [{}])[0].get('delta') or {}).get('content') or ''
            if 'error' in part:
                out['error'] = str(part['error'])[:200]
            if until is not None and time.monotonic() >= until:
                break  # the measured window is over: what arrives later does not count
            if content:
                out['tokens'] += 1
                if out['ttft'] is None:
                    out['ttft'] = time.perf_counter() - started
                    if first_only:
                        break
    return out


async def direct_ttft(url: str, samples: int = 20) -> list[float]:
    client = ollama.AsyncClient(host=url)
    values = []
    for _ in range(samples):
        started = time.perf_counter()
        stream = await client.chat(model='llama3.2', messages=HELLO, stream=True)
        async for part in stream:
            if part.message.content:
                values.append(time.perf_counter() - started)
                break
        await stream.aclose()
    return values


def stats(values: list[float]) -> str:
    if not values:
        return 'n/a'
    p50, p95 = percentile(values, 0.5) * 1000, percentile(values, 0.95) * 1000
    return f'p50 {p50:.0f} ms, p95 {p95:.0f} ms (n={len(values)})'


def jain(values: list[float]) -> float:
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values)) if any(values) else 0.0


async def room_state(http: httpx.AsyncClient, token: str) -> dict:
    return (await http.get('/api/v1/room', headers=auth(token))).json()


# ----- scenarios ---------------------------------------------------------------------------------------------------
async def neighbour(http: httpx.AsyncClient, tokens: dict[str, str], ollama_url: str) -> dict:
    a, b = tokens['noisy'], tokens['quiet']
    kb = (await http.post('/api/v1/knowledge', json={'name': 'Llamas', 'embedding_model': 'nomic-embed-text'},
                          headers=auth(a))).json()['id']  # fmt: skip
    await http.post(f'/api/v1/knowledge/{kb}/documents', files=[('files', ('llamas.md', DOC))], headers=auth(a))
    await http.post(f'/api/v1/knowledge/{kb}/ingest', headers=auth(a))
    for _ in range(200):
        if (await http.get(f'/api/v1/knowledge/{kb}/ingest', headers=auth(a))).json().get('finished'):
            break
        await asyncio.sleep(0.1)
    rag = (await http.post('/api/v1/rag', json={'name': 'QA', 'kb_ids': [kb], 'chat_model': 'llama3.2'},
                           headers=auth(a))).json()['id']  # fmt: skip
    prompt = (await http.post('/api/v1/prompts', json={'name': 'Echo', 'user_template': 'Say {{ w }}',
              'variables': [{'name': 'w', 'type': 'text'}], 'default_model': 'llama3.2'},
              headers=auth(a))).json()['id']  # fmt: skip

    async def quiet_round() -> list[float]:
        values = []
        for _ in range(20):
            result = await chat_stream(http, b, first_only=True)
            if result['ttft'] is not None:
                values.append(result['ttft'])
        return values

    say('neighbour: set up; B alone')
    idle = await quiet_round()
    say(f'neighbour: B alone {stats(idle)}; now with A busy')
    # A is another person on another machine: their 40 calls come from a process of their own, so B's client does
    # not share an event loop (or the GIL) with A's client
    command = [sys.executable, '-m', 'benchmarks.bench_room', '--noisy', str(http.base_url), a, str(rag), str(prompt)]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env=clean_env(), stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None and process.stdin is not None
    await process.stdout.readline()  # A's 40 calls are on their way
    await asyncio.sleep(2)
    room = await room_state(http, tokens['teacher'])  # what the instructor sees: A's calls running and waiting
    running = sum(h['active'] + h['active_embed'] for h in room['hosts'])
    busy = await quiet_round()
    process.stdin.close()  # A stops
    calls = json.loads((await process.stdout.readline()) or b'{}')
    await process.wait()
    direct = await direct_ttft(ollama_url)
    p50 = percentile(busy, 0.5) / percentile(idle, 0.5)
    p95 = percentile(busy, 0.95) / percentile(idle, 0.95)
    say(f'neighbour: B idle {stats(idle)}; B with A busy {stats(busy)}; ratio p50 {p50:.2f}, p95 {p95:.2f} '
        f'(target <= 1.5); A: {calls}, {running} running and {room["waiting"]} waiting as B began; '
        f'direct {stats(direct)}')  # fmt: skip
    return {'idle': idle, 'busy': busy, 'ratio_p50': p50, 'ratio_p95': p95, 'noisy': calls, 'direct': direct,
            'room': room}  # fmt: skip


async def noisy_attendee(app_url: str, token: str, rag: int, prompt: int) -> None:
    """Attendee A of the neighbour scenario, in a process of its own: 40 calls kept open across the chat API, the
    gateway, RAG questions, prompt runs and evaluations until standard input closes; prints the counts."""
    stop_at = asyncio.Event()
    calls = {'done': 0, 'refused': 0}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=app_url, timeout=300, limits=limits) as http:

        async def noisy(kind: int) -> None:
            while not stop_at.is_set():
                if kind == 0:
                    response = await chat_stream(http, token)
                elif kind == 1:
                    response = await chat_stream(http, token, path='/v1/chat/completions')
                elif kind == 2:
                    r = await http.post(f'/api/v1/rag/{rag}/ask', json={'question': 'Who carries packs?'},
                                        headers=auth(token))  # fmt: skip
                    response = {'status': r.status_code}
                elif kind == 3:
                    r = await http.post(f'/api/v1/prompts/{prompt}/runs', json={'values': {'w': 'hi'}},
                                        headers=auth(token))  # fmt: skip
                    response = {'status': r.status_code}
                else:
                    body = {'questions': [{'question': 'Who carries packs?', 'expected_document': 'llamas.md'}],
                            'answers': False}  # fmt: skip
                    r = await http.post(f'/api/v1/rag/{rag}/evaluations', json=body, headers=auth(token))
                    response = {'status': r.status_code}
                ok = response['status'] in (200, 201)
                calls['done' if ok else 'refused'] += 1
                if not ok:
                    await asyncio.sleep(1)  # as an SDK backs off after a 429

        tasks = [asyncio.create_task(noisy(i % 5)) for i in range(40)]
        print('started', flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes it
        stop_at.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(calls), flush=True)


async def full_room(http: httpx.AsyncClient, tokens: dict[str, str], people: list[str], seconds: float) -> dict:
    greedy = set(people[:3])
    received = dict.fromkeys(people, 0)
    waits: list[float] = []
    refused: list[str] = []
    stop_at = time.monotonic() + seconds

    async def attendee(name: str) -> None:
        while time.monotonic() < stop_at:
            result = await chat_stream(http, tokens[name], until=stop_at)
            received[name] += result['tokens']
            if result['ttft'] is not None:
                waits.append(result['ttft'])
            if result['status'] != 200 or (result['error'] and time.monotonic() < stop_at):
                refused.append(f'{name}: {result["status"]} {result["error"]}')

    callers = [n for n in people for _ in range(10 if n in greedy else 1)]
    random.Random(7).shuffle(callers)  # people arrive in no particular order (the greedy ones not first)
    tasks = [asyncio.create_task(attendee(n)) for n in callers]
    await asyncio.sleep(seconds / 2)
    instructor = await chat_stream(http, tokens['teacher'], first_only=True)
    turnover = TOKENS * TOKEN_DELAY
    await asyncio.gather(*tasks)
    fairness = jain([float(received[n]) for n in people])
    others = [received[n] for n in people if n not in greedy]
    rest = statistics.mean(others)
    greedy_mean = statistics.mean(received[n] for n in greedy)
    say(f'room: {len(people)} attendees for {seconds:.0f} s: refused {len(refused)}; Jain {fairness:.3f} '
        f'(target >= 0.95); tokens per attendee: greedy {greedy_mean:.0f}, others {rest:.0f} '
        f'(min {min(others)}, max {max(others)}); '
        f'time to first token {stats(waits)}; instructor {instructor["ttft"] or 0:.2f} s '
        f'(one slot turnover: {turnover:.1f} s)')  # fmt: skip
    return {
        'refused': refused[:5],
        'refused_count': len(refused),
        'jain': fairness,
        'greedy_tokens': greedy_mean,
        'other_tokens': rest,
        'other_tokens_min_max': (min(others), max(others)),
        'wait_p50': percentile(waits, 0.5) if waits else None,
        'wait_p95': percentile(waits, 0.95) if waits else None,
        'instructor_ttft': instructor['ttft'],
        'turnover': turnover,
    }


async def failover(http: httpx.AsyncClient, tokens: dict[str, str], people: list[str], victim: tuple) -> dict:
    process, url = victim
    lost: list[str] = []
    mid_stream = 0
    stop_at = time.monotonic() + 20
    down_seen: float | None = None

    async def attendee(name: str) -> None:
        nonlocal mid_stream
        while time.monotonic() < stop_at:
            try:
                result = await chat_stream(http, tokens[name])
            except httpx.HTTPError as exc:
                lost.append(f'{name}: {exc!r}')
                continue
            if result['status'] != 200 or (result['error'] and not result['tokens']):
                lost.append(f'{name}: {result["status"]} {result["error"]}')
            elif result['error']:
                mid_stream += 1  # it had started: it ends with a clear error and its partial answer

    tasks = [asyncio.create_task(attendee(n)) for n in people[:20]]
    await asyncio.sleep(5)
    process.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    while time.monotonic() - killed < 10:
        hosts = (await room_state(http, tokens['teacher']))['hosts']
        if any(h['url'] == url and h['down'] for h in hosts):
            down_seen = time.monotonic() - killed
            break
        await asyncio.sleep(0.1)
    await asyncio.gather(*tasks)
    port = int(url.rsplit(':', 1)[1])
    restarted, _ = start_ollama(port)
    back = None
    started = time.monotonic()
    async with httpx.AsyncClient() as probe:
        while time.monotonic() - started < 30 and back is None:
            await asyncio.gather(*(chat_stream(http, tokens[n], first_only=True) for n in people[:8]))
            if (await probe.get(f'{url}/__control')).json().get('request_count', 0) > 0:
                back = time.monotonic() - started
            await asyncio.sleep(0.2)
    say(f'failover: calls lost before their first token {len(lost)} (target 0); cut mid-stream {mid_stream}; '
        f'host shown down after {down_seen if down_seen is None else round(down_seen, 2)} s (target <= 5 s); '
        f'serving again {back if back is None else round(back, 1)} s after the restart')  # fmt: skip
    return {'lost': lost[:5], 'lost_count': len(lost), 'mid_stream': mid_stream, 'down_after': down_seen,
            'back_after': back, 'restarted': restarted}  # fmt: skip


async def cancelled(http: httpx.AsyncClient, tokens: dict[str, str], people: list[str], app_url: str) -> dict:
    async def open_and_drop(name: str, ready: asyncio.Event | None = None) -> None:
        async with httpx.AsyncClient(base_url=app_url, timeout=60) as own:  # its own connection: closing it is a tab
            body = {'model': 'llama3.2', 'messages': HELLO, 'stream': True}
            async with own.stream('POST', '/api/v1/chat', json=body, headers=auth(tokens[name])) as response:
                async for line in response.aiter_lines():
                    if line.strip():
                        break
            if ready is not None:
                ready.set()

    await asyncio.gather(*(open_and_drop(n) for n in people[:20]))
    dropped = time.monotonic()
    freed = None
    state: dict = {}
    while time.monotonic() - dropped < 5:
        state = await room_state(http, tokens['teacher'])
        if all(h['active'] == 0 for h in state['hosts']):
            freed = time.monotonic() - dropped
            break
        await asyncio.sleep(0.02)
    if freed is None:
        say(f'cancel: still taken after 5 s: {state}')
    for start in range(0, 1000, 50):
        await asyncio.gather(*(open_and_drop(people[(start + i) % len(people)]) for i in range(50)))
    await asyncio.sleep(1)
    state = await room_state(http, tokens['teacher'])
    leaked = sum(h['active'] + h['active_embed'] for h in state['hosts']) + state['waiting']
    say(
        f'cancel: 20 dropped streams freed their slots after {freed if freed is None else round(freed, 3)} s '
        f'(target <= 1 s); after 1,000 more, slots still taken or calls waiting: {leaked} (target 0)'
    )
    return {'freed_after': freed, 'leaked': leaked}


# ----- main --------------------------------------------------------------------------------------------------------
async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--seconds', type=float, default=60)
    parser.add_argument('--attendees', type=int, default=50)
    parser.add_argument('--only', default='neighbour,room,failover,cancel')
    parser.add_argument('--noisy', nargs=4, metavar=('APP_URL', 'TOKEN', 'RAG', 'PROMPT'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.noisy:
        app_url, token, rag, prompt = args.noisy
        await noisy_attendee(app_url, token, int(rag), int(prompt))
        return
    only = set(args.only.split(','))
    people = [f'a{i:02d}' for i in range(args.attendees)]
    first, first_url = start_ollama()
    second, second_url = start_ollama()
    data = Path(tempfile.mkdtemp(prefix='bench-room-'))
    tokens = await prepare(data, [*people, 'noisy', 'quiet'])
    app, app_url = start_app(
        data, [first_url, second_url], QUEUE_MAX_WAIT_SECONDS='180', QUEUE_MAX_PER_USER='40', OLLAMA_DOWN_SECONDS='5'
    )
    results: dict = {}
    say(f'app {app_url}, hosts {first_url} and {second_url}: {TOKENS} tokens per reply at {TOKEN_DELAY * 1000:.0f} ms')
    try:
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=app_url, timeout=300, limits=limits) as http:
            if 'neighbour' in only:
                results['neighbour'] = await neighbour(http, tokens, first_url)
            if 'room' in only:
                results['room'] = await full_room(http, tokens, people, args.seconds)
            if 'cancel' in only:
                results['cancel'] = await cancelled(http, tokens, people, app_url)
            if 'failover' in only:
                results['failover'] = await failover(http, tokens, people, (second, second_url))
                second = results['failover'].pop('restarted')
    finally:
        stop(app)
        for process in (first, second):
            process.kill()
    print(json.dumps(results, default=str, indent=1))


if __name__ == '__main__':
    asyncio.run(main())
