"""Stored vector database configurations: an admin registers a Milvus server (its connection tested first), knowledge
bases choose it and keep their vectors there, moving a knowledge base re-embeds it, tokens are never shown back."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from models import AuditEntry, VectorDatabase
from services.core.errors import Conflict, InvalidInput, PermissionDenied
from services.knowledge.vectors import VectorStore
from services.wiring import Services
from tests.ui.conftest import sign_in
from tests.ui.test_vector_stores import free_port, milvus_server  # noqa: F401 (a fixture)

EMBED = 'nomic-embed-text:latest'
TOKEN = 'root:very-secret-token-42'
DOCS = [('llama.txt', b'Llamas carry packs in the Andes.'), ('fish.txt', b'Salmon swim upstream.')]


async def ingest(services: Services, owner: int, kb: int, *, rebuild: bool = False) -> None:
    final = await services.ingest.wait((await services.ingest.start(owner, kb, rebuild=rebuild)).job_id)
    assert final.state == 'done' and final.docs_done == 2, final


async def test_a_knowledge_base_keeps_its_vectors_in_the_configured_server(
    services: Services,
    make_account,
    milvus_server: str,  # noqa: F811
) -> None:
    ada = await make_account('ada@example.org', 'Ada')  # the first account: admin
    db = await services.vector_databases.create(ada, ' Team  Milvus ', milvus_server, TOKEN)
    assert db.name == 'Team Milvus' and db.has_token and db.uri == milvus_server
    assert await AuditEntry.filter(action='vector_db_create', target='Team Milvus').exists()

    kb = (await services.knowledge.create_kb(ada, name='Camelids', embedding_model=EMBED, vector_db_id=db.id)).id
    assert (await services.knowledge.get_kb(ada, kb)).vector_db_id == db.id
    await services.knowledge.upload(ada, kb, DOCS)
    await ingest(services, ada, kb)

    stats = await services.knowledge.collection_stats(ada, kb)
    assert stats.exists and stats.entities == 2 and stats.dimension == 768
    server = VectorStore(milvus_server)
    try:
        assert (await server.stats(f'kb_{kb}')).entities == 2  # really on the server ...
    finally:
        await server.close()
    assert not (await services.vectors.stats(f'kb_{kb}')).exists  # ... and not in the built-in Milvus Lite
    neighbours = await services.embeddings.neighbours(ada, kb, 'Where do llamas carry packs?', k=2)
    assert neighbours[0].document_name == 'llama.txt'

    listing = await services.vector_databases.list(ada)
    assert [(d.name, d.knowledge_bases, d.builtin) for d in listing] == [
        ('Built-in (Milvus Lite)', 0, True),
        ('Team Milvus', 1, False),
    ]
    assert 'very-secret' not in repr(listing) and listing[1].has_token

    with pytest.raises(Conflict, match='holds the vectors of 1 knowledge base'):
        await services.vector_databases.delete(ada, db.id)
    doc = (await services.knowledge.list_documents(ada, kb))[0]
    await services.knowledge.delete_document(ada, doc.id)  # deletes in the server's collection
    assert (await services.knowledge.collection_stats(ada, kb)).entities == 1
    await services.knowledge.delete_kb(ada, kb)  # drops the server's collection
    server = VectorStore(milvus_server)
    try:
        assert not (await server.stats(f'kb_{kb}')).exists
    finally:
        await server.close()
    await services.vector_databases.delete(ada, db.id)
    assert not await VectorDatabase.exists()
    assert await AuditEntry.filter(action='vector_db_delete', target='Team Milvus').exists()


async def test_moving_a_knowledge_base_re_embeds_it_into_the_new_store(
    services: Services,
    make_account,
    milvus_server: str,  # noqa: F811
) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    kb = (await services.knowledge.create_kb(ada, name='Camelids', embedding_model=EMBED)).id
    await services.knowledge.upload(ada, kb, DOCS)
    await ingest(services, ada, kb)
    assert (await services.vectors.stats(f'kb_{kb}')).entities == 2  # built-in

    db = await services.vector_databases.create(ada, 'Team Milvus', milvus_server)
    info, rebuild = await services.knowledge.update_kb(ada, kb, vector_db_id=db.id)
    assert rebuild and info.vector_db_id == db.id and info.dimension is None
    assert not (await services.vectors.stats(f'kb_{kb}')).exists  # the old collection is gone at once
    await ingest(services, ada, kb, rebuild=True)
    stats = await services.knowledge.collection_stats(ada, kb)
    assert stats.exists and stats.entities == 2
    assert not (await services.vectors.stats(f'kb_{kb}')).exists

    info, rebuild = await services.knowledge.update_kb(ada, kb, vector_db_id=None)  # and back to the built-in one
    assert rebuild and info.vector_db_id is None
    await ingest(services, ada, kb)  # even without "rebuild": every document is embedded again
    assert (await services.vectors.stats(f'kb_{kb}')).entities == 2
    assert [d.knowledge_bases for d in await services.vector_databases.list(ada)] == [1, 0]


async def test_refusals(services: Services, make_account, milvus_server: str) -> None:  # noqa: F811
    ada = await make_account('ada@example.org', 'Ada')
    bob = await make_account('bob@example.org', 'Bob')
    with pytest.raises(InvalidInput, match='Could not connect'):  # nothing listens there
        await services.vector_databases.create(ada, 'Nowhere', f'http://127.0.0.1:{free_port()}')
    with pytest.raises(InvalidInput, match='Milvus server URI'):
        await services.vector_databases.create(ada, 'File', '/etc/passwd')
    with pytest.raises(InvalidInput, match='token field'):
        await services.vector_databases.create(ada, 'Creds', 'http://root:pw@127.0.0.1:19530')
    with pytest.raises(PermissionDenied):
        await services.vector_databases.create(bob, 'Mine', milvus_server)
    with pytest.raises(PermissionDenied):
        await services.vector_databases.test(bob, milvus_server)
    assert not await VectorDatabase.exists()

    db = await services.vector_databases.create(ada, 'Team Milvus', milvus_server)
    with pytest.raises(Conflict, match='already exists'):
        await services.vector_databases.create(ada, 'Team Milvus', milvus_server)
    with pytest.raises(PermissionDenied):
        await services.vector_databases.delete(bob, db.id)
    # attendees see the list (read-only) and may choose a stored configuration, but not one that does not exist
    assert [d.name for d in await services.vector_databases.list(bob)] == ['Built-in (Milvus Lite)', 'Team Milvus']
    with pytest.raises(InvalidInput, match='does not exist'):
        await services.knowledge.create_kb(bob, name='Mine', embedding_model=EMBED, vector_db_id=db.id + 1)
    kb = (await services.knowledge.create_kb(bob, name='Mine', embedding_model=EMBED, vector_db_id=db.id)).id
    with pytest.raises(InvalidInput, match='does not exist'):
        await services.knowledge.update_kb(bob, kb, vector_db_id=db.id + 1)


async def test_admin_sees_the_built_in_store_and_the_add_form(
    user: User,
    services: Services,
    make_account,
    milvus_server: str,  # noqa: F811
) -> None:
    await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await user.open('/knowledge')
    await user.should_see('Built-in (Milvus Lite)')
    await user.should_see('Add a Milvus server')
    await user.should_see('No other vector databases yet. Add a Milvus server below.')
    user.find(marker='vdb-name').type('Files')
    user.find(marker='vdb-uri').type('ftp://files.example.org')
    user.find(marker='vdb-save').click()
    await user.should_see('Enter a Milvus server URI (http, https, tcp or grpc)')
    assert not await VectorDatabase.exists()

    user.find(marker='vdb-name').clear().type('Team Milvus')
    user.find(marker='vdb-uri').clear().type(milvus_server)
    user.find(marker='vdb-token').type(TOKEN)
    user.find(marker='vector-test').click()
    await user.should_see('Connected: 0 collection(s).')
    user.find(marker='vdb-save').click()
    await user.should_see('Connected and saved.')
    await user.should_see('token set')
    await user.should_not_see(TOKEN)
    assert (await VectorDatabase.get(name='Team Milvus')).token == TOKEN


async def test_attendees_see_the_list_read_only(user: User, services: Services, make_account) -> None:
    await make_account('ada@example.org', 'Ada')
    await make_account('bob@example.org', 'Bob')
    await sign_in(user, 'bob@example.org')
    await user.open('/knowledge')
    await user.should_see('Built-in (Milvus Lite)')
    await user.should_see('An admin can add Milvus servers.')
    await user.should_not_see('Add a Milvus server')
