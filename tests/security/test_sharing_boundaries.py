"""Publishing into workshops (issue 14, item 4; threat-model T16, with T1/T2).

Sharing a prompt, tool, knowledge base or RAG system with a workshop needs its instructors (owner, co-instructors) or
an admin; an attendee may share only with a workshop they attend, and only where its instructors switched
"attendees may share" on (off by default). Everyone else is told the workshop does not exist (404); an attendee of a
workshop that does not allow it gets 403 with what to do. A refused share creates or changes nothing.
"""

from __future__ import annotations

import pytest
from nicegui.testing import User

from models import KnowledgeBase, Prompt, RagSystem, Tool, Workshop
from services.core.errors import NotFound, PermissionDenied
from services.prompts.library import PromptDraft
from tests.api.conftest import Account, assert_problem
from tests.api.test_knowledge_api import CHAT, EMBED, _make_kb
from tests.security.test_quota_boundaries import workshop
from tests.ui.conftest import sign_in

KINDS = ('prompts', 'tools', 'knowledge', 'rag')


@pytest.fixture
async def olga(admin, account) -> Account:
    """An instructor with a workshop of her own."""
    return await account('olga@example.org', 'instructor', 'Olga')


async def _counts() -> dict[str, int]:
    return {
        'prompts': await Prompt.all().count(),
        'tools': await Tool.all().count(),
        'knowledge': await KnowledgeBase.all().count(),
        'rag': await RagSystem.all().count(),
    }


async def _share_new(client, who: Account, kind: str, wid: int, kb: int | None = None, name: str = 'x'):
    """Create an object of `kind` shared with workshop `wid` through the REST API."""
    share = {'visibility': 'workshop', 'workshop_id': wid}
    body = {
        'prompts': {'name': f'p-{name}', 'user_template': 'Hello'},
        'tools': {'name': f't_{name}', 'description': 'd', 'kind': 'static', 'config': {'response': 1}},
        'knowledge': {'name': f'kb-{name}', 'embedding_model': EMBED},
        'rag': {'name': f'rag-{name}', 'kb_ids': [kb], 'chat_model': CHAT},
    }[kind]
    path = {'prompts': '/api/v1/prompts', 'tools': '/api/v1/tools', 'knowledge': '/api/v1/knowledge'}.get(
        kind, '/api/v1/rag'
    )
    return await client.post(path, json=body | share, headers=who.headers)


async def test_outsiders_cannot_publish_into_a_workshop(
    client, services, admin: Account, instructor: Account, olga: Account, alice: Account, bob: Account
) -> None:
    ivan = instructor
    hers = await workshop(client, olga, 'Olgas class', alice)
    kbs = {who.email: await _make_kb(client, who, name=f'own {who.email}') for who in (alice, bob, ivan, olga, admin)}
    before = await _counts()

    # the attack: an attendee who is not in it, and an instructor who does not teach it: 404, as for no workshop
    for who in (bob, ivan):
        for kind in KINDS:
            assert_problem(await _share_new(client, who, kind, hers, kbs[who.email]), 404, 'No such workshop')
            assert_problem(await _share_new(client, who, kind, 9999, kbs[who.email]), 404, 'No such workshop')
    # an attendee of it, while its instructors have not allowed attendees to share: 403, saying so
    for kind in KINDS:
        assert_problem(await _share_new(client, alice, kind, hers, kbs[alice.email]), 403, 'not allowed attendees')
    assert await _counts() == before

    # turning an existing private object into a share is the same act: refused, unchanged
    prompt = await client.post('/api/v1/prompts', json={'name': 'mine', 'user_template': 'Hi'}, headers=bob.headers)
    assert prompt.status_code == 201, prompt.text
    moved = {'name': 'mine', 'user_template': 'Hi', 'visibility': 'workshop', 'workshop_id': hers}
    assert_problem(await client.put(f'/api/v1/prompts/{prompt.json()["id"]}', json=moved, headers=bob.headers), 404)
    kb_share = {'visibility': 'workshop', 'workshop_id': hers}
    assert_problem(await client.patch(f'/api/v1/knowledge/{kbs[bob.email]}', json=kb_share, headers=bob.headers), 404)
    assert_problem(
        await client.patch(f'/api/v1/knowledge/{kbs[alice.email]}', json=kb_share, headers=alice.headers), 403
    )
    assert (await Prompt.get(id=prompt.json()['id'])).visibility == 'private'
    assert not await KnowledgeBase.filter(workshop_id=hers).exists()
    # the services refuse it too (the pages call them): no route-only check
    with pytest.raises(NotFound):
        await services.prompts.create(
            ivan.id, PromptDraft(name='svc', user_template='x', visibility='workshop', workshop_id=hers)
        )
    with pytest.raises(PermissionDenied):
        await services.prompts.create(
            alice.id, PromptDraft(name='svc', user_template='x', visibility='workshop', workshop_id=hers)
        )

    # legitimate use: its owner, an admin, and Ivan once he co-teaches it
    for who in (olga, admin):
        for kind in KINDS:
            created = await _share_new(client, who, kind, hers, kbs[who.email], name=who.email.split('@')[0])
            assert created.status_code == 201, (who.email, kind, created.text)
    await services.workshops.add_co_instructor(olga.id, hers, ivan.email)
    for kind in KINDS:
        created = await _share_new(client, ivan, kind, hers, kbs[ivan.email], name='ivan')
        assert created.status_code == 201, (kind, created.text)
    # and attendees, once its instructors allow it; someone not in the workshop still may not
    allowed = await client.patch(f'/api/v1/workshops/{hers}', json={'attendees_may_share': True}, headers=ivan.headers)
    assert allowed.status_code == 200 and allowed.json()['attendees_may_share'] is True, allowed.text
    for kind in KINDS:
        created = await _share_new(client, alice, kind, hers, kbs[alice.email], name='alice')
        assert created.status_code == 201, (kind, created.text)
        assert_problem(await _share_new(client, bob, kind, hers, kbs[bob.email], name='bob'), 404)
    # the switch itself belongs to the workshop's instructors
    assert_problem(
        await client.patch(f'/api/v1/workshops/{hers}', json={'attendees_may_share': False}, headers=alice.headers),
        403,
    )
    await services.workshops.remove_co_instructor(olga.id, hers, ivan.id)
    assert_problem(
        await client.patch(f'/api/v1/workshops/{hers}', json={'attendees_may_share': False}, headers=ivan.headers),
        404,
    )
    assert (await Workshop.get(id=hers)).attendees_may_share is True


async def test_attendee_sharing_is_off_by_default_and_switched_in_the_workshop_settings(
    user: User, client, services, olga: Account, alice: Account
) -> None:
    hers = await workshop(client, olga, 'Olgas class', alice)
    assert (await Workshop.get(id=hers)).attendees_may_share is False
    await sign_in(user, olga.email)
    await user.open(f'/workshops/{hers}')
    await user.should_see(marker='ws-attendees-share')
    [switch] = user.find(marker='ws-attendees-share').elements
    assert switch.value is False
    switch.value = True
    user.find(marker='ws-save').click()
    await user.should_see('Saved.')
    assert (await Workshop.get(id=hers)).attendees_may_share is True
    created = await _share_new(client, alice, 'prompts', hers)
    assert created.status_code == 201, created.text
