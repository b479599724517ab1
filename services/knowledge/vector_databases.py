"""Vector database configurations: the built-in store from the environment plus Milvus servers admins register.

Each knowledge base keeps its vectors in one of them (`KnowledgeBase.vector_db_id`, NULL = built-in). Every service
that touches a knowledge base's collection asks `store_for(kb)`; one `VectorStore` per configuration is connected on
first use and closed with the app. Tokens are stored but never returned: `list()` says only whether one is set.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from models import KnowledgeBase, Role, VectorDatabase
from services.core import audit as audit_actions
from services.core.audit import AuditService
from services.core.auth import AuthService
from services.core.errors import Conflict, InvalidInput, NotFound
from services.core.i18n import N_
from services.knowledge.vectors import VectorStore

NAME_MAX = 80
URI_MAX = 300
TOKEN_MAX = 500
SCHEMES = ('http', 'https', 'tcp', 'grpc')


class HasVectorDb(Protocol):
    vector_db_id: int | None


@dataclass(kw_only=True, slots=True)
class VectorDbInfo:
    id: int | None  # None: the built-in store
    name: str
    uri: str  # without credentials
    has_token: bool
    knowledge_bases: int
    builtin: bool = False


def normalise_uri(raw: str) -> str:
    """A Milvus server URI (http, https, tcp or grpc) with a host, no credentials and no whitespace."""
    text = (raw or '').strip().rstrip('/')
    if not text or len(text) > URI_MAX or any(c.isspace() or ord(c) < 32 for c in text):
        raise InvalidInput(N_('Enter a Milvus server URI such as http://milvus.example.org:19530.'))
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidInput(
            N_('That URI is not valid ({exc}). Use a form like http://milvus.example.org:19530.', exc=exc)
        ) from exc
    if parts.scheme not in SCHEMES:
        raise InvalidInput(
            N_('Enter a Milvus server URI (http, https, tcp or grpc) such as http://milvus.example.org:19530.')
        )
    if '@' in parts.netloc:
        raise InvalidInput(N_('Put credentials in the token field, not in the URI (nothing before "@").'))
    if not parts.hostname:
        raise InvalidInput(N_('The URI needs a host name, like http://milvus.example.org:19530.'))
    return text


class VectorDatabaseService:
    def __init__(self, auth: AuthService, audit: AuditService, default: VectorStore) -> None:
        self.auth = auth
        self.audit = audit
        self.default = default  # services.vectors: built from MILVUS_URI / MILVUS_TOKEN
        self._stores: dict[int, VectorStore] = {}
        self._lock = asyncio.Lock()

    @property
    def builtin_name(self) -> str:
        return 'Built-in (Milvus server)' if self.default.is_server else 'Built-in (Milvus Lite)'

    # ----- for everyone signed in ----------------------------------------------------------------------------------
    async def list(self, actor_id: int) -> list[VectorDbInfo]:
        """The built-in store first, then the stored configurations by name (never their tokens)."""
        await self.auth.require(actor_id)
        counts: dict[int | None, int] = {}
        for vector_db_id in await KnowledgeBase.all().values_list('vector_db_id', flat=True):
            counts[vector_db_id] = counts.get(vector_db_id, 0) + 1
        builtin = VectorDbInfo(
            id=None,
            name=self.builtin_name,
            uri=self.default.display_uri,
            has_token=bool(self.default.token),
            knowledge_bases=counts.get(None, 0),
            builtin=True,
        )
        rows = await VectorDatabase.all().order_by('name').values('id', 'name', 'uri', 'token')
        return [builtin] + [
            VectorDbInfo(
                id=r['id'],
                name=r['name'],
                uri=VectorStore(r['uri']).display_uri,
                has_token=bool(r['token']),
                knowledge_bases=counts.get(r['id'], 0),
            )
            for r in rows
        ]

    async def require_choice(self, vector_db_id: int | None) -> int | None:
        """`vector_db_id` if it names a stored configuration (None: the built-in store); InvalidInput otherwise."""
        if vector_db_id is None:
            return None
        if not isinstance(vector_db_id, int) or not await VectorDatabase.exists(id=vector_db_id):
            raise InvalidInput(N_('That vector database does not exist (any more). Choose one from the list.'))
        return vector_db_id

    async def store_for(self, kb: HasVectorDb) -> VectorStore:
        """The store holding the collection of `kb`: the built-in one, or the configured server's (connected lazily)."""
        vector_db_id = kb.vector_db_id
        if vector_db_id is None:
            return self.default
        store = self._stores.get(vector_db_id)
        if store is not None:
            return store
        async with self._lock:
            if vector_db_id not in self._stores:
                row = await VectorDatabase.get_or_none(id=vector_db_id)
                if row is None:
                    raise NotFound(N_('The vector database of this knowledge base does not exist any more.'))
                self._stores[vector_db_id] = VectorStore(row.uri, row.token)
            return self._stores[vector_db_id]

    # ----- administration ------------------------------------------------------------------------------------------
    async def test(self, actor_id: int, uri: str, token: str = '') -> str:
        """Connect to a Milvus server (admins): a short summary, or InvalidInput with the reason."""
        await self.auth.require(actor_id, Role.ADMIN)
        return await VectorStore.test_connection(normalise_uri(uri), (token or '').strip())

    async def create(self, actor_id: int, name: str, uri: str, token: str = '') -> VectorDbInfo:
        """Store a configuration after its connection test succeeded (admins)."""
        user = await self.auth.require(actor_id, Role.ADMIN)
        name = ' '.join((name or '').split())
        if not 1 <= len(name) <= NAME_MAX:
            raise InvalidInput(
                N_(
                    'Give the vector database a name of 1 to {NAME_MAX} characters, like "Team Milvus".',
                    NAME_MAX=NAME_MAX,
                )
            )
        if name.lower().startswith('built-in'):
            raise InvalidInput(N_('Names starting with "Built-in" are reserved for the store from the environment.'))
        uri = normalise_uri(uri)
        token = (token or '').strip()
        if len(token) > TOKEN_MAX:
            raise InvalidInput(N_('The token is too long (at most {TOKEN_MAX} characters).', TOKEN_MAX=TOKEN_MAX))
        if await VectorDatabase.filter(name=name).exists():
            raise Conflict(N_('A vector database called "{name}" already exists.', name=name))
        await VectorStore.test_connection(uri, token)  # refuses with the reason; nothing is stored then
        row = await VectorDatabase.create(name=name, uri=uri, token=token, created_by=user.id)
        display = VectorStore(uri).display_uri
        await self.audit.record(user.id, audit_actions.VECTOR_DB_CREATE, target=name, uri=display, id=row.id)
        return VectorDbInfo(id=row.id, name=name, uri=display, has_token=bool(token), knowledge_bases=0)

    async def delete(self, actor_id: int, vector_db_id: int) -> None:
        """Remove a configuration no knowledge base uses (admins)."""
        user = await self.auth.require(actor_id, Role.ADMIN)
        row = await VectorDatabase.get_or_none(id=vector_db_id)
        if row is None:
            raise NotFound(N_('That vector database does not exist (any more).'))
        used = await KnowledgeBase.filter(vector_db_id=row.id).count()
        if used:
            raise Conflict(
                N_(
                    '"{name}" holds the vectors of {used} knowledge base(s). Move them to another vector '
                    'database or delete them first.',
                    name=row.name,
                    used=used,
                )
            )
        await row.delete()
        store = self._stores.pop(row.id, None)
        if store is not None:
            await store.close()
        await self.audit.record(user.id, audit_actions.VECTOR_DB_DELETE, target=row.name, id=row.id)

    async def close(self) -> None:
        """At shutdown: close the connections to the configured servers (the built-in store is closed by the app)."""
        stores, self._stores = list(self._stores.values()), {}
        for store in stores:
            await store.close()
