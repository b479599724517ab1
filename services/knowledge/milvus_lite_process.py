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

    from concurrent import futures

    import grpc
    from milvus_lite.adapter.grpc.servicer import MilvusServicer
    from milvus_lite.db import MilvusLite
    from pymilvus.grpc_gen import milvus_pb2_grpc

    # Milvus Lite lacks some RPCs (AllocTimestamp); pymilvus falls back by itself, but grpc logs each refusal as an
    # ERROR. Only real failures go to the log (stderr, which the app sends to milvus.log beside the data).
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger('grpc._server').setLevel(logging.CRITICAL)

    db = MilvusLite(args.data_dir)  # takes the data directory's LOCK
    # As milvus_lite's own server (threads, 256 MB messages), and accepting pymilvus's keepalive pings (every 10 s,
    # also while idle): grpc's defaults answer those with GOAWAY "too_many_pings" and a reconnect.
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=10),
        options=[
            ('grpc.max_receive_message_length', 256 * 1024 * 1024),
            ('grpc.max_send_message_length', 256 * 1024 * 1024),
            ('grpc.keepalive_permit_without_calls', 1),
            ('grpc.http2.min_ping_interval_without_data_ms', 5000),
            ('grpc.http2.max_ping_strikes', 0),
        ],
    )
    milvus_pb2_grpc.add_MilvusServiceServicer_to_server(MilvusServicer(db), server)
    port = server.add_insecure_port('127.0.0.1:0')
    server.start()
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
