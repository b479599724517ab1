"""The vector store connection: Milvus Lite (a file in the data directory) or a Milvus server, one code path."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from nicegui import run

log = logging.getLogger(__name__)


class VectorStore:
    def __init__(self, uri: str, token: str = '') -> None:
        self.uri = uri
        self.token = token
        self._client = None
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
        """The pymilvus client, connected on first use (Milvus Lite starts its embedded server then)."""
        async with self._lock:
            if self._client is None:
                self._client = await run.io_bound(self._connect)
        return self._client

    def _connect(self):
        from pymilvus import MilvusClient

        kwargs = {'uri': self.uri}
        if self.token:
            kwargs['token'] = self.token
        return MilvusClient(**kwargs)

    async def ping(self) -> None:
        client = await self.client()
        await run.io_bound(client.list_collections)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await run.io_bound(client.close)
            except Exception:
                log.debug('closing milvus client failed', exc_info=True)
