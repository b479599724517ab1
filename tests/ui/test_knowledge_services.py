"""Knowledge bases through the services of the running app: uploads, chunk previews, ingestion, vectors."""

from __future__ import annotations

import asyncio

import pytest

from models import Chunk, Document
from services.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from services.wiring import Services
from tests import files

EMBED = 'nomic-embed-text:latest'


@pytest.fixture
async def ada(services: Services, make_account) -> int:
    return await make_account('ada@example.org', 'Ada')


@pytest.fixture
async def bob(services: Services, make_account, ada: int) -> int:
    return await make_account('bob@example.org', 'Bob')


async def make_kb(services: Services, owner: int, name: str = 'Camelids', **kwargs) -> int:
    return (await services.knowledge.create_kb(owner, name=name, embedding_model=EMBED, **kwargs)).id


def stored_files(services: Services) -> list[str]:
    return sorted(p.name for p in services.settings.uploads_dir.iterdir())


async def test_upload_every_format_and_refuse_bad_files_leaving_nothing(services: Services, ada: int) -> None:
    kb = await make_kb(services, ada)
    good = [
        ('a.txt', b'Plain words about llamas.'),
        ('b.md', files.MARKDOWN),
        ('c.pdf', files.pdf_bytes()),
        ('d.docx', files.docx_bytes()),
        ('e.html', files.HTML),
        ('f.csv', files.CSV),
        ('g.json', files.JSON),
    ]
    bad = [
        ('empty.txt', b''),
        ('broken.pdf', b'%PDF-1.4 broken'),
        ('locked.pdf', files.encrypted_pdf_bytes()),
        ('lying.txt', files.pdf_bytes('other text')),
        ('bomb.docx', files.zip_bomb_docx()),
        ('garbage.md', bytes(range(256)) * 4),
    ]
    results = await services.knowledge.upload(ada, kb, good + bad)
    assert [r.ok for r in results] == [True] * len(good) + [False] * len(bad)
    assert 'is empty' in results[7].message and 'password-protected' in results[9].message
    docs = await services.knowledge.list_documents(ada, kb)
    assert [d.state for d in docs] == ['parsed'] * len(good)
    assert {d.mime for d in docs} >= {'application/pdf', 'text/csv', 'application/json', 'text/html'}
    assert len(stored_files(services)) == 2 * len(good)  # original + extracted text each, nothing from the bad ones
    assert 'vicuna' in await services.knowledge.document_text(ada, docs[3].id)
    again = await services.knowledge.upload(ada, kb, [('copy.txt', b'Plain words about llamas.')])
    assert not again[0].ok and 'already in this knowledge base' in again[0].message


async def test_oversized_uploads_are_refused(services: Services, ada: int) -> None:
    kb = await make_kb(services, ada)
    services.knowledge.max_bytes = 1000
    [result] = await services.knowledge.upload(ada, kb, [('big.txt', b'word ' * 1000)])
    assert not result.ok and 'the limit is' in result.message
    assert stored_files(services) == [] and await Document.all().count() == 0


@pytest.mark.parametrize('name', ['../../app.md', '/etc/passwd.txt', 'a\x00b.txt', 'x' * 500 + '.txt', '..\\..\\x.md'])
async def test_hostile_names_are_stored_under_generated_names(services: Services, ada: int, name: str) -> None:
    kb = await make_kb(services, ada)
    [result] = await services.knowledge.upload(ada, kb, [(name, b'Some harmless text.')])
    assert result.ok, result.message
    doc = await Document.get(id=result.document_id)
    assert '/' not in doc.original_name and '\\' not in doc.original_name and '\x00' not in doc.original_name
    assert len(doc.original_name) <= 200
    uploads = services.settings.uploads_dir
    assert sorted(p.name for p in uploads.iterdir()) == sorted([doc.stored_name, doc.text_name])
    assert not (services.settings.data_dir.parent / 'app.md').exists()


async def test_chunk_preview_follows_the_settings(services: Services, ada: int) -> None:
    kb = await make_kb(services, ada)
    facts = ' '.join(f'Fact {i} about llamas and their wool.' for i in range(100))
    text = f'# Llamas\n\n{facts}\n\n## Food\n\nGrass.'
    [result] = await services.knowledge.upload(ada, kb, [('facts.md', text.encode())])
    doc = result.document_id
    small, chunks = await services.knowledge.preview_chunks(ada, doc, splitter='sentence', size=64, overlap=0)
    large, _ = await services.knowledge.preview_chunks(ada, doc, splitter='token', size=512, overlap=0)
    assert small > large >= 1 and chunks[0].index == 0
    _, sections = await services.knowledge.preview_chunks(
        ada, result.document_id, splitter='markdown', size=1024, overlap=0
    )
    assert sections[-1].metadata == {'section': 'Llamas/Food'}
    with pytest.raises(InvalidInput):
        await services.knowledge.preview_chunks(ada, result.document_id, splitter='sentence', size=64, overlap=64)


async def test_ingestion_progress_stats_search_and_delete(services: Services, ada: int, ollama_server) -> None:
    kb = await make_kb(services, ada, chunk_size=64, chunk_overlap=0)
    docs = [(f'doc{i}.md', f'# Doc {i}\n\n' + f'Topic{i} words repeat. ' * 60) for i in range(5)]
    await services.knowledge.upload(ada, kb, [(n, t.encode()) for n, t in docs])
    seen = []
    services.ingest.progress.subscribe(seen.append)
    job = await services.ingest.start(ada, kb)
    final = await services.ingest.wait(job.job_id)
    assert final.state == 'done' and final.docs_done == 5 and final.percent == 100, final.error
    assert seen[-1].state == 'done'
    chunks = await Chunk.filter(kb_id=kb).count()
    stats = await services.vectors.stats(f'kb_{kb}')
    assert stats.entities == chunks == final.chunks_done and stats.dimension == 768 and stats.metric == 'COSINE'
    embed_calls = [r for r in ollama_server.requests if r['path'] == '/api/embed']
    assert len(embed_calls) < chunks  # batched: many inputs per call
    # a second run skips the unchanged documents
    again = await services.ingest.wait((await services.ingest.start(ada, kb)).job_id)
    assert again.docs_skipped == 5 and again.chunks_done == 0
    # delete a document: its file, chunks and vectors go
    doc = (await services.knowledge.list_documents(ada, kb))[0]
    await services.knowledge.delete_document(ada, doc.id)
    assert await Chunk.filter(document_id=doc.id).count() == 0
    assert (await services.vectors.stats(f'kb_{kb}')).entities == chunks - doc.chunks
    assert doc.sha256 not in ''.join(stored_files(services)) and len(stored_files(services)) == 8
    activity = await services.activity.query(action='ingest_job')
    assert activity and activity[0].details['documents'] == 0 and activity[-1].details['documents'] == 5


async def test_a_failing_document_does_not_stop_the_others(services: Services, ada: int) -> None:
    kb = await make_kb(services, ada)
    await services.knowledge.upload(ada, kb, [('a.txt', b'Alpha text.'), ('b.txt', b'Beta text.')])
    doc = (await services.knowledge.list_documents(ada, kb))[0]
    (services.settings.uploads_dir / (await Document.get(id=doc.id)).text_name).write_text('')
    final = await services.ingest.wait((await services.ingest.start(ada, kb)).job_id)
    assert final.state == 'done' and final.docs_done == 1 and final.docs_failed == 1
    docs = await services.knowledge.list_documents(ada, kb)
    assert docs[0].state == 'failed' and 'no chunks' in docs[0].error and docs[1].state == 'embedded'


async def test_cancel_stops_the_job_and_a_new_job_completes_without_duplicates(services: Services, ada: int) -> None:
    kb = await make_kb(services, ada, chunk_size=32, chunk_overlap=0)
    text = ' '.join(f'Sentence {i} about alpacas.' for i in range(400))
    await services.knowledge.upload(ada, kb, [(f'{i}.txt', f'{i} {text}'.encode()) for i in range(3)])
    services.ingest.batch_size = 1
    job = await services.ingest.start(ada, kb)
    with pytest.raises(Conflict):
        await services.ingest.start(ada, kb)
    progress = await services.ingest.progress.emitted(timeout=20)
    assert progress.state == 'running' and progress.docs_total == 3 and progress.percent == 0  # documents counted
    progress = await services.ingest.progress.emitted(timeout=20)
    assert progress.state == 'running' and 0 < progress.percent < 100 and progress.rate > 0
    assert await services.ingest.cancel(ada, kb)
    final = await services.ingest.wait(job.job_id)
    assert final.state == 'cancelled' and final.docs_done < 3
    services.ingest.batch_size = 64
    done = await services.ingest.wait((await services.ingest.start(ada, kb)).job_id)
    assert done.state == 'done' and done.docs_done + done.docs_skipped == 3
    assert (await services.vectors.stats(f'kb_{kb}')).entities == await Chunk.filter(kb_id=kb).count()


async def test_changing_the_embedding_model_re_embeds_with_the_new_dimension(services: Services, ada: int) -> None:
    kb = await make_kb(services, ada)
    await services.knowledge.upload(ada, kb, [('a.txt', b'Alpha text about llamas.')])
    await services.ingest.wait((await services.ingest.start(ada, kb)).job_id)
    assert (await services.vectors.stats(f'kb_{kb}')).dimension == 768
    info, rebuild = await services.knowledge.update_kb(ada, kb, embedding_model='all-minilm:latest')
    assert rebuild and info.dimension is None
    final = await services.ingest.wait((await services.ingest.start(ada, kb, rebuild=True)).job_id)
    assert final.docs_done == 1
    stats = await services.vectors.stats(f'kb_{kb}')
    assert stats.dimension == 384 and stats.entities == 1


async def test_another_user_cannot_see_change_or_ingest_a_private_kb(services: Services, ada: int, bob: int) -> None:
    kb = await make_kb(services, ada)
    [up] = await services.knowledge.upload(ada, kb, [('a.txt', b'Secret plans.')])
    for call in (
        services.knowledge.get_kb(bob, kb),
        services.knowledge.list_documents(bob, kb),
        services.knowledge.upload(bob, kb, [('x.txt', b'mine')]),
        services.knowledge.document_text(bob, up.document_id),
        services.knowledge.document_chunks(bob, up.document_id),
        services.knowledge.delete_document(bob, up.document_id),
        services.knowledge.update_kb(bob, kb, name='Stolen'),
        services.knowledge.delete_kb(bob, kb),
        services.ingest.start(bob, kb),
        services.ingest.cancel(bob, kb),
        services.ingest.latest(bob, kb),
        services.embeddings.neighbours(bob, kb, 'plans'),
    ):
        with pytest.raises(NotFound):
            await call
    assert [k.id for k in await services.knowledge.list_kbs(bob)] == []
    assert (await services.knowledge.get_kb(ada, kb)).name == 'Camelids' and await Document.all().count() == 1
    # public: Bob may read but not change
    await services.knowledge.update_kb(ada, kb, visibility='public')
    assert (await services.knowledge.get_kb(bob, kb)).can_edit is False
    with pytest.raises(PermissionDenied):
        await services.ingest.start(bob, kb)


async def test_workshop_visibility_admits_owner_and_instructors(services: Services, ada: int, bob: int, make_account):
    """Shared with a workshop: its instructors see it; another instructor and an outsider do not
    (tests/security/test_workshop_boundaries.py attacks this through the API)."""
    carol = await make_account('carol@example.org', 'Carol', role='instructor')
    workshop = await services.workshops.create(carol, 'Class', attendees_may_share=True)
    await services.workshops.start(carol, workshop.id)
    await services.workshops.join(workshop.join_code, user_id=bob)
    kb = await make_kb(services, bob, visibility='workshop', workshop_id=workshop.id)
    assert (await services.knowledge.get_kb(carol, kb)).visibility == 'workshop'
    dave = await make_account('dave@example.org', 'Dave')
    erin = await make_account('erin@example.org', 'Erin', role='instructor')
    for outsider in (dave, erin):
        with pytest.raises(NotFound):
            await services.knowledge.get_kb(outsider, kb)


async def test_upload_is_recorded_in_the_activity_log(services: Services, ada: int) -> None:
    kb = await make_kb(services, ada)
    await services.knowledge.upload(ada, kb, [('a.txt', b'hello there'), ('b.txt', b'')])
    rows = await services.activity.query(action='document_upload')
    assert len(rows) == 2 and rows[0].error and rows[1].error is None


async def test_pages_stay_responsive_while_parsing(services: Services, ada: int) -> None:
    kb = await make_kb(services, ada)
    big = ('Llamas are social animals. ' * 40000).encode()  # ~1 MB of text
    upload = asyncio.create_task(services.knowledge.upload(ada, kb, [('big.txt', big)]))
    started = asyncio.get_running_loop().time()
    await asyncio.sleep(0.01)
    assert asyncio.get_running_loop().time() - started < 0.5
    [result] = await upload
    assert result.ok
