"""Boundaries between workshops (issue 14, item 3; threat-model T16, with T1 for the 404s).

An instructor acts only on the workshops they teach (owner or co-instructor); admins everywhere. Olga runs a workshop
and shares a knowledge base and a RAG system with it; Ivan, another instructor, tries to read them (documents, chunks,
search, retrieval, answers), her workshop's activity and its quotas, through the REST API and the services. Every
attempt answers 404, as for an object that does not exist, and nothing changes. Ivan as her co-instructor, and an
admin, may. (Quota boundaries in detail: tests/security/test_quota_boundaries.py.)
"""

from __future__ import annotations

import pytest

from models import ActivityEvent, Quota
from services.core.errors import NotFound
from tests.api.conftest import Account, assert_problem
from tests.api.test_knowledge_api import CHAT, CONTEXT_FIRST, _ingested_kb
from tests.security.test_quota_boundaries import workshop

QUESTION = {'question': 'What erupts lava?'}
SEARCH = '/api/v1/tools/builtin/search_knowledge/call'


@pytest.fixture
async def olga(admin, account) -> Account:
    """Another instructor, with a workshop of her own."""
    return await account('olga@example.org', 'instructor', 'Olga')


async def _shared_kb_and_rag(client, olga: Account, wid: int) -> tuple[int, int, int]:
    """Olga's knowledge base and RAG system, shared with her workshop; (kb id, document id, rag id)."""
    kb = await _ingested_kb(client, olga)
    shared = await client.patch(
        f'/api/v1/knowledge/{kb}', json={'visibility': 'workshop', 'workshop_id': wid}, headers=olga.headers
    )
    assert shared.status_code == 200, shared.text
    body = {
        'name': 'Nature QA',
        'kb_ids': [kb],
        'chat_model': CHAT,
        'top_k': 2,
        'prompt_template': CONTEXT_FIRST,
        'visibility': 'workshop',
        'workshop_id': wid,
    }
    rag = await client.post('/api/v1/rag', json=body, headers=olga.headers)
    assert rag.status_code == 201, rag.text
    docs = await client.get(f'/api/v1/knowledge/{kb}/documents', headers=olga.headers)
    return kb, docs.json()['items'][0]['id'], rag.json()['id']


async def _reads(client, who: Account, kb: int, doc: int, rag: int) -> dict[str, object]:
    """Every read of a shared knowledge base and RAG system; the responses by name."""
    search = {'arguments': {'knowledge_base_id': kb, 'query': 'What erupts lava?', 'top_k': 1}}
    return {
        'kb': await client.get(f'/api/v1/knowledge/{kb}', headers=who.headers),
        'documents': await client.get(f'/api/v1/knowledge/{kb}/documents', headers=who.headers),
        'document': await client.get(f'/api/v1/knowledge/{kb}/documents/{doc}', headers=who.headers),
        'ingest': await client.get(f'/api/v1/knowledge/{kb}/ingest', headers=who.headers),
        'rag': await client.get(f'/api/v1/rag/{rag}', headers=who.headers),
        'retrieve': await client.post(f'/api/v1/rag/{rag}/retrieve', json=QUESTION, headers=who.headers),
        'ask': await client.post(f'/api/v1/rag/{rag}/ask', json=QUESTION, headers=who.headers),
        'search': await client.post(SEARCH, json=search, headers=who.headers),
    }


async def test_an_instructor_cannot_read_knowledge_shared_with_another_workshop(
    client, services, admin: Account, instructor: Account, olga: Account, alice: Account
) -> None:
    ivan = instructor
    hers = await workshop(client, olga, 'Olgas class', alice)
    await workshop(client, ivan, 'Ivans class')
    kb, doc, rag = await _shared_kb_and_rag(client, olga, hers)

    # the attack, through the REST API: every read answers 404, as for an object that does not exist
    reads = await _reads(client, ivan, kb, doc, rag)
    for name, response in reads.items():
        if name == 'search':  # a tool call that fails answers ok=false, as in the tool console
            assert response.status_code == 200 and not response.json()['ok'], response.text
            assert response.json()['error'] == 'Knowledge base not found.'
        else:
            assert_problem(response, 404)
    assert (await client.get('/api/v1/knowledge', headers=ivan.headers)).json()['total'] == 0
    assert (await client.get('/api/v1/rag', headers=ivan.headers)).json()['total'] == 0
    # nor can he build on it: a RAG system of his own over her knowledge base, or its chunks and neighbours
    steal = {'name': 'Mine', 'kb_ids': [kb], 'chat_model': CHAT}
    assert_problem(await client.post('/api/v1/rag', json=steal, headers=ivan.headers), 404)
    with pytest.raises(NotFound):
        await services.knowledge.document_chunks(ivan.id, doc)
    with pytest.raises(NotFound):
        await services.embeddings.neighbours(ivan.id, kb, 'lava', 1)
    assert not await ActivityEvent.filter(user_id=ivan.id, action='rag_query').exists()

    # legitimate use: the attendee of that workshop, its owner, an admin, and Ivan once he co-teaches it
    for who in (alice, olga, admin):
        for name, response in (await _reads(client, who, kb, doc, rag)).items():
            assert response.status_code == 200, (who.email, name, response.text)
    await services.workshops.add_co_instructor(olga.id, hers, ivan.email)
    for name, response in (await _reads(client, ivan, kb, doc, rag)).items():
        assert response.status_code == 200, (name, response.text)
        if name == 'search':
            assert response.json()['ok'], response.text
    assert (await client.get('/api/v1/knowledge', headers=ivan.headers)).json()['total'] == 1
    await services.workshops.remove_co_instructor(olga.id, hers, ivan.id)
    assert_problem(await client.get(f'/api/v1/knowledge/{kb}', headers=ivan.headers), 404)


async def test_an_instructor_cannot_read_another_workshops_activity(
    client, services, admin: Account, instructor: Account, olga: Account, alice: Account, bob: Account
) -> None:
    ivan = instructor
    hers = await workshop(client, olga, 'Olgas class', alice)
    mine = await workshop(client, ivan, 'Ivans class', bob)
    for who in (alice, bob):  # one chat each, recorded in their workshop
        chat = {'model': 'llama3.2', 'messages': [{'role': 'user', 'content': 'Hello'}]}
        assert (await client.post('/api/v1/chat', json=chat, headers=who.headers)).status_code == 200
    assert await ActivityEvent.filter(workshop_id=hers).exists()

    # the attack: her workshop's activity, by workshop or by her attendee; 404 as for a workshop that does not exist
    assert_problem(await client.get(f'/api/v1/activity?workshop_id={hers}', headers=ivan.headers), 404, 'workshop')
    assert_problem(await client.get('/api/v1/activity?workshop_id=9999', headers=ivan.headers), 404, 'workshop')
    assert_problem(await client.get(f'/api/v1/activity?user_id={alice.id}', headers=ivan.headers), 404, 'user')
    assert_problem(await client.get(f'/api/v1/workshops/{hers}/activity', headers=ivan.headers), 404)
    assert_problem(await client.get(f'/api/v1/workshops/{hers}/export', headers=ivan.headers), 404)
    # unfiltered, he sees only his own workshop's rows and his own
    everything = (await client.get('/api/v1/activity?limit=200', headers=ivan.headers)).json()['items']
    assert everything and all(row['user_id'] in (bob.id, ivan.id) for row in everything)
    assert not any(row.get('workshop_id') == hers for row in everything)

    # legitimate use: his own workshop, its attendee; an admin reads hers; so does Ivan as her co-instructor
    own = await client.get(f'/api/v1/activity?workshop_id={mine}', headers=ivan.headers)
    assert own.status_code == 200 and own.json()['total'] >= 1
    assert (await client.get(f'/api/v1/activity?user_id={bob.id}', headers=ivan.headers)).json()['total'] >= 1
    admins = await client.get(f'/api/v1/activity?workshop_id={hers}', headers=admin.headers)
    assert admins.status_code == 200 and admins.json()['total'] >= 1
    await services.workshops.add_co_instructor(olga.id, hers, ivan.email)
    co = await client.get(f'/api/v1/activity?workshop_id={hers}', headers=ivan.headers)
    assert co.status_code == 200 and co.json()['total'] == admins.json()['total']
    assert (await client.get(f'/api/v1/activity?user_id={alice.id}', headers=ivan.headers)).status_code == 200


async def test_an_instructor_cannot_set_platform_wide_or_other_workshops_quotas(
    client, instructor: Account, olga: Account, alice: Account
) -> None:
    ivan = instructor
    hers = await workshop(client, olga, 'Olgas class', alice)
    before = await Quota.all().count()
    # a quota for one person applies platform-wide: admins only (403, with what to do instead)
    body = {'user_id': alice.id, 'max_requests': 1}
    assert_problem(await client.post('/api/v1/quotas', json=body, headers=ivan.headers), 403, 'Only admins')
    assert_problem(
        await client.post('/api/v1/quotas', json={'workshop_id': hers, 'max_requests': 1}, headers=ivan.headers), 404
    )
    assert_problem(await client.post(f'/api/v1/quotas/workshops/{hers}/session', headers=ivan.headers), 404)
    assert await Quota.all().count() == before
    mine = await client.post('/api/v1/quotas', json={'workshop_id': hers, 'max_requests': 1}, headers=olga.headers)
    assert mine.status_code == 200, mine.text
