"""All the fast-path benchmarks in one go, each in its own process, one after another (they must not share the CPU).

    python -m benchmarks [--quick] [--only gateway,dashboard,ingest,retrieval,scale] [--log benchmark-run.txt]

- gateway: the relay (one stream) and the room (50 concurrent streams) over real HTTP, against the raw client;
- dashboard: 200 and then 400 attendees as real socket.io clients + 3 dashboards, against a bare NiceGUI page;
- ingest: 1,000 markdown files through the API, against the raw client + raw pymilvus insert;
- retrieval: top-5 retrieval over HTTP at 2,000 and at 100,000 chunks, against raw embed + pymilvus search.
- scale: 400 attendees over 2 app processes behind HAProxy (PostgreSQL, Redis), against 200 on one process.

Prints the machine (cores, load average), the commit, and each benchmark's own report with its same-run baseline;
`--log` also writes everything to a file. `--quick` runs smaller versions (minutes instead of most of an hour) to
check that everything still runs; its figures are not the ones to record.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FULL = {
    'gateway': [['bench_gateway', '--streams', '50', '--seconds', '20', '--samples', '40']],
    'dashboard': [['bench_dashboard', '--attendees', '200'], ['bench_dashboard', '--attendees', '400']],
    'ingest': [['bench_ingest', '--docs', '1000']],
    'retrieval': [['bench_retrieval', '--chunks', '2000'], ['bench_retrieval', '--chunks', '100000']],
    'scale': [['bench_dashboard', '--attendees', '400', '--processes', '2', '--compare-one', '200', '--no-baseline']],
}
QUICK = {
    'gateway': [['bench_gateway', '--streams', '10', '--seconds', '3', '--samples', '10']],
    'dashboard': [['bench_dashboard', '--attendees', '20', '--seconds', '3', '--announcements', '2']],
    'ingest': [['bench_ingest', '--docs', '50', '--settle', '6']],
    'retrieval': [['bench_retrieval', '--chunks', '500', '--queries', '20']],
    'scale': [
        [
            'bench_dashboard',
            '--attendees',
            '20',
            '--seconds',
            '3',
            '--announcements',
            '2',
            '--processes',
            '2',
            '--compare-one',
            '10',
            '--no-baseline',
        ]
    ],
}


def machine() -> str:
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True)
    load = ', '.join(f'{x:.2f}' for x in os.getloadavg())
    return (
        f'machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, '
        f'{platform.system()} {platform.release()}; commit {commit.stdout.strip() or "?"}; load average {load}'
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true', help='small versions, to check that everything runs')
    parser.add_argument('--only', default=','.join(FULL), help='which benchmarks, comma-separated')
    parser.add_argument('--log', type=Path, help='also write the whole report to this file')
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    chosen = [name.strip() for name in args.only.split(',') if name.strip()]
    unknown = [name for name in chosen if name not in plan]
    if unknown:
        parser.error(f'unknown benchmark(s): {", ".join(unknown)}; choose from {", ".join(plan)}')
    log = args.log.open('w') if args.log else None

    def out(text: str) -> None:
        print(text, flush=True)
        if log:
            log.write(text + '\n')
            log.flush()

    out(machine())
    failed = []
    for name in chosen:
        for command in plan[name]:
            out(f'\n=== {name}: python -m benchmarks.{" ".join(command)}  ({time.strftime("%H:%M:%S")}, {machine()})')
            started = time.monotonic()
            process = subprocess.Popen(
                [sys.executable, '-m', f'benchmarks.{command[0]}', *command[1:]],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            assert process.stdout is not None
            for line in process.stdout:
                out(line.rstrip('\n'))
            code = process.wait()
            out(f'=== {name}: exit {code} after {time.monotonic() - started:.0f} s')
            if code:
                failed.append(' '.join(command))
    out('\nall benchmarks ran' if not failed else f'\nfailed: {"; ".join(failed)}')
    if log:
        log.close()
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
