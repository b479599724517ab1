"""Boundaries between workshops on the pages (issue 14, items 3 and 4; threat-model T16, with T1 for "not found").

The pages call the same services as the REST API (tests/security/test_workshop_boundaries.py and
test_sharing_boundaries.py attack the routes). Here Ivan, an instructor who does not teach Olga's workshop, opens in
the simulated browser every page that takes her workshop's id or an object shared with it: he is told it does not
exist and sees none of its content. Once she makes him a co-instructor the same pages show it; an admin sees them too.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from nicegui.testing import User

from services.prompts.library import PromptDraft
from services.tools.library import ToolDraft
from services.wiring import Services
from tests.api.conftest import Account
from tests.security.test_quota_boundaries import workshop
from tests.ui.conftest import sign_in

EMBED = 'nomic-embed-text:latest'


@pytest.fixture
async def olga(admin, account) -> Account:
    """An instructor with a workshop of her own."""
    return await account('olga@example.org', 'instructor', 'Olga')


async def _share_everything(services: Services, olga: Account, wid: int) -> dict[str, tuple[str, str]]:
    """Olga's prompt, tool, knowledge base and RAG system, shared with her workshop: page path -> (name, refusal)."""
    share = {'visibility': 'workshop', 'workshop_id': wid}
    draft = PromptDraft(name='Olgas secret prompt', user_template='Hi', **share)
    prompt = await services.prompts.create(olga.id, draft)
    tool = await services.tools.create(
        olga.id,
        ToolDraft(name='olgas_secret_tool', description='Answers 42.', kind='static', config={'response': 42}, **share),
    )
    kb = await services.knowledge.create_kb(olga.id, name='Olgas secret notes', embedding_model=EMBED, **share)
    rag = await services.rag.create(olga.id, name='Olgas secret RAG', kb_ids=[kb.id], chat_model='llama3.2', **share)
    return {
        f'/prompts/{prompt.id}': ('Olgas secret prompt', 'No such prompt'),
        f'/tools/{tool.id}': ('olgas_secret_tool', 'No such tool'),
        f'/knowledge/{kb.id}': ('Olgas secret notes', 'Knowledge base not found'),
        f'/rag/{rag.id}': ('Olgas secret RAG', 'RAG system not found'),
        f'/workshops/{wid}': ('Olgas class', 'No such workshop'),
        f'/workshops/{wid}/dashboard': ('Olgas class', 'No such workshop'),
        f'/workshops/{wid}/summary': ('Olgas class', 'No such workshop'),
    }


async def test_an_instructor_sees_no_page_of_another_workshop(
    user: User,
    create_user: Callable[[], User],
    services: Services,
    client,
    admin: Account,
    instructor: Account,
    olga: Account,
    alice: Account,
) -> None:
    ivan = instructor
    hers = await workshop(client, olga, 'Olgas class', alice)  # live, with an attendee
    pages = await _share_everything(services, olga, hers)

    # the attack: every page answers "not found" and shows nothing of hers
    await sign_in(user, ivan.email)
    for path, (name, refusal) in pages.items():
        await user.open(path)
        await user.should_see(refusal)
        await user.should_not_see(name)
    for path in ('/prompts', '/tools', '/knowledge', '/rag', '/workshops', '/quotas'):  # nor in any list
        await user.open(path)
        await user.should_not_see('Olgas')

    # legitimate use: an admin, and Ivan once he co-teaches her workshop
    boss = create_user()
    await sign_in(boss, admin.email)
    for path, (name, _) in pages.items():
        await boss.open(path)
        await boss.should_see(name)
    await services.workshops.add_co_instructor(olga.id, hers, ivan.email)
    for path, (name, refusal) in pages.items():
        await user.open(path)
        await user.should_see(name)
        await user.should_not_see(refusal)
