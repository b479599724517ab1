"""Vector collections to files and back: the vector part of a backup (services/admin/backup.py).

Collections are exported through pymilvus (flush, then a query iterator), never by copying Milvus Lite's data
directory: the app's Lite server keeps writing its WAL and compacting files while it runs, and only one process may
open that directory. A running app publishes the loopback address of its Lite server (services.knowledge.vectors),
so the backup asks that server; with no app running, the backup opens the directory itself. A Milvus server
(MILVUS_URI) is asked the same way. Each collection becomes `<name>.npz` (ids, doc ids, float32 vectors, and the
chunk texts of a collection with keyword search: Milvus derives the BM25 vectors from them again on restore).

Plain synchronous code for the command line (manage.py), not for the app's event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from services.core.i18n import N_
from services.knowledge.vectors import VectorStore, published_lite_uri

BATCH = 1000


class VectorsUnavailable(Exception):
    pass


@contextmanager
def connect(uri: str, token: str = '', *, must_exist: bool = True) -> Iterator[Any]:
    """A pymilvus client on the store at `uri`: a Milvus server, the Lite server of a running app, or (no app running)
    the Lite directory opened in this process and released afterwards."""
    from pymilvus import MilvusClient

    # Milvus Lite lacks some RPCs and pymilvus warns at every query iterator: keep the command's output readable
    logging.getLogger('grpc._server').setLevel(logging.CRITICAL)
    logging.getLogger('pymilvus').setLevel(logging.ERROR)
    store = VectorStore(uri, token)
    if store.is_server:
        client = MilvusClient(uri=uri, token=token) if token else MilvusClient(uri=uri)
        try:
            yield client
        finally:
            client.close()
        return
    published = published_lite_uri(uri)
    if published:
        client = MilvusClient(uri=published)
        try:
            yield client
        finally:
            client.close()
        return
    if must_exist and not Path(uri).exists():
        yield None  # nothing was ever stored
        return
    from milvus_lite.server_manager import server_manager_instance

    try:
        client = MilvusClient(uri=uri)
    except Exception as exc:
        raise VectorsUnavailable(
            N_(
                'Milvus Lite at {uri} is open in another process that does not say where it listens '
                '({exc}). Run the platform with MILVUS_LITE_PROCESS=true (the default), or stop it for '
                'the backup.',
                uri=uri,
                exc=exc,
            )
        ) from exc
    try:
        yield client
    finally:
        client.close()
        server_manager_instance.release_server(uri)


def export(client: Any, collections: list[dict[str, Any]], folder: Path) -> list[dict[str, Any]]:
    """Write each collection (dicts with `name`, `model`, `metric`) that exists to `folder`; what was written."""
    written = []
    for entry in collections:
        name = entry['name']
        if client is None or not client.has_collection(name):
            continue
        client.flush(name)
        dimension = _dimension(client, name)
        keyword = any(f['name'] == 'text' for f in client.describe_collection(name).get('fields', []))
        fields = ['id', 'doc_id', 'vector', 'text'] if keyword else ['id', 'doc_id', 'vector']
        ids, doc_ids, vectors, texts = [], [], [], []
        iterator = client.query_iterator(name, batch_size=BATCH, filter='', output_fields=fields)
        try:
            while batch := iterator.next():
                ids.extend(int(r['id']) for r in batch)
                doc_ids.extend(int(r['doc_id']) for r in batch)
                vectors.extend(r['vector'] for r in batch)
                texts.extend(r['text'] for r in batch if keyword)
        finally:
            iterator.close()
        folder.mkdir(parents=True, exist_ok=True)
        array = np.asarray(vectors, dtype=np.float32).reshape(len(ids), dimension)
        extra = {'text': np.asarray(texts, dtype=str)} if keyword else {}
        np.savez(
            folder / f'{name}.npz', id=np.asarray(ids, np.int64), doc_id=np.asarray(doc_ids, np.int64), vector=array,
            **extra,
        )  # fmt: skip
        written.append(entry | {'dimension': dimension, 'rows': len(ids), 'file': f'vectors/{name}.npz',
                                'keyword': keyword})  # fmt: skip
    return written


def existing(client: Any, collections: list[dict[str, Any]]) -> list[str]:
    """The names among `collections` that the store already has (a restore must not mix data)."""
    return [c['name'] for c in collections if client is not None and client.has_collection(c['name'])]


def restore(client: Any, collections: list[dict[str, Any]], folder: Path) -> int:
    """Create each collection as the app does and insert its rows from `folder`; the number of rows."""
    total = 0
    for entry in collections:
        name = entry['name']
        keyword = bool(entry.get('keyword'))  # backups from before keyword search have no texts
        VectorStore._create(client, name, int(entry['dimension']), entry['metric'], entry['model'], keyword)
        with np.load(folder / f'{name}.npz') as data:
            ids, doc_ids, vectors = data['id'], data['doc_id'], data['vector']
            texts = data['text'] if keyword else None
        for start in range(0, len(ids), BATCH):
            rows = [
                {'id': int(i), 'doc_id': int(d), 'vector': v.tolist()}
                for i, d, v in zip(
                    ids[start : start + BATCH],
                    doc_ids[start : start + BATCH],
                    vectors[start : start + BATCH],
                    strict=True,
                )
            ]
            if texts is not None:
                for row, text in zip(rows, texts[start : start + BATCH], strict=True):
                    row['text'] = str(text)
            client.insert(name, rows)
        client.flush(name)
        total += len(ids)
    return total


def _dimension(client: Any, name: str) -> int:
    for field in client.describe_collection(name).get('fields', []):
        if field['name'] == 'vector':
            return int(field.get('params', {}).get('dim'))
    raise ValueError(f'collection {name} has no vector field')
