"""Live dashboard at scale: N attendee browsers and 3 instructor dashboards as real socket.io clients.

    python -m benchmarks.bench_dashboard --attendees 200 [--seconds 15] [--rate 20] [--history 1000000]

Starts the Ollama test server in a thread and the app as a real server subprocess (fresh data directory,
BENCH_ENDPOINT=true), prepares an instructor and a live workshop in the database, then joins N attendees
(POST /api/bench/join, the /join flow without the form), opens every attendee's workshop page and 3 dashboards and
connects each one exactly as NiceGUI's page script does (socket.io on /_nicegui_ws/socket.io/ with client_id,
next_message_id=0, implicit_handshake=true, document_id, tab_id). While attendees record 20 actions per second in
total (POST /api/bench/act), it measures when each dashboard receives the update carrying that action, and how long an
announcement takes to reach every attendee. Prints the figures (and the server's RSS, errors, disconnects).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import socketio

from benchmarks.common import wait_http

ASSET = re.compile(r"""["'](/_nicegui/[^"'?#]+)""")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLIENT_ID = re.compile(r"'client_id': '([0-9a-f-]+)'")
PASSWORD = 'bench-password-42'


@dataclass(kw_only=True)
class Browser:
    http: httpx.AsyncClient
    name: str
    sio: socketio.AsyncClient | None = None
    client_id: str = ''
    next_id: int = 0
    last_ack: float = 0.0
    received: int = 0
    disconnects: int = 0
    seen: dict[str, float] = field(default_factory=dict)  # marker -> time received


def say(text: str) -> None:
    print(f'[{time.strftime("%H:%M:%S")}] {text}', file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def rss_mb(pids: list[int]) -> float:
    """Resident memory of the server processes, added up."""
    total = 0.0
    for pid in pids:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                total += int(line.split()[1]) / 1024
    return total


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    return total


def pct(values: list[float], q: float) -> float:
    if not values:
        return float('nan')
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


async def prepare(data_dir: Path, history: int = 0) -> str:
    """The instructor account and a live workshop with three steps, written before the server starts; with `history`,
    that many activity events and model calls already stored (a long-running platform's tables)."""
    os.environ['DATA_DIR'] = str(data_dir)
    from config import Settings
    from models import Workshop, WorkshopState, WorkshopStep
    from services.core import db
    from services.core.auth import AuthService

    settings = Settings(data_dir=data_dir)
    settings.ensure_dirs()
    await db.open_database(settings.db_url)
    auth = AuthService(min_password_length=10, max_failures=5, window_seconds=300, signup_open_default=True)
    teacher = await auth.signup('teacher@bench.local', 'Teacher', PASSWORD)  # the first account: admin
    workshop = await Workshop.create(title='Bench workshop', owner_id=teacher.id, join_code='BENCH2',
                                     state=WorkshopState.LIVE, stuck_minutes=30)  # fmt: skip
    for i, (title, rule) in enumerate([('Chat', {'key': 'chat', 'action': 'chat'}), ('Prompt', None), ('Done', None)]):
        await WorkshopStep.create(workshop_id=workshop.id, position=i, title=title, instructions='Do it.', rule=rule)
    if history:
        from tests.history import seed_history

        started = time.monotonic()
        await seed_history(history, [workshop.id])
        say(f'stored {history:,} activity rows and model calls of history in {time.monotonic() - started:.0f} s')
    await db.close_database()
    return str(workshop.id)


async def connect(base: str, browser: Browser, path: str, watch: set[str], on_message) -> None:
    """GET the page with the session cookie, then connect socket.io like NiceGUI's page script."""
    page = await browser.http.get(path)
    page.raise_for_status()
    match = CLIENT_ID.search(page.text)
    if not match:
        raise RuntimeError(f'no client id in {path}: {page.text[:200]}')
    browser.client_id = match.group(1)
    sio = socketio.AsyncClient(reconnection=False)
    browser.sio = sio

    async def on_any(event: str, data=None) -> None:
        browser.received += 1
        if isinstance(data, dict) and '_id' in data:
            browser.next_id = data['_id'] + 1
        if event in watch:
            on_message(browser, event, data)
        now = time.monotonic()
        if now - browser.last_ack > 1.0:  # the page script acknowledges now and then, so the server prunes history
            browser.last_ack = now
            await sio.emit('ack', {'client_id': browser.client_id, 'next_message_id': browser.next_id})

    def on_disconnect(*_args) -> None:
        browser.disconnects += 1

    sio.on('*', on_any)
    sio.on('disconnect', on_disconnect)
    query = (
        f'client_id={browser.client_id}&next_message_id=0&implicit_handshake=true'
        f'&document_id={uuid.uuid4()}&tab_id={uuid.uuid4()}&old_tab_id=null'
    )
    cookies = '; '.join(f'{k}={v}' for k, v in browser.http.cookies.items())
    await sio.connect(f'{base}?{query}', socketio_path='/_nicegui_ws/socket.io', transports=['websocket'],
                      headers={'Cookie': cookies}, wait_timeout=30)  # fmt: skip


def _weigh_in_chromium(url: str, cookies: dict[str, str]) -> dict:
    """Load `url` in a real Chromium (fresh profile: a cold cache, then a reload: a warm one) and add up what crossed
    the wire: every response's encoded body and headers, and the websocket frames of the first two seconds."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, chromium_executable

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.add_cookies([{'name': k, 'value': v, 'url': url} for k, v in cookies.items()])
        page = context.new_page()
        totals = {'http': 0, 'socket': 0, 'requests': 0}

        biggest: list[tuple[int, str]] = []

        def finished(request) -> None:
            sizes = request.sizes()
            totals['http'] += sizes['responseBodySize'] + sizes['responseHeadersSize']
            totals['requests'] += 1
            biggest.append(
                (sizes['responseBodySize'], request.url.rsplit('/', 2)[-2] + '/' + request.url.rsplit('/')[-1])
            )

        def websocket(ws) -> None:
            ws.on('framereceived', lambda payload: totals.__setitem__('socket', totals['socket'] + len(payload)))

        page.on('requestfinished', finished)
        page.on('websocket', websocket)
        weights = {}
        for visit in ('cold_cache', 'warm_cache'):
            totals.update(http=0, socket=0, requests=0)
            if visit == 'cold_cache':
                page.goto(url, wait_until='networkidle')
            else:
                page.reload(wait_until='networkidle')
            page.wait_for_timeout(2000)
            weights[f'page_load_kb_{visit}'] = round((totals['http'] + totals['socket']) / 1024, 1)
            weights[f'requests_{visit}'] = totals['requests']
            if visit == 'cold_cache':
                weights['biggest_kb'] = {name: round(size / 1024, 1) for size, name in sorted(biggest)[-6:]}
        browser.close()
        return weights


async def page_weight(base: str, workshop_id: str) -> dict:
    """What one attendee's page load costs on the wire, measured in Chromium (cold and warm cache)."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as weigher:
        r = await weigher.post('/api/bench/join', params={'code': 'bench2', 'name': 'Page Weigher'})
        r.raise_for_status()
        cookies = dict(weigher.cookies.items())
    return await asyncio.to_thread(_weigh_in_chromium, f'{base}/workshops/{workshop_id}', cookies)


async def run(
    attendees: int,
    seconds: float,
    rate: float,
    dashboards: int,
    announcements: int,
    freeze: bool = False,
    no_gc_freeze: bool = False,
    *,
    bare: bool = False,
    history: int = 0,
    profile: str = '',
    processes: int = 1,
    with_engines: bool = False,
) -> dict:
    from tests.ollama_server import OllamaTestServer

    ollama = OllamaTestServer().start()
    data_dir = Path(tempfile.mkdtemp(prefix='bench-dashboard-'))
    engines: list = []  # several processes: PostgreSQL, Redis and HAProxy of the test harness, on free ports
    shared: dict[str, str] = {}
    with_engines = with_engines or processes > 1
    if with_engines:  # PostgreSQL and Redis (one process compared with several: the same engines)
        from tests.postgres import PostgresServer
        from tests.redis_server import RedisServer

        postgres, redis = PostgresServer().start(), RedisServer().start()
        engines += [postgres, redis]
        shared = {'DATABASE_URL': postgres.url, 'REDIS_URL': redis.url, 'TRUSTED_PROXIES': '127.0.0.1'}
        os.environ['DATABASE_URL'] = postgres.url  # for prepare()
    if bare:
        workshop_id = '1'
        (data_dir / 'data').mkdir()
    else:
        workshop_id = await prepare(data_dir / 'data', history)
    say(f'prepared workshop {workshop_id} in {data_dir}' + (' (bare NiceGUI baseline)' if bare else ''))
    log_path = data_dir / 'server.log'
    log_file = log_path.open('w')
    servers, ports = [], []
    for n in range(1 if bare else processes):
        port = free_port()
        ports.append(port)
        env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST')}
        env.update(DATA_DIR=str(data_dir / ('data' if n == 0 else f'data{n}')), PORT=str(port), OLLAMA_HOST=ollama.url,
                   BENCH_ENDPOINT='true', STORAGE_SECRET='bench-secret', LOG_LEVEL='WARNING',
                   OLLAMA_HEALTH_INTERVAL='3600', JOIN_MAX_FAILURES='1000', JOIN_ACCOUNTS_PER_SOURCE='100000',
                   WORKSHOP_GC_FREEZE='false' if no_gc_freeze else 'true', **shared)  # fmt: skip
        command = [sys.executable, 'benchmarks/bare_nicegui.py'] if bare else [sys.executable, 'app.py']
        if profile and not bare and n == 0:  # the server's own profile, written when it stops
            command[1:1] = ['-m', 'cProfile', '-o', profile]
        servers.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT))  # noqa: ASYNC220
    pids = [p.pid for p in servers]
    base = f'http://127.0.0.1:{ports[0]}'
    if len(servers) > 1:  # browsers reach the processes through HAProxy (deploy/haproxy.cfg), as in production
        from tests.balancer import Balancer

        for p in ports:
            await asyncio.to_thread(wait_http, f'http://127.0.0.1:{p}/health')
        balancer = await asyncio.to_thread(Balancer(*(f'127.0.0.1:{p}' for p in ports)).start)
        engines.append(balancer)
        base = balancer.url
    bench_cpu0 = time.process_time()
    result: dict = {
        'server': 'bare NiceGUI page (baseline)'
        if bare
        else f'platform, {processes} process(es)' + (' with PostgreSQL and Redis' if with_engines else ''),
        'history_rows': history,
        'attendees': attendees,
        'dashboards': dashboards,
        'rate': rate,
        'seconds': seconds,
        'freeze': freeze,
    }
    browsers: list[Browser] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as probe:
            for _ in range(300):
                try:
                    if (await probe.get('/health')).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        result['rss_idle_mb'] = rss_mb(pids)
        say(f'server up on {base}; joining {attendees} attendees')
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        sent: dict[str, float] = {}
        dash_latency: list[float] = []
        act_latency: list[float] = []  # the action's own HTTP request, sent → answered
        announce_latency: list[float] = []

        def on_dashboard(browser: Browser, event: str, data) -> None:
            now = time.monotonic()
            for element in (data or {}).values():  # element id -> props; the activity feed is a table's rows
                if not isinstance(element, dict):
                    continue
                rows = element.get('props', {}).get('rows') or [{'detail': element.get('text') or ''}]  # bare: label
                for row in rows:
                    detail = row.get('detail', '') if isinstance(row, dict) else ''
                    if not isinstance(detail, str) or not detail.startswith('note=bench-'):
                        continue
                    marker = detail[5:]
                    if marker not in browser.seen and marker in sent:
                        browser.seen[marker] = now
                        dash_latency.append(now - sent[marker])

        def on_attendee(browser: Browser, event: str, data) -> None:
            message = data.get('message', '') if isinstance(data, dict) else ''
            for marker in re.findall(r'(announce-\d+)', str(message)):
                if marker not in browser.seen and marker in sent:
                    browser.seen[marker] = time.monotonic()
                    announce_latency.append(browser.seen[marker] - sent[marker])

        # attendees: join, open the workshop page, connect the socket
        started = time.monotonic()
        cpu0 = cpu_seconds(pids)
        semaphore = asyncio.Semaphore(8)

        async def attendee(i: int) -> Browser:
            async with semaphore:
                browser = Browser(http=httpx.AsyncClient(base_url=base, timeout=30, limits=limits), name=f'A{i}')
                r = await browser.http.post('/api/bench/join', params={'code': 'bench2', 'name': f'Attendee {i}'})
                r.raise_for_status()
                # a toast: `ui.notify` (the bare page), or one room-wide message (the platform: components.room_toasts)
                await connect(base, browser, f'/workshops/{workshop_id}', {'notify', 'owp_toast'}, on_attendee)
                return browser

        browsers = list(await asyncio.gather(*(attendee(i) for i in range(attendees))))
        result['connect_seconds'] = round(time.monotonic() - started, 1)
        result['cpu_ms_per_attendee_connect'] = round((cpu_seconds(pids) - cpu0) * 1000 / attendees, 1)
        result['attendee_page_weight'] = await page_weight(base, workshop_id)
        say(f'{attendees} attendees connected in {result["connect_seconds"]} s; opening {dashboards} dashboards')
        teachers: list[Browser] = []
        for i in range(dashboards):
            teacher = Browser(http=httpx.AsyncClient(base_url=base, timeout=30), name=f'D{i}')
            (await teacher.http.post('/api/bench/login', params={'email': 'teacher@bench.local', 'password': PASSWORD}))
            await connect(base, teacher, f'/workshops/{workshop_id}/dashboard', {'update'}, on_dashboard)
            teachers.append(teacher)
        await asyncio.sleep(7)  # one sampler beat: the app's own collect-and-freeze (WORKSHOP_GC_FREEZE) runs here
        if freeze:
            r = await teachers[0].http.post('/api/bench/freeze')
            result['gc_freeze'] = r.json()
        result['rss_connected_mb'] = rss_mb(pids)
        await teachers[0].http.get('/api/bench/stats', params={'reset': True})
        result['kb_per_attendee'] = round((result['rss_connected_mb'] - result['rss_idle_mb']) * 1024 / attendees, 1)

        say(f'load: {rate} actions/s for {seconds} s')
        # load: `rate` actions per second in total, from random attendees; announcements in between
        errors = 0
        cpu1 = cpu_seconds(pids)
        load_start = time.monotonic()
        tasks: list[asyncio.Task] = []

        async def act(seq: int) -> None:
            nonlocal errors
            marker = f'bench-{seq}'
            sent[marker] = time.monotonic()
            browser = random.choice(browsers)
            for attempt in range(2):  # an idle keep-alive connection may have been closed by the server: retry once
                try:
                    r = await browser.http.post('/api/bench/act', params={'note': marker})
                    r.raise_for_status()
                    act_latency.append(time.monotonic() - sent[marker])
                    return
                except httpx.HTTPError:
                    if attempt:
                        errors += 1
                    sent[marker] = time.monotonic()

        async def announce(seq: int) -> None:
            nonlocal errors
            marker = f'announce-{seq}'
            params = {'workshop_id': workshop_id, 'text': f'Note {marker}'}
            for attempt in range(2):  # an idle keep-alive connection may have been closed by the server: retry once
                sent[marker] = time.monotonic()
                try:
                    r = await teachers[0].http.post('/api/bench/announce', params=params)
                    r.raise_for_status()
                    return
                except httpx.HTTPError:
                    if attempt:
                        errors += 1

        total = int(seconds * rate)
        every = max(1, total // (announcements + 1))
        for seq in range(total):
            tasks.append(asyncio.create_task(act(seq)))
            if seq and seq % every == 0 and seq // every <= announcements:
                tasks.append(asyncio.create_task(announce(seq)))
            await asyncio.sleep(max(0.0, load_start + (seq + 1) / rate - time.monotonic()))
        await asyncio.gather(*tasks)
        await asyncio.sleep(3)
        load_seconds = time.monotonic() - load_start
        result['server_cpu_percent_under_load'] = round((cpu_seconds(pids) - cpu1) / load_seconds * 100)
        expected_dash = total * dashboards
        result['dashboard_updates'] = f'{len(dash_latency)}/{expected_dash}'
        result['act_http_p50_ms'] = round(pct(act_latency, 50) * 1000, 1)
        result['act_http_p95_ms'] = round(pct(act_latency, 95) * 1000, 1)
        result['dashboard_p50_ms'] = round(pct(dash_latency, 50) * 1000, 1)
        result['dashboard_p95_ms'] = round(pct(dash_latency, 95) * 1000, 1)
        result['dashboard_max_ms'] = round(max(dash_latency, default=float('nan')) * 1000, 1)
        result['announcements_delivered'] = f'{len(announce_latency)}/{announcements * attendees}'
        result['announcement_p50_ms'] = round(pct(announce_latency, 50) * 1000, 1)
        result['announcement_p95_ms'] = round(pct(announce_latency, 95) * 1000, 1)
        result['rss_after_load_mb'] = rss_mb(pids)
        result['http_errors'] = errors
        result['disconnects'] = sum(b.disconnects for b in browsers + teachers)
        result['server_error_lines'] = sum(' ERROR ' in line for line in log_path.read_text().splitlines())
        stats = (await teachers[0].http.get('/api/bench/stats')).json()
        result['gc_during_load'] = {k: v for k, v in stats.items() if k.startswith('gc_gen')}
        result['gc_objects'] = stats['gc_objects']
        result['gc_frozen'] = stats['gc_frozen']
        result['bench_client_cpu_percent'] = round(
            (time.process_time() - bench_cpu0) / (time.monotonic() - started) * 100
        )
        result['mean_ms'] = round(statistics.mean(dash_latency) * 1000, 1) if dash_latency else None
    finally:
        for b in browsers:
            if b.sio and b.sio.connected:
                await b.sio.disconnect()
            await b.http.aclose()
        for process in servers:
            process.terminate()
        for process in servers:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        for engine in reversed(engines):
            engine.stop()
        if with_engines:
            os.environ.pop('DATABASE_URL', None)
        log_file.close()
        ollama.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--attendees', type=int, default=200)
    parser.add_argument('--seconds', type=float, default=15.0, help='duration of the load phase')
    parser.add_argument('--rate', type=float, default=20.0, help='actions per second in total')
    parser.add_argument('--dashboards', type=int, default=3)
    parser.add_argument('--announcements', type=int, default=5)
    parser.add_argument('--freeze', action='store_true', help='force gc.freeze() in the server once all are connected')
    parser.add_argument('--no-gc-freeze', action='store_true', help='run the app with WORKSHOP_GC_FREEZE=false')
    parser.add_argument('--history', type=int, default=0, help='activity rows (and model calls) stored beforehand')
    parser.add_argument('--no-baseline', action='store_true', help='skip the bare NiceGUI run')
    parser.add_argument('--processes', type=int, default=1, help='app processes behind HAProxy (PostgreSQL, Redis)')
    parser.add_argument('--compare-one', type=int, default=0, help='also run this many attendees on one process')
    parser.add_argument('--profile', default='', help="write the platform server's cProfile stats to this file")
    args = parser.parse_args()
    # the simulated browsers share the 2 cores with the server: keep their own overhead low (uvloop, as uvicorn uses)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    kwargs = dict(
        attendees=args.attendees, seconds=args.seconds, rate=args.rate, dashboards=args.dashboards,
        announcements=args.announcements, freeze=args.freeze, no_gc_freeze=args.no_gc_freeze,
    )  # fmt: skip
    results = []
    if not args.no_baseline:  # the same room against a bare NiceGUI page, in the same run
        results.append(runner(run(**kwargs, bare=True)))
    if args.processes > 1 and args.compare_one:  # the same room on one process, in the same run
        one = {**kwargs, 'attendees': args.compare_one}
        results.append(runner(run(**one, history=args.history, with_engines=True)))
    results.append(runner(run(**kwargs, history=args.history, profile=args.profile, processes=args.processes)))
    for result in results:
        width = max(len(k) for k in result)
        print()
        for key, value in result.items():
            print(f'{key:<{width}}  {value}')
    if len(results) == 2:
        bare, platform = results
        print(f'\n{platform["server"]} / {bare["server"]}, same run:')
        for key in ('act_http_p50_ms', 'dashboard_p50_ms', 'dashboard_p95_ms', 'announcement_p50_ms',
                    'announcement_p95_ms', 'cpu_ms_per_attendee_connect', 'rss_connected_mb'):  # fmt: skip
            if bare.get(key):
                print(f'  {key:<30} {platform[key]} / {bare[key]} = {platform[key] / bare[key]:.2f}x')
        for key in ('page_load_kb_warm_cache', 'page_load_kb_cold_cache'):
            print(f'  {key:<30} {platform["attendee_page_weight"][key]} / {bare["attendee_page_weight"][key]} KB')
    sys.stdout.flush()
    os._exit(0)


if __name__ == '__main__':
    main()
