"""The vector store connection: Milvus Lite (a file in the data directory) or a Milvus server, one code path."""

from __future__ import annotations

import asyncio
import logging
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nicegui import run

from services.core.errors import InvalidInput, ServiceError
from services.core.i18n import N_

log = logging.getLogger(__name__)

METRICS = ('COSINE', 'IP', 'L2')
LITE_PROCESS = Path(__file__).with_name('milvus_lite_process.py')
TEXT_MAX_BYTES = 65_535  # Milvus' VARCHAR limit: longer chunk texts are cut for keyword search
LITE_START_SECONDS = 30  # includes waiting for a stopping Lite server to release the data directory


@dataclass(kw_only=True, slots=True)
class CollectionStats:
    name: str
    exists: bool
    entities: int = 0
    dimension: int | None = None
    metric: str | None = None
    index: str | None = None
    description: str = ''
    keyword: bool = False  # the texts with Milvus' BM25 function: keyword search


@dataclass(kw_only=True, slots=True)
class Hit:
    chunk_id: int
    doc_id: int
    score: float  # higher is more similar, whatever the metric (L2 distances are mapped to 1 / (1 + d))
    distance: float


class VectorStore:
    def __init__(self, uri: str, token: str = '', *, lite_process: bool = True) -> None:
        self.uri = uri
        self.token = token
        self.lite_process = (
            lite_process  # Milvus Lite in a process of its own (services/knowledge/milvus_lite_process.py)
        )
        self._client = None
        self._process: subprocess.Popen | None = None
        self._lock = asyncio.Lock()

    @property
    def is_server(self) -> bool:
        return self.uri.startswith(('http://', 'https://', 'tcp://', 'grpc://'))

    @property
    def display_uri(self) -> str:
        if not self.is_server:
            return self.uri
        parts = urlsplit(self.uri)
        return f'{parts.scheme}://{parts.hostname}:{parts.port}' if parts.port else f'{parts.scheme}://{parts.hostname}'

    async def client(self):
        """The pymilvus client, connected on first use (Milvus Lite starts then). A Lite process that died (killed,
        out of memory) is started again on the next use."""
        async with self._lock:
            if self._process is not None and self._process.poll() is not None:
                log.warning('the Milvus Lite process exited (code %s); starting it again', self._process.returncode)
                self._client, self._process = None, None
            if self._client is None:
                self._client = await run.io_bound(self._connect)
        return self._client

    def _connect(self):
        from pymilvus import MilvusClient

        if self.is_server:
            return MilvusClient(uri=self.uri, token=self.token) if self.token else MilvusClient(uri=self.uri)
        if self.lite_process:
            return MilvusClient(uri=self._start_lite_process())
        # Milvus Lite runs its gRPC server in this process and lacks some RPCs (AllocTimestamp); pymilvus falls back
        # by itself, but grpc logs each refusal as an ERROR. Keep that noise out of our log.
        logging.getLogger('grpc._server').setLevel(logging.CRITICAL)
        client = MilvusClient(uri=self.uri)
        from milvus_lite.server_manager import server_manager_instance

        self._publish(server_manager_instance.start_and_get_uri(self.uri), os.getpid())
        return client

    @property
    def port_file(self) -> Path:
        return lite_port_file(self.uri)

    def _publish(self, uri: str | None, pid: int) -> None:
        """Tell other processes on this machine (`manage.py backup`) where the Lite server of the data listens: only
        one process may open the data directory, the others talk to that one over loopback."""
        if uri:
            self.port_file.write_text(f'{uri} {pid}\n')

    def _start_lite_process(self) -> str:
        """Start Milvus Lite on the data file in its own process; its loopback URI once it listens."""
        log_path = Path(self.uri).with_suffix('.log')
        deadline = time.monotonic() + LITE_START_SECONDS
        while True:
            with log_path.open('ab') as errors:
                process = subprocess.Popen(
                    # -P: not the script's folder (services/) on sys.path, where logging.py would shadow the stdlib's
                    [sys.executable, '-P', str(LITE_PROCESS), '--data-dir', self.uri, '--parent', str(os.getpid())],
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, start_new_session=True,
                )  # fmt: skip
            port = _ready_port(process, deadline)
            if port:
                self._process = process
                log.info('Milvus Lite (%s) listens on 127.0.0.1:%d, pid %d', self.uri, port, process.pid)
                self._publish(f'http://127.0.0.1:{port}', process.pid)
                return f'http://127.0.0.1:{port}'
            process.kill()
            process.wait()
            if time.monotonic() >= deadline:
                tail = log_path.read_text(errors='replace').strip().splitlines()[-1:] if log_path.exists() else []
                raise ServiceError(
                    N_(
                        'Milvus Lite could not start on {uri}: {tail}. See {log_path}.',
                        uri=self.uri,
                        tail=tail[0] if tail else 'no reason given',
                        log_path=log_path,
                    )
                )
            time.sleep(0.5)  # most often: a Lite server that is stopping still holds the data directory's LOCK

    async def ping(self) -> None:
        client = await self.client()
        await run.io_bound(client.list_collections)

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        client = await self.client()
        return await run.io_bound(getattr(client, method), *args, **kwargs)

    # ----- collections: one per knowledge base, recording model, dimension and metric --------------------------------
    async def create_collection(
        self, name: str, *, dimension: int, metric: str, model: str, keyword: bool = True
    ) -> bool:
        """Create the collection if it does not exist yet (an existing one must have the same dimension). A new one
        holds the chunk texts and Milvus' BM25 function (keyword search) unless `keyword` is False. Returns whether
        the collection (new or existing) has keyword search."""
        if metric not in METRICS:
            raise InvalidInput(
                N_('Unknown metric {metric}. Choose one of: {METRICS}.', metric=metric, METRICS=', '.join(METRICS))
            )
        client = await self.client()
        return await run.io_bound(self._create, client, name, dimension, metric, model, keyword)

    @staticmethod
    def _create(client, name: str, dimension: int, metric: str, model: str, keyword: bool) -> bool:
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        if client.has_collection(name):
            client.load_collection(name)
            return _has_keyword(client.describe_collection(name))
        schema = MilvusClient.create_schema(auto_id=False, description=f'model={model}; dim={dimension}; {metric}')
        schema.add_field('id', DataType.INT64, is_primary=True)
        schema.add_field('doc_id', DataType.INT64)
        schema.add_field('vector', DataType.FLOAT_VECTOR, dim=dimension)
        index = client.prepare_index_params()
        index.add_index(field_name='vector', index_type='AUTOINDEX', metric_type=metric)
        if keyword:  # Milvus computes each text's BM25 sparse vector itself, at insert (Milvus Lite and servers)
            schema.add_field('text', DataType.VARCHAR, max_length=TEXT_MAX_BYTES, enable_analyzer=True)
            schema.add_field('sparse', DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(
                Function(name='bm25', function_type=FunctionType.BM25, input_field_names=['text'],
                         output_field_names=['sparse'])
            )  # fmt: skip
            index.add_index(field_name='sparse', index_type='SPARSE_INVERTED_INDEX', metric_type='BM25')
        client.create_collection(name, schema=schema)
        # sync=False: pymilvus would otherwise poll the index state, sleeping half a second first, for an index on
        # an empty collection that the server has ready at once.
        client.create_index(name, index, sync=False)
        client.load_collection(name)
        return keyword

    async def has_keyword(self, name: str) -> bool:
        """Whether the collection holds texts with the BM25 function (False when it does not exist)."""
        client = await self.client()
        return await run.io_bound(
            lambda: client.has_collection(name) and _has_keyword(client.describe_collection(name))
        )

    async def drop_collection(self, name: str) -> None:
        client = await self.client()
        await run.io_bound(lambda: client.has_collection(name) and client.drop_collection(name))

    async def ensure_loaded(self, name: str) -> bool:
        """Collections come back released after a restart: load before searching. False when it does not exist."""
        client = await self.client()
        return bool(await run.io_bound(self._ensure_loaded, client, name))

    @staticmethod
    def _ensure_loaded(client, name: str) -> bool:
        if not client.has_collection(name):
            return False
        state = client.get_load_state(name).get('state')
        if 'Loaded' not in str(state):
            client.load_collection(name)
        return True

    async def insert(self, name: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self._call('insert', name, rows)

    async def flush(self, name: str) -> None:
        await self._call('flush', name)

    async def delete_documents(self, name: str, doc_ids: list[int]) -> None:
        client = await self.client()

        def delete() -> None:
            if doc_ids and client.has_collection(name):
                client.delete(name, filter=f'doc_id in {[int(d) for d in doc_ids]}')

        await run.io_bound(delete)

    async def search(
        self, name: str, vector: list[float], *, limit: int, metric: str, doc_ids: list[int] | None = None
    ) -> list[Hit]:
        if not await self.ensure_loaded(name):
            return []
        kwargs: dict[str, Any] = {'limit': limit, 'output_fields': ['doc_id'], 'search_params': {'metric_type': metric}}
        if doc_ids:
            kwargs['filter'] = f'doc_id in {[int(d) for d in doc_ids]}'
        result = await self._call('search', name, data=[vector], **kwargs)
        hits = []
        for hit in result[0] if result else []:
            distance = float(hit['distance'])
            score = 1 / (1 + distance) if metric == 'L2' else distance
            hits.append(
                Hit(chunk_id=int(hit['id']), doc_id=int(hit['entity']['doc_id']), score=score, distance=distance)
            )
        return hits

    async def keyword_search(self, name: str, text: str, *, limit: int, doc_ids: list[int] | None = None) -> list[Hit]:
        """BM25 full-text search over the chunk texts (Milvus' own): score = the BM25 score, higher is better."""
        if not await self.ensure_loaded(name):
            return []
        kwargs: dict[str, Any] = {'limit': limit, 'output_fields': ['doc_id'], 'anns_field': 'sparse',
                                  'search_params': {'metric_type': 'BM25'}}  # fmt: skip
        if doc_ids:
            kwargs['filter'] = f'doc_id in {[int(d) for d in doc_ids]}'
        result = await self._call('search', name, data=[text], **kwargs)
        # Milvus Lite reports BM25 scores negated (best first either way): the score is the BM25 score itself
        return [
            Hit(chunk_id=int(h['id']), doc_id=int(h['entity']['doc_id']), score=abs(float(h['distance'])),
                distance=float(h['distance']))
            for h in (result[0] if result else [])
        ]  # fmt: skip

    async def count(self, name: str) -> int:
        client = await self.client()

        def count() -> int:
            if not client.has_collection(name):
                return 0
            rows = client.query(name, filter='', output_fields=['count(*)'])
            return int(rows[0]['count(*)']) if rows else 0

        return await run.io_bound(count)

    async def read_batches(self, name: str, batch: int = 1000):
        """Every row (id, doc_id, vector) of a collection, `batch` rows at a time (re-indexing copies them)."""
        client = await self.client()
        if not await self.ensure_loaded(name):
            return
        iterator = await run.io_bound(
            client.query_iterator, name, batch_size=batch, filter='', output_fields=['id', 'doc_id', 'vector']
        )
        try:
            while rows := await run.io_bound(iterator.next):
                yield [{'id': int(r['id']), 'doc_id': int(r['doc_id']), 'vector': list(r['vector'])} for r in rows]
        finally:
            await run.io_bound(iterator.close)

    async def stats(self, name: str) -> CollectionStats:
        client = await self.client()
        return await run.io_bound(self._stats, client, name)

    @staticmethod
    def _stats(client, name: str) -> CollectionStats:
        if not client.has_collection(name):
            return CollectionStats(name=name, exists=False)
        info = client.describe_collection(name)
        dimension = next(
            (f.get('params', {}).get('dim') for f in info.get('fields', []) if f['name'] == 'vector'), None
        )
        index_name, metric = None, None
        for index in client.list_indexes(name):
            details = client.describe_index(name, index)
            if details.get('field_name', 'vector') == 'vector':  # not the keyword index (BM25)
                index_name, metric = details.get('index_type'), details.get('metric_type')
        rows = client.query(name, filter='', output_fields=['count(*)'])
        return CollectionStats(
            name=name,
            exists=True,
            entities=int(rows[0]['count(*)']) if rows else 0,
            dimension=int(dimension) if dimension else None,
            metric=metric,
            index=index_name,
            description=info.get('description', ''),
            keyword=_has_keyword(info),
        )

    @staticmethod
    async def test_connection(uri: str, token: str = '') -> str:
        """Connect to a Milvus server and list its collections; a short summary, or InvalidInput with the reason."""
        if not uri.startswith(('http://', 'https://', 'tcp://', 'grpc://')):
            raise InvalidInput(N_('Enter a Milvus server URI such as http://milvus.example.org:19530.'))

        def probe() -> str:
            from pymilvus import MilvusClient

            client = MilvusClient(uri=uri, token=token, timeout=5) if token else MilvusClient(uri=uri, timeout=5)
            try:
                return f'Connected: {len(client.list_collections())} collection(s).'
            finally:
                client.close()

        try:
            return await run.io_bound(probe)
        except Exception as exc:
            raise InvalidInput(
                N_('Could not connect to {uri}: {exc}. Check the address, port and token.', uri=uri, exc=exc)
            ) from exc

    async def close(self) -> None:
        async with self._lock:  # a connection being made now finishes first, so its Lite process is stopped too
            client, self._client = self._client, None
            process, self._process = self._process, None
        if client is not None:
            try:
                await run.io_bound(client.close)
            except Exception:
                log.debug('closing milvus client failed', exc_info=True)
        if process is not None:
            await run.io_bound(_stop, process)
        if client is not None and not self.is_server:
            self.port_file.unlink(missing_ok=True)


def _has_keyword(info: dict) -> bool:
    return any(f.get('name') == 'sparse' for f in info.get('fields', []))


def clip_text(text: str) -> str:
    """A chunk text as the collection's text field takes it (at most TEXT_MAX_BYTES of UTF-8)."""
    data = text.encode()
    return text if len(data) <= TEXT_MAX_BYTES else data[:TEXT_MAX_BYTES].decode(errors='ignore')


def lite_port_file(uri: str) -> Path:
    """Where the app notes the loopback URI and pid of the Lite server of `uri` (beside the data: milvus.port)."""
    return Path(uri).with_suffix('.port')


def published_lite_uri(uri: str) -> str | None:
    """The loopback URI of the Lite server a running app keeps open on `uri`, or None (no app, or it is gone)."""
    try:
        published, pid = lite_port_file(uri).read_text().split()
        os.kill(int(pid), 0)
    except (OSError, ValueError):
        return None
    return published


def _ready_port(process: subprocess.Popen, deadline: float) -> int | None:
    """The port from the Lite process's "READY <port>" line, or None if it exits or stays silent until the deadline."""
    assert process.stdout is not None
    while (remaining := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([process.stdout], [], [], min(remaining, 0.5))
        if readable:
            line = process.stdout.readline().decode(errors='replace').split()
            if len(line) == 2 and line[0] == 'READY' and line[1].isdigit():
                return int(line[1])
            if not line:  # end of output: it exited
                return None
        elif process.poll() is not None:
            return None
    return None


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM: in-flight requests finish and the data directory is released; kill if that takes too long."""
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
