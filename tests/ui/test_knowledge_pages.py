"""The Knowledge, Embeddings and RAG pages in the simulated browser."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nicegui import ui
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User

from services.wiring import Services
from tests.ui.conftest import sign_in

EMBED = 'nomic-embed-text:latest'


async def upload(user: User, *files: tuple[str, bytes]) -> None:
    element = next(iter(user.find(ui.upload).elements))
    await element.handle_uploads([SmallFileUpload(name=n, content_type='text/plain', _data=d) for n, d in files])


async def ingested_kb(services: Services, owner: int, **kwargs) -> int:
    kb = (await services.knowledge.create_kb(owner, name='Nature', embedding_model=EMBED, **kwargs)).id
    await services.knowledge.upload(
        owner,
        kb,
        [('llamas.md', b'Llamas carry heavy packs across the Andes.'), ('salmon.md', b'Salmon swim upstream.')],
    )
    await services.ingest.wait((await services.ingest.start(owner, kb)).job_id)
    return kb


async def test_create_upload_ingest_with_progress_seen_by_another_viewer(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    await make_account('ada@example.org', 'Ada')
    bob_id = await make_account('bob@example.org', 'Bob', role='instructor')
    await sign_in(user, 'ada@example.org')
    await user.open('/knowledge')
    await user.should_see('No knowledge bases yet')
    user.find(marker='kb-new').click()
    await user.should_see(marker='kb-name', retries=30)
    user.find(marker='kb-name').type('Camelids')
    user.find(marker='kb-model').trigger('update:model-value')  # keep the preselected embedding model
    user.find(marker='kb-create').click()
    await user.should_see('Knowledge base created.', retries=30)
    await user.should_see('No documents yet.', retries=30)
    await upload(user, ('llamas.md', b'# Llamas\n\nLlamas carry packs.'), ('bad.pdf', b'not a pdf at all'))
    await user.should_see('"llamas.md" uploaded.', retries=100)  # the first upload starts the extraction workers
    await user.should_see('named like a PDF', retries=100)
    assert await services.knowledge.list_kbs(bob_id) == []
    kb = (await services.knowledge.list_kbs(1))[0]
    taught = await services.workshops.create(bob_id, 'Class')  # the instructors of the workshop may watch
    await services.knowledge.update_kb(1, kb.id, visibility='workshop', workshop_id=taught.id)
    bob = create_user()
    await sign_in(bob, 'bob@example.org')
    await bob.open(f'/knowledge/{kb.id}')
    await bob.should_see('llamas.md')
    user.find(marker='ingest-start').click()
    await user.should_see('done: 1 embedded', retries=50)
    await bob.should_see('done: 1 embedded', retries=50)  # pushed to every viewer of the knowledge base
    await user.should_see('1 vectors · 384-d · COSINE', retries=30)  # all-minilm, the first embedding model
    user.find(marker='doc-llamas.md').click()
    await user.should_see('Llamas carry packs.', retries=30)


async def test_chunk_preview_updates_with_the_settings(user: User, services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    kb = (await services.knowledge.create_kb(ada, name='Notes', embedding_model=EMBED)).id
    text = ' '.join(f'Sentence {i} about alpacas and wool.' for i in range(200))
    await services.knowledge.upload(ada, kb, [('notes.txt', text.encode())])
    await sign_in(user, 'ada@example.org')
    await user.open(f'/knowledge/{kb}')
    await user.should_see(marker='preview', retries=100)  # the page builds its lists after it opens (a busy machine)
    user.find(marker='preview').click()
    await user.should_see('chunk(s)', retries=30)
    before = next(iter(user.find(marker='preview-summary').elements)).text
    size = next(iter(user.find(marker='preview-size').elements))
    size.set_value(10)
    await user.should_see('Chunk size must be between 32 and 8192', retries=30)
    size.set_value(96)
    for _ in range(50):
        after = next(iter(user.find(marker='preview-summary').elements)).text
        if after:
            break
        await asyncio.sleep(0.1)
    assert int(after.split()[0]) > int(before.split()[0]), (before, after, size.value)


async def test_embeddings_playground_heatmap_and_neighbours(user: User, services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    await ingested_kb(services, ada)
    await sign_in(user, 'ada@example.org')
    await user.open('/embeddings')
    model_b = next(iter(user.find(marker='model-b').elements))
    model_b.set_value('all-minilm:latest')
    user.find(marker='embed-run').click()
    await user.should_see(marker='embed-done', retries=30)
    charts = list(user.find(ui.echart).elements)
    assert len(charts) == 2 and charts[1].options['series'][0]['type'] == 'heatmap'
    assert '384-d' in charts[1].options['title']['text']
    user.find(marker='nn-query').type('Who carries packs?')
    user.find(marker='nn-run').click()
    await user.should_see('llamas.md #0', retries=30)


async def test_rag_create_ask_cited_answer_and_retrieval_panel(user: User, services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    await ingested_kb(services, ada)
    await sign_in(user, 'ada@example.org')
    await user.open('/rag')
    user.find(marker='rag-new').click()
    user.find(marker='rag-name').type('Nature QA')
    next(iter(user.find(marker='rag-chat').elements)).set_value('llama3.2:latest')
    next(iter(user.find(marker='rag-template').elements)).set_value('{context}\n\nQuestion: {question}')
    user.find(marker='rag-create').click()
    await user.should_see('RAG system created.', retries=30)
    await user.should_see('Retrieval', retries=30)
    user.find(marker='question').type('Who carries heavy packs across the Andes?')
    user.find(marker='ask').click()
    await user.should_see('[1] llamas.md', retries=50)
    await user.should_see('rank 1 of top-k 4', retries=30)
    user.find(marker='cite-1').click()
    await user.should_see('Llamas carry heavy packs across the Andes.', retries=30)
    activity = await services.activity.query(action='rag_query')
    assert activity[0].details['retrieved'] >= 1 and activity[0].latency_ms > 0


async def test_rag_evaluation_from_the_page(user: User, services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    kb = await ingested_kb(services, ada)
    rag = await services.rag.create(ada, name='QA', kb_ids=[kb], chat_model='llama3.2:latest', top_k=1)
    await sign_in(user, 'ada@example.org')
    await user.open(f'/rag/{rag.id}')
    user.find(marker='evaluation').click()
    questions = '[{"question": "Who swims upstream?", "expected_document": "salmon.md"}]'
    next(iter(user.find(marker='eval-questions').elements)).set_value(questions)
    user.find(marker='eval-save').click()
    await user.should_see('Question set saved.', retries=30)
    user.find(marker='eval-run').click()
    await user.should_see('QA: hit rate@1 1.00 · MRR 1.00', retries=50)


async def test_other_users_get_not_found_for_private_pages(user: User, services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    await make_account('bob@example.org', 'Bob')
    kb = await ingested_kb(services, ada)
    rag = await services.rag.create(ada, name='Secret QA', kb_ids=[kb], chat_model='llama3.2:latest')
    await sign_in(user, 'bob@example.org')
    await user.open(f'/knowledge/{kb}')
    await user.should_see('Knowledge base not found.')
    await user.open(f'/rag/{rag.id}')
    await user.should_see('RAG system not found.')
    await user.open('/rag')
    await user.should_not_see('Secret QA')
    await user.open('/knowledge')
    await user.should_see('No knowledge bases yet')
