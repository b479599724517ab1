"""The blind arena and the results gallery in several simulated browsers: attendees vote blind and the projector's
leaderboard follows live; the gallery goes from an attendee's form to the instructor's pick to the projector, with
names hidden unless agreed."""

from __future__ import annotations

import json
from collections.abc import Callable

from nicegui import ui
from nicegui.testing import User

from services.wiring import Services
from tests.ui.conftest import sign_in
from tests.ui.test_workshops import _eventually, _join

NAMES = ('llama3.2', 'qwen3')


async def _workshop(services: Services, make_account):
    await make_account('admin@example.org', 'Admin')
    teacher = await make_account('teach@example.org', 'Teacher', role='instructor')
    ws = services.workshops
    info = await ws.create(teacher, 'Arena day', allowed_models=['llama3.2', 'qwen3:0.6b'])
    await ws.add_step(teacher, info.id, 'Explain Ollama', 'In one sentence')
    await ws.add_step(teacher, info.id, 'Vote', 'Use the arena', 'arena_vote')
    await ws.add_step(teacher, info.id, 'Reflect', 'Tick when done')
    await ws.start(teacher, info.id)
    return teacher, info


def _board(browser: User) -> dict[str, dict]:
    table = next(iter(browser.find(marker='arena-board').elements))
    assert isinstance(table, ui.table)
    return {row['model']: row for row in table.rows}


def _page_text(browser: User) -> str:
    """Everything the page holds: texts, props (values, labels, markdown content) of every element."""
    return ' '.join(
        f'{getattr(e, "text", "")} {json.dumps(e.props, default=str)}' for e in browser.client.elements.values()
    ).lower()


async def _battle(browser: User, workshop_id: int, prompt: str, vote: str) -> str:
    await browser.open(f'/workshops/{workshop_id}/arena')
    browser.find(marker='arena-prompt').type(prompt)
    browser.find(marker='arena-send').click()
    await browser.should_see(marker='vote-a', retries=100)
    answers = [next(iter(browser.find(marker=f'arena-{side}').elements)).content for side in 'ab']
    assert all(a.startswith('You said:') for a in answers), answers
    text = _page_text(browser)
    assert not any(name in text for name in NAMES), 'a model name is on the page before the vote'
    browser.find(marker=f'vote-{vote}').click()
    await browser.should_see('You voted', retries=50)
    reveal = next(iter(browser.find(marker='arena-reveal').elements)).text
    assert 'llama3.2:latest' in reveal and 'qwen3:0.6b' in reveal
    return reveal


async def test_two_attendees_vote_blind_and_the_projector_leaderboard_follows(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    _, info = await _workshop(services, make_account)
    await sign_in(user, 'teach@example.org')
    # the instructor opens the arena with two of the allowed models
    await user.open(f'/workshops/{info.id}/arena')
    user.find(marker='arena-models').click()
    user.find('llama3.2:latest').click()
    user.find('qwen3:0.6b').click()
    user.find(marker='arena-save').click()
    await user.should_see('The arena is open with these models.')
    await user.open(f'/workshops/{info.id}/dashboard?projector=true')
    await user.should_see('Arena leaderboard')
    assert {m: r['rating'] for m, r in _board(user).items()} == {'llama3.2:latest': 1000, 'qwen3:0.6b': 1000}

    ann, bob = create_user(), create_user()
    await _join(ann, info.join_code, 'Ann')
    await _join(bob, info.join_code, 'Bob')
    reveal = await _battle(ann, info.id, 'What is a token?', 'a')
    winner = reveal.split('A was ')[1].split(',')[0]
    await _eventually(lambda: _board(user)[winner]['rating'] == 1016)
    assert _board(user)[winner]['rank'] == 1 and _board(user)[winner]['wins'] == 1

    await _battle(bob, info.id, 'What is a context window?', 'tie')
    await _eventually(lambda: sum(r['battles'] for r in _board(user).values()) == 4)
    assert sorted(r['ties'] for r in _board(user).values()) == [1, 1]
    # the vote completed the arena step automatically, and the attendee's leaderboard follows too
    await ann.open(f'/workshops/{info.id}')
    tick = next(iter(ann.find(marker='tick-1').elements))
    assert tick.value is True
    await ann.open(f'/workshops/{info.id}/arena')
    await ann.should_see(marker='arena-board')  # the rows arrive once the page is connected
    assert sum(r['battles'] for r in _board(ann).values()) == 4
    # exports: managers only
    csv_text = (await user.http_client.get(f'/workshops/{info.id}/arena.csv')).text
    assert csv_text.splitlines()[0] == 'rank,model,rating,battles,wins,losses,ties,both_bad'
    data = (await user.http_client.get(f'/workshops/{info.id}/arena.json')).json()
    assert [v['vote'] for v in data['votes']] == ['a', 'tie']
    assert (await ann.http_client.get(f'/workshops/{info.id}/arena.csv')).status_code == 403


async def test_one_vote_per_battle_on_the_page(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    teacher, info = await _workshop(services, make_account)
    await services.workshops.set_arena_models(teacher, info.id, ['llama3.2', 'qwen3:0.6b'])
    await _join(user, info.join_code, 'Ann')
    await _battle(user, info.id, 'Hello', 'b')
    await user.should_not_see(marker='vote-a')  # the vote buttons are gone until the next prompt
    ann = next(iter(services.workshops.live[info.id].attendees))
    battle = (await services.workshops.arena_start(ann, info.id, 'Again')).id
    await user.open(f'/workshops/{info.id}/arena')  # a reload keeps the open battle
    await user.should_see(marker='vote-bad', retries=100)
    assert next(iter(user.find(marker='arena-prompt').elements)).value == 'Again'
    user.find(marker='vote-bad').click()
    await user.should_see('Both are bad')
    assert (await services.workshops.arena_leaderboard(ann, info.id))[0].battles == 2
    assert battle


async def test_gallery_from_attendee_to_instructor_to_projector(
    user: User, create_user: Callable[[], User], services: Services, make_account
) -> None:
    teacher, info = await _workshop(services, make_account)
    step = (await services.workshops.steps(info.id))[0].id
    ann, bob, projector = create_user(), create_user(), create_user()
    await _join(ann, info.join_code, 'Ann Secretname')
    await _join(bob, info.join_code, 'Bob Proud')
    await ann.should_not_see(marker='gallery-form')
    # the instructor asks for a result on step 1: the open attendee pages show the form live
    await sign_in(user, 'teach@example.org')
    await user.open(f'/workshops/{info.id}/gallery')
    await user.should_see('No submissions yet.')
    await services.workshops.set_gallery_ask(teacher, info.id, step, 'answer')
    await ann.should_see('Submit your result: an answer', retries=50)
    ann.find(marker='gallery-text').type('Ollama runs models locally.')
    ann.find(marker='gallery-submit').click()
    await ann.should_see('Submitted.')
    await user.should_see('Ollama runs models locally.', retries=50)  # the instructor's list follows
    ann.find(marker='gallery-text').clear().type('Ollama runs models on my laptop.')  # an edit before it is shown
    ann.find(marker='gallery-submit').click()
    await user.should_see('Ollama runs models on my laptop.', retries=50)
    await bob.should_see('Submit your result: an answer', retries=50)
    bob.find(marker='gallery-text').type('A local LLM server.')
    bob.find(marker='gallery-show-name').click()
    bob.find(marker='gallery-submit').click()
    await user.should_see('A local LLM server.', retries=50)

    await sign_in(projector, 'teach@example.org')
    await projector.open(f'/workshops/{info.id}/dashboard?projector=true')
    await projector.should_not_see('Results gallery')
    subs = await services.workshops.gallery_submissions(teacher, info.id, step)
    for sub in subs:
        user.find(marker=f'show-{sub.id}').click()
        await projector.should_see(sub.text, retries=50)
    await projector.should_see('Results gallery')
    await projector.should_see('Bob Proud')  # he agreed
    await projector.should_not_see('Ann Secretname')  # she did not
    await projector.should_see('An attendee')
    # once shown, Ann can no longer change it; hidden again, she can withdraw it
    await ann.should_see('Your result is on the projector now', retries=50)
    assert not next(iter(ann.find(marker='gallery-submit').elements)).enabled
    user.find(marker=f'show-{subs[0].id}').click()
    await projector.should_not_see('Ollama runs models on my laptop.', retries=50)
    await ann.should_not_see('Your result is on the projector now', retries=50)
    ann.find(marker='gallery-withdraw').click()
    await ann.should_see('Withdraw your result?')
    ann.find(marker='confirm').click()
    await ann.should_see('Withdrawn.')
    await user.should_not_see('Ollama runs models on my laptop.', retries=50)
    assert [s.name for s in await services.workshops.gallery_submissions(teacher, info.id, step)] == ['Bob Proud']
