"""Milvus Lite in a process of its own: `python milvus_lite_process.py --data-dir DIR --parent PID`.

Milvus Lite 3 is pure Python. Inside the app process its inserts, flushes, index builds and searches hold the GIL
that serves every page; in its own process they run on another core while the app keeps answering. The app starts
this script (services.vectors), reads "READY <port>" from its first line of output and connects with pymilvus to
that loopback port, exactly as it would to a Milvus server.

The server listens on 127.0.0.1 only, on a port the system picks. It stops cleanly on SIGTERM (in-flight requests
finish, the data directory's LOCK is released), and on its own as soon as the app that started it is gone, even
after a kill -9 of the app: a Lite server must never outlive its app and keep the data directory locked.

Standard library and milvus_lite only: it runs as a script, not as part of the app.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-dir', required=True)
    parser.add_argument('--parent', type=int, required=True, help='stop when this process is gone')
    args = parser.parse_args(argv)

    from milvus_lite.adapter.grpc.server import start_server_in_thread

    # Milvus Lite lacks some RPCs (AllocTimestamp); pymilvus falls back by itself, but grpc logs each refusal as an
    # ERROR. Only real failures go to the log (stderr, which the app sends to milvus.log beside the data).
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger('grpc._server').setLevel(logging.CRITICAL)

    server, db, port = start_server_in_thread(data_dir=args.data_dir, host='127.0.0.1', port=0)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f'READY {port}', flush=True)
    while not stop.wait(0.5):
        if os.getppid() != args.parent:  # re-parented: the app died without stopping us
            break
    server.stop(grace=5).wait()
    db.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
