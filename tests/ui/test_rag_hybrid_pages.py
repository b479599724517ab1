"""Hybrid retrieval in the simulated browser: the retrieval modes compared on the evaluation page (table and chart),
how each passage was found on the RAG page, re-indexing an older knowledge base with its progress."""

from __future__ import annotations

import json

from nicegui import ui
from nicegui.testing import User

from services.wiring import Services
from tests.ui.conftest import sign_in
from tests.ui.test_rag_hybrid import CHAT, DOCS, QUESTION, make_kb


async def test_compare_retrieval_modes_on_the_evaluation_page(user: User, services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    kb = await make_kb(services, ada)
    rag = await services.rag.create(ada, name='Pump QA', kb_ids=[kb], chat_model=CHAT, top_k=1)
    await sign_in(user, 'ada@example.org')
    await user.open(f'/rag/{rag.id}')
    user.find(marker='evaluation').click()
    questions = [
        {'question': QUESTION, 'expected_document': 'codes.md'},
        {'question': 'What does it mean when the light 3 blinks?', 'expected_document': 'faq3.md'},
    ]
    next(iter(user.find(marker='eval-questions').elements)).set_value(json.dumps(questions))
    user.find(marker='eval-save').click()
    await user.should_see('Question set saved.', retries=30)
    user.find(marker='eval-modes').click()
    await user.should_see('Retrieval modes on the same 2 question(s), top-1', retries=60)
    table = next(iter(user.find(marker='eval-modes-table').elements))
    rows = {row['mode']: row for row in table.rows}
    assert list(rows) == ['dense', 'keyword', 'hybrid (rrf)', 'hybrid (rrf) + rerank']
    assert rows['dense']['hit_rate'] == '0.50' and rows['keyword']['hit_rate'] == '1.00'
    assert rows['keyword']['ndcg'] == '1.00'
    chart = next(iter(user.find(marker='eval-modes-chart').elements))
    assert isinstance(chart, ui.echart)
    series = {s['name']: s['data'] for s in chart.options['series']}
    assert series['hit@k'][:2] == [0.5, 1.0] and len(series['MRR']) == len(series['nDCG@k']) == 4


async def test_rag_page_shows_how_each_passage_was_found(user: User, services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    kb = await make_kb(services, ada)
    rag = await services.rag.create(ada, name='Pump QA', kb_ids=[kb], chat_model=CHAT, top_k=2)
    await sign_in(user, 'ada@example.org')
    await user.open(f'/rag/{rag.id}')
    await user.should_see('Dense (vectors)')
    user.find(marker='rag-settings').click()
    user.find(marker='rag-mode').click()
    user.find('Hybrid (both, fused)').click()
    user.find(marker='rag-settings-save').click()
    await user.should_see('Settings saved.', retries=30)
    await user.should_see('Hybrid (both, fused) · RRF k=60', retries=30)
    assert (await services.rag.get(ada, rag.id)).retrieval_mode == 'hybrid'
    user.find(marker='question').type(QUESTION)
    user.find(marker='retrieve').click()
    await user.should_see('hybrid (rrf) · retrieved in', retries=50)
    await user.should_see('keyword #1 · BM25', retries=30)
    await user.should_see('fused 0.0', retries=30)


async def test_reindex_an_older_knowledge_base_from_its_page(user: User, services: Services, make_account) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    kb = await make_kb(services, ada, legacy=True)
    await sign_in(user, 'ada@example.org')
    await user.open(f'/knowledge/{kb}')
    await user.should_see('Not yet: this knowledge base was indexed before keyword search', retries=30)
    user.find(marker='reindex-start').click()
    await user.should_see('BM25 keyword search is on', retries=60)
    job = await services.reindex.latest(ada, kb)
    assert job is not None and job.state == 'done' and job.rows_done == len(DOCS)
    await user.open(f'/knowledge/{kb}')
    await user.should_see('BM25 keyword search is on', retries=30)
    await user.should_not_see(marker='reindex-start')
