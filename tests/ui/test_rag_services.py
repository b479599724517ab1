"""RAG systems through the services: retrieval with reasons, cited answers, conversation, evaluation, permissions."""

from __future__ import annotations

import pytest

from services.core.errors import InvalidInput, NotFound
from services.knowledge.rag import DEFAULT_TEMPLATE
from services.wiring import Services

EMBED = 'nomic-embed-text:latest'
CHAT = 'llama3.2:latest'
CONTEXT_FIRST = '{context}\n\nQuestion: {question}'  # the test model echoes the start of the prompt: a cited answer
DOCS = {
    'llamas.md': 'Llamas carry heavy packs across the Andes mountains.',
    'salmon.md': 'Salmon swim upstream to spawn in cold rivers.',
    'volcano.md': 'Volcanoes erupt molten lava and ash.',
}


@pytest.fixture
async def ada(services: Services, make_account) -> int:
    return await make_account('ada@example.org', 'Ada')


@pytest.fixture
async def kb(services: Services, ada: int) -> int:
    kb = (await services.knowledge.create_kb(ada, name='Nature', embedding_model=EMBED)).id
    await services.knowledge.upload(ada, kb, [(n, t.encode()) for n, t in DOCS.items()])
    await services.ingest.wait((await services.ingest.start(ada, kb)).job_id)
    return kb


async def make_rag(services: Services, ada: int, kb: int, **kwargs) -> int:
    values = {'name': 'Nature QA', 'kb_ids': [kb], 'chat_model': CHAT, 'top_k': 2} | kwargs
    return (await services.rag.create(ada, **values)).id


async def test_retrieval_explains_scores_top_k_and_threshold(services: Services, ada: int, kb: int) -> None:
    rag = await make_rag(services, ada, kb, top_k=1, threshold=0.0)
    retrieval = await services.rag.retrieve(ada, rag, 'Which animals carry packs across the Andes?')
    assert retrieval.kept[0].document_name == 'llamas.md' and retrieval.kept[0].number == 1
    dropped = [p for p in retrieval.passages if not p.kept]
    assert dropped and 'beyond top-k 1' in dropped[0].reason
    await services.rag.update(ada, rag, threshold=0.99, top_k=3)
    strict = await services.rag.retrieve(ada, rag, 'Which animals carry packs across the Andes?')
    assert not strict.kept and 'below the threshold 0.99' in strict.passages[0].reason
    assert any('lower the threshold' in n for n in strict.notes)


async def test_answer_streams_with_numbered_citations(services: Services, ada: int, kb: int) -> None:
    rag = await make_rag(services, ada, kb, prompt_template=CONTEXT_FIRST)
    events = [e async for e in services.rag.ask(ada, rag, 'Who carries packs in the Andes?')]
    assert events[0]['type'] == 'retrieval' and events[-1]['type'] == 'done'
    tokens = [e['text'] for e in events if e['type'] == 'token']
    assert len(tokens) > 3 and ''.join(tokens) == events[-1]['answer']
    assert events[-1]['cited'] == [1]
    cited = events[0]['retrieval'].kept[0]
    assert cited.document_name == 'llamas.md' and 'Llamas carry heavy packs' in cited.text
    rows = await services.activity.query(action='rag_query')
    assert rows[0].details['retrieved'] == 2 and rows[0].latency_ms > 0


async def test_default_template_and_validation(services: Services, ada: int, kb: int) -> None:
    info = await services.rag.get(ada, await make_rag(services, ada, kb))
    assert info.prompt_template == DEFAULT_TEMPLATE and info.embedding_model == EMBED
    with pytest.raises(InvalidInput, match='context'):
        await make_rag(services, ada, kb, prompt_template='Just {question}')
    with pytest.raises(InvalidInput, match='Top-k'):
        await make_rag(services, ada, kb, top_k=0)


async def test_conversation_keeps_follow_ups_in_context(services: Services, ada: int, kb: int, ollama_server) -> None:
    rag = await make_rag(services, ada, kb)
    history = [
        {'role': 'user', 'content': 'Tell me about salmon.'},
        {'role': 'assistant', 'content': 'Salmon swim upstream [1].'},
    ]
    events = [e async for e in services.rag.ask(ada, rag, 'Where do they spawn?', history)]
    assert events[0]['retrieval'].kept[0].document_name == 'salmon.md'  # the follow-up searched with its context
    chat = [r for r in ollama_server.requests if r['path'] == '/api/chat'][-1]
    assert [m['role'] for m in chat['body']['messages']] == ['user', 'assistant', 'user']


async def test_metadata_filter_limits_retrieval_to_chosen_documents(services: Services, ada: int, kb: int) -> None:
    docs = {d.name: d.id for d in await services.knowledge.list_documents(ada, kb)}
    rag = await make_rag(services, ada, kb, document_ids=[docs['volcano.md']])
    retrieval = await services.rag.retrieve(ada, rag, 'Llamas carry packs')
    assert {p.document_name for p in retrieval.passages} == {'volcano.md'}


async def test_a_query_model_of_another_dimension_is_refused(services: Services, ada: int, kb: int) -> None:
    rag = await make_rag(services, ada, kb, embedding_model='all-minilm:latest')
    with pytest.raises(InvalidInput, match=r'768-dimensional vectors .* 384-dimensional'):
        await services.rag.retrieve(ada, rag, 'llamas')


async def test_evaluation_metrics_on_a_set_with_known_answers(services: Services, ada: int, kb: int) -> None:
    rag = await make_rag(services, ada, kb, prompt_template=CONTEXT_FIRST, threshold=0.2)
    questions = [
        {
            'question': 'Which animals carry heavy packs?',
            'expected_document': 'llamas.md',
            'expected_keywords': 'llamas',
        },
        {
            'question': 'What swims upstream to spawn?',
            'expected_document': 'salmon.md',
            'expected_keywords': ['salmon'],
        },
        {'question': 'Which animals carry heavy packs?', 'expected_document': 'volcano.md'},  # wrong on purpose
        {'question': 'Tell me about lava', 'expected_keywords': ['penguin']},
    ]
    qset = await services.evals.create_set(ada, rag, 'Basics', questions)
    report = await services.evals.run(ada, qset.id)
    hits = [r.hit for r in report.results]
    assert hits == [True, True, False, None]
    assert [r.reciprocal_rank for r in report.results][:2] == [1.0, 1.0]
    assert report.results[2].reciprocal_rank == 0.0 and report.results[2].retrieved == ['llamas.md']
    assert report.hit_rate == pytest.approx(2 / 3, abs=1e-3)
    assert report.mrr == pytest.approx(2 / 3, abs=1e-3)
    assert [r.keyword_match for r in report.results] == [1.0, 1.0, None, 0.0]
    assert report.keyword_match == pytest.approx(2 / 3, abs=1e-3)
    # compare two configurations side by side on the same set
    loose = await make_rag(services, ada, kb, name='Top-3', top_k=3, prompt_template=CONTEXT_FIRST)
    a, b = await services.evals.compare(ada, qset.id, rag, loose, answers=False)
    assert a.rag_name == 'Nature QA' and b.rag_name == 'Top-3' and b.k == 3
    assert b.results[2].hit is True and b.hit_rate == 1.0 and b.mrr < 1.0  # every document is retrieved, ranked low
    assert len(await services.activity.query(action='rag_eval')) == 3


async def test_another_user_cannot_use_a_private_rag_system_or_attach_a_private_kb(
    services: Services, ada: int, kb: int, make_account
) -> None:
    bob = await make_account('bob@example.org', 'Bob')
    rag = await make_rag(services, ada, kb)
    qset = await services.evals.create_set(ada, rag, 'Set', [{'question': 'llamas?'}])
    for call in (
        services.rag.get(bob, rag),
        services.rag.retrieve(bob, rag, 'llamas'),
        services.rag.update(bob, rag, name='Mine'),
        services.rag.delete(bob, rag),
        services.rag.create(bob, name='Steal', kb_ids=[kb], chat_model=CHAT, embedding_model=EMBED),
        services.evals.create_set(bob, rag, 'Mine', [{'question': 'x'}]),
        services.evals.run(bob, qset.id),
        services.evals.list_sets(bob, rag),
    ):
        with pytest.raises(NotFound):
            await call
    with pytest.raises(NotFound):
        async for _ in services.rag.ask(bob, rag, 'llamas'):
            pass
    assert await services.rag.list_systems(bob) == []
    # Bob's own RAG system cannot smuggle in Ada's documents by id either
    own_kb = (await services.knowledge.create_kb(bob, name='Mine', embedding_model=EMBED)).id
    ada_doc = (await services.knowledge.list_documents(ada, kb))[0].id
    with pytest.raises(NotFound):
        await services.rag.create(bob, name='X', kb_ids=[own_kb], chat_model=CHAT, document_ids=[ada_doc])
