"""Hybrid retrieval through the services: keyword (Milvus BM25) and hybrid modes, fusion math, the LLM reranker
through the Ollama test server, re-indexing an older knowledge base without re-embedding, the mode comparison."""

from __future__ import annotations

import pytest
from llama_index.core.schema import NodeWithScore, TextNode

from services.core.errors import Conflict, InvalidInput
from services.knowledge.bases import collection_name
from services.knowledge.retrievers import RetrievalSettings, fuse, parse_scores
from services.wiring import Services

EMBED = 'nomic-embed-text:latest'
CHAT = 'llama3.2:latest'
QUESTION = 'What does error E4471 mean?'
# Ten FAQ entries share the question's words; only one document holds the exact code. With the test server's
# bag-of-words embeddings, vector search ranks the FAQ first; BM25 weighs the rare code far above common words.
DOCS = {f'faq{i}.md': f'What does the warning number {i} mean? What does it mean when the light {i} blinks?'
        for i in range(10)}  # fmt: skip
DOCS['codes.md'] = 'E4471: the pump overheated; let it cool down before restarting.'


@pytest.fixture
async def ada(services: Services, make_account) -> int:
    return await make_account('ada@example.org', 'Ada')


async def make_kb(services: Services, ada: int, *, legacy: bool = False) -> int:
    kb = (await services.knowledge.create_kb(ada, name='Pump manual', embedding_model=EMBED)).id
    if legacy:  # a collection as the platform created them before keyword search: ids, document ids, vectors
        await services.vectors.create_collection(
            collection_name(kb), dimension=768, metric='COSINE', model=EMBED, keyword=False
        )
    await services.knowledge.upload(ada, kb, [(n, t.encode()) for n, t in DOCS.items()])
    await services.ingest.wait((await services.ingest.start(ada, kb)).job_id)
    return kb


async def make_rag(services: Services, ada: int, kb: int, **kwargs) -> int:
    values = {'name': 'Pump QA', 'kb_ids': [kb], 'chat_model': CHAT, 'top_k': 1} | kwargs
    return (await services.rag.create(ada, **values)).id


async def test_keyword_search_finds_the_exact_term_that_dense_misses(services: Services, ada: int) -> None:
    kb = await make_kb(services, ada)
    assert (await services.knowledge.get_kb(ada, kb)).keyword_index  # new knowledge bases have it from the start
    dense = await services.rag.retrieve(ada, await make_rag(services, ada, kb), QUESTION)
    assert dense.kept[0].document_name != 'codes.md' and dense.mode == 'dense'
    keyword = await services.rag.retrieve(ada, await make_rag(services, ada, kb, retrieval_mode='keyword'), QUESTION)
    top = keyword.kept[0]
    assert top.document_name == 'codes.md' and top.keyword_rank == 1 and top.dense_rank is None
    assert top.keyword_score > 0 and 'keyword #1 (BM25' in top.reason and keyword.mode == 'keyword'
    # RRF rewards agreement: the code, found by one retriever only, comes after the FAQ entries found by both
    hybrid = await services.rag.retrieve(ada, await make_rag(services, ada, kb, retrieval_mode='hybrid'), QUESTION)
    codes = next(p for p in hybrid.passages if p.document_name == 'codes.md')
    assert not codes.kept and codes.keyword_rank == 1 and codes.dense_rank is None and codes.found_by == 'keyword'
    assert hybrid.kept[0].found_by == 'both' and 'fused' in hybrid.kept[0].reason and hybrid.mode == 'hybrid (rrf)'
    # weighted towards keywords (0.3 dense, 0.7 keyword), the code comes first
    weighted = await make_rag(services, ada, kb, retrieval_mode='hybrid', fusion='weighted', dense_weight=0.3)
    top = (await services.rag.retrieve(ada, weighted, QUESTION)).kept[0]
    assert top.document_name == 'codes.md' and top.fused_score == pytest.approx(0.7)


def _ranking(kind: str, ids_scores: list[tuple[str, float]]) -> list[NodeWithScore]:
    return [
        NodeWithScore(node=TextNode(id_=i, text='', metadata={f'{kind}_rank': r}), score=s)
        for r, (i, s) in enumerate(ids_scores, 1)
    ]


def test_fusion_math_rrf_and_weighted() -> None:
    dense = _ranking('dense', [('a', 0.9), ('b', 0.8), ('c', 0.5)])
    keyword = _ranking('keyword', [('c', 7.0), ('a', 3.0), ('d', 1.0)])
    rrf = fuse(dense, keyword, method='rrf', k=60)
    scores = {n.node.node_id: n.score for n in rrf}
    assert scores['a'] == pytest.approx(1 / 61 + 1 / 62) and scores['c'] == pytest.approx(1 / 63 + 1 / 61)
    assert scores['b'] == pytest.approx(1 / 62) and scores['d'] == pytest.approx(1 / 63)
    assert [n.node.node_id for n in rrf] == ['a', 'c', 'b', 'd']
    assert rrf[1].node.metadata == {'dense_rank': 3, 'keyword_rank': 1, 'fused_score': round(1 / 63 + 1 / 61, 5)}
    weighted = fuse(
        _ranking('dense', [('a', 0.9), ('b', 0.8), ('c', 0.5)]),
        _ranking('keyword', [('c', 7.0), ('a', 3.0), ('d', 1.0)]),
        method='weighted', dense_weight=0.25,
    )  # fmt: skip
    scores = {n.node.node_id: n.score for n in weighted}
    # dense normalised: a 1, b 0.75, c 0; keyword normalised: c 1, a 1/3, d 0
    assert scores['a'] == pytest.approx(0.25 * 1 + 0.75 / 3) and scores['c'] == pytest.approx(0.75)
    assert scores['b'] == pytest.approx(0.25 * 0.75) and scores['d'] == pytest.approx(0.0)
    assert [n.node.node_id for n in weighted] == ['c', 'a', 'b', 'd']


def test_reranker_replies_are_parsed_robustly() -> None:
    assert parse_scores('{"1": 2, "2": 9}', 2) == [2.0, 9.0]
    assert parse_scores('```json\n{"scores": [3, 4.5]}\n```', 2) == [3.0, 4.5]
    assert parse_scores('Sure! [2] 8 and [1] 3', 3) == [3.0, 8.0, 0.0]
    assert parse_scores('Passage 1: 6\nPassage 2: 1', 2) == [6.0, 1.0]
    assert parse_scores('{"2": 7}', 3) == [0.0, 7.0, 0.0]
    for useless in ('', 'I cannot rate these.', '{"scores": []}', '{"1": true}'):
        assert parse_scores(useless, 2) is None


async def test_rerank_through_the_model_call_path(services: Services, ada: int, ollama_server) -> None:
    kb = await make_kb(services, ada)
    rag = await make_rag(services, ada, kb, retrieval_mode='hybrid', rerank=True, rerank_candidates=4, top_k=2)
    ollama_server.requests.clear()
    retrieval = await services.rag.retrieve(ada, rag, QUESTION)
    chats = [r for r in ollama_server.requests if r['path'] == '/api/chat']
    assert len(chats) == 1 and chats[0]['body']['model'] == CHAT
    prompt = chats[0]['body']['messages'][0]['content']
    assert QUESTION in prompt and '[4]' in prompt and '[5]' not in prompt  # the first 4 candidates are rated
    assert chats[0]['body']['format']['required'] == ['1', '2', '3', '4']
    # the test server answers the schema with 1 for every passage: all rated alike, the fused order kept
    assert [p.rerank_score for p in retrieval.passages[:4]] == [1.0] * 4
    assert all(p.rerank_score is None for p in retrieval.passages[4:])
    assert 'not reranked' in retrieval.passages[4].reason and len(retrieval.kept) == 2
    assert 'rerank 1' in retrieval.kept[0].reason and retrieval.mode == 'hybrid (rrf) + rerank'
    with pytest.raises(InvalidInput, match='Retrieval mode'):
        await make_rag(services, ada, kb, retrieval_mode='fuzzy')
    with pytest.raises(InvalidInput, match='dense weight'):
        await make_rag(services, ada, kb, fusion='weighted', dense_weight=2)


async def test_reindex_gains_keyword_search_without_re_embedding(services: Services, ada: int, ollama_server) -> None:
    kb = await make_kb(services, ada, legacy=True)
    assert not (await services.knowledge.get_kb(ada, kb)).keyword_index
    rag = await make_rag(services, ada, kb, retrieval_mode='keyword')
    before = await services.rag.retrieve(ada, rag, QUESTION)
    assert not before.passages and any('re-index it' in n for n in before.notes)
    seen = []
    services.reindex.progress.subscribe(seen.append)
    ollama_server.requests.clear()
    job = await services.reindex.start(ada, kb)
    with pytest.raises(Conflict, match='already being re-indexed'):
        await services.reindex.start(ada, kb)
    with pytest.raises(Conflict, match='re-indexed'):
        await services.ingest.start(ada, kb)
    done = await services.reindex.wait(job.job_id)
    assert done.state == 'done' and done.rows_done == done.rows_total == len(DOCS) and done.percent == 100
    assert seen[0].rows_total == len(DOCS) and seen[-1].finished
    assert not [r for r in ollama_server.requests if r['path'] in ('/api/embed', '/api/embeddings')]  # no re-embedding
    info = await services.knowledge.get_kb(ada, kb)
    assert info.keyword_index and info.collection == f'{collection_name(kb)}_v2'
    stats = await services.knowledge.collection_stats(ada, kb)
    assert stats.keyword and stats.entities == len(DOCS) and stats.metric == 'COSINE'
    assert not await services.vectors.has_keyword(collection_name(kb))  # the old collection is gone
    after = await services.rag.retrieve(ada, rag, QUESTION)
    assert after.kept[0].document_name == 'codes.md'
    dense = await services.rag.retrieve(ada, rag, QUESTION, settings=RetrievalSettings(mode='dense'))
    assert dense.kept and dense.kept[0].dense_rank == 1  # the copied vectors still answer
    with pytest.raises(Conflict, match='already has keyword search'):
        await services.reindex.start(ada, kb)
    assert (await services.activity.query(action='kb_reindex'))[0].details['rows'] == len(DOCS)


async def test_modes_compared_on_one_question_set(services: Services, ada: int) -> None:
    kb = await make_kb(services, ada)
    rag = await make_rag(services, ada, kb)
    questions = [
        {'question': QUESTION, 'expected_document': 'codes.md'},
        {'question': 'What does it mean when the light 3 blinks?', 'expected_document': 'faq3.md'},
    ]
    saved = await services.evals.create_set(ada, rag, 'Pump', questions)
    reports = await services.evals.compare_modes(ada, saved.id)
    assert [r.mode for r in reports] == ['dense', 'keyword', 'hybrid (rrf)', 'hybrid (rrf) + rerank']
    by_mode = {r.mode: r for r in reports}
    assert by_mode['dense'].hit_rate == 0.5 and by_mode['keyword'].hit_rate == 1.0
    assert by_mode['keyword'].mrr == 1.0 and by_mode['keyword'].ndcg == 1.0
    assert all(r.latency_ms is not None and len(r.results) == 2 for r in reports)
