"""The blind arena and the results gallery as services: Elo from a known sequence, pairing, one vote per battle,
battles and submissions of other people refused, names hidden on the projector unless agreed."""

from __future__ import annotations

import asyncio

import pytest
from nicegui.testing import User

from services.core import actions
from services.core.bus import LiveBus
from services.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from services.wiring import Services
from services.workshops.arena import elo, leaderboard_csv
from services.workshops.service import WorkshopService
from tests.redis_server import RedisServer

ARENA = ['llama3.2', 'qwen3:0.6b']


def test_elo_of_a_known_sequence() -> None:
    """Start 1000, K=32, in the order cast; 'both bad' counts as a tie; worked by hand:
    x>y: 1016/984; x>y: x 1030.53, y 969.47; y=z: y 970.87, z 998.60; x,z both bad: x 1029.07, z 1000.06;
    z<x: x 1043.73, z 985.39."""
    votes = [('x', 'y', 'a'), ('x', 'y', 'a'), ('y', 'z', 'tie'), ('x', 'z', 'bad'), ('z', 'x', 'b')]
    board = elo(votes, ['w'])
    assert [(r.rank, r.model, r.rating) for r in board] == [(1, 'x', 1044), (2, 'w', 1000), (3, 'z', 985),
                                                            (4, 'y', 971)]  # fmt: skip
    x = board[0]
    assert (x.battles, x.wins, x.losses, x.ties, x.both_bad) == (4, 3, 0, 0, 1)
    assert elo(votes, ['w']) == board  # deterministic
    assert [(r.model, r.rating) for r in elo([('x', 'y', 'a')])] == [('x', 1016), ('y', 984)]
    csv_text = leaderboard_csv([{'rank': 1, 'model': '=cmd', 'rating': 1000, 'battles': 0, 'wins': 0, 'losses': 0,
                                 'ties': 0, 'both_bad': 0}])  # fmt: skip
    assert "'=cmd" in csv_text


async def _setup(services: Services, make_account):
    await make_account('admin@example.org', 'Admin')
    teacher = await make_account('teach@example.org', 'Teacher', role='instructor')
    ws = services.workshops
    info = await ws.create(teacher, 'Arena day', allowed_models=[*ARENA, 'llava:7b'])
    await ws.add_step(teacher, info.id, 'Vote', 'Vote in the arena', 'arena_vote')
    await ws.start(teacher, info.id)
    ann = (await ws.join(info.join_code, 'Ann')).user_id
    bob = (await ws.join(info.join_code, 'Bob')).user_id
    return teacher, info, ann, bob


async def _answers(services: Services, user_id: int, workshop_id: int, battle_id: int) -> dict[str, str]:
    out = {}
    for side in 'ab':
        out[side] = ''.join([p async for p in services.workshops.arena_answer(user_id, workshop_id, battle_id, side)])
    return out


async def test_arena_battle_vote_once_and_not_someone_elses(user: User, services: Services, make_account) -> None:
    teacher, info, ann, bob = await _setup(services, make_account)
    ws = services.workshops
    with pytest.raises(Conflict, match='not open yet'):
        await ws.arena_start(ann, info.id, 'Hello')
    with pytest.raises(PermissionDenied):
        await ws.set_arena_models(ann, info.id, ARENA)
    with pytest.raises(InvalidInput, match='at least two'):
        await ws.set_arena_models(teacher, info.id, ['llama3.2', 'llama3.2:latest'])
    with pytest.raises(InvalidInput, match='Not allowed in this workshop: phi3:mini'):
        await ws.set_arena_models(teacher, info.id, ['llama3.2', 'phi3:mini'])
    assert await ws.set_arena_models(teacher, info.id, ARENA) == ['llama3.2:latest', 'qwen3:0.6b']
    assert [r.rating for r in await ws.arena_leaderboard(ann, info.id)] == [1000, 1000]

    battle = await ws.arena_start(ann, info.id, 'Why is the sky blue?')
    with pytest.raises(Conflict, match='Wait until both answers'):
        await ws.arena_vote(ann, info.id, battle.id, 'a')
    with pytest.raises(NotFound):  # another attendee can neither read nor vote on Ann's battle
        await _answers(services, bob, info.id, battle.id)
    answers = await _answers(services, ann, info.id, battle.id)
    assert all(text.startswith('You said: Why is the sky blue') for text in answers.values())
    assert (await ws.arena_open_battle(ann, info.id)).answer_a == answers['a']
    with pytest.raises(NotFound):
        await ws.arena_vote(bob, info.id, battle.id, 'a')
    with pytest.raises(InvalidInput):
        await ws.arena_vote(ann, info.id, battle.id, 'c')
    reveal = await ws.arena_vote(ann, info.id, battle.id, 'a')
    assert {reveal.model_a, reveal.model_b} == {'llama3.2:latest', 'qwen3:0.6b'}
    with pytest.raises(Conflict, match='already voted'):
        await ws.arena_vote(ann, info.id, battle.id, 'b')
    assert await ws.arena_open_battle(ann, info.id) is None
    board = await ws.arena_leaderboard(bob, info.id)
    assert [(r.model, r.rating, r.wins) for r in board] == [(reveal.model_a, 1016, 1), (reveal.model_b, 984, 0)]
    votes = await services.activity.query(user_id=ann, action=actions.ARENA_VOTE)
    assert votes[0].workshop_id == info.id and votes[0].details['vote'] == 'a'
    assert len(await services.activity.query(user_id=ann, action=actions.ARENA_ANSWER)) == 2
    step = ws.live[info.id].steps[0]['id']
    assert ws.live[info.id].attendees[ann].done.get(step) == 'auto'  # the 'voted in the arena' rule

    exported = await ws.arena_export(teacher, info.id)
    assert exported['votes'][0]['vote'] == 'a' and 'prompt' not in exported['votes'][0]
    with pytest.raises(PermissionDenied):
        await ws.arena_export(ann, info.id)


async def test_arena_pairs_are_balanced(user: User, services: Services, make_account) -> None:
    teacher, info, ann, _ = await _setup(services, make_account)
    ws = services.workshops
    await ws.set_arena_models(teacher, info.id, [*ARENA, 'llava:7b'])
    pairs = []
    for _ in range(6):
        battle = await ws.arena_start(ann, info.id, 'Hi')
        row = await _battle_models(battle.id)
        pairs.append(frozenset(row))
    assert sorted(pairs.count(p) for p in set(pairs)) == [2, 2, 2]  # three pairs, each twice


async def _battle_models(battle_id: int) -> tuple[str, str]:
    from models import ArenaBattle

    row = await ArenaBattle.get(id=battle_id)
    return row.model_a, row.model_b


async def test_gallery_submit_edit_show_and_withdraw(user: User, services: Services, make_account) -> None:
    teacher, info, ann, bob = await _setup(services, make_account)
    ws = services.workshops
    step = (await ws.steps(info.id))[0].id
    with pytest.raises(NotFound, match='does not ask'):
        await ws.gallery_submit(ann, info.id, step, 'My answer')
    with pytest.raises(PermissionDenied):
        await ws.set_gallery_ask(ann, info.id, step, 'rag')
    await ws.set_gallery_ask(teacher, info.id, step, 'rag')
    assert await ws.gallery_asks(ann, info.id) == {step: 'rag'}
    with pytest.raises(InvalidInput, match='cites'):
        await ws.gallery_submit(ann, info.id, step, 'Answer without sources')
    mine = await ws.gallery_submit(ann, info.id, step, 'Ollama runs models locally.', 'intro.pdf\n\n faq.md ')
    assert mine.citations == ['intro.pdf', 'faq.md'] and not mine.shown
    await ws.gallery_submit(ann, info.id, step, 'Ollama runs models on your machine.', ['intro.pdf'])  # an edit
    await ws.gallery_submit(bob, info.id, step, 'Bob says hi.', ['faq.md'], show_name=True)
    subs = await ws.gallery_submissions(teacher, info.id, step)
    assert [(s.name, s.text) for s in subs] == [('Ann', 'Ollama runs models on your machine.'), ('Bob', 'Bob says hi.')]
    with pytest.raises(PermissionDenied):
        await ws.gallery_submissions(ann, info.id, step)
    for s in subs:
        await ws.gallery_show(teacher, info.id, s.id, True)
    shown = await ws.gallery_shown(teacher, info.id)
    assert [(s['name'], s['citations']) for s in shown] == [('An attendee', ['intro.pdf']), ('Bob', ['faq.md'])]
    with pytest.raises(Conflict, match='on the projector'):
        await ws.gallery_submit(ann, info.id, step, 'Changed', ['x'])
    with pytest.raises(Conflict, match='on the projector'):
        await ws.gallery_withdraw(ann, info.id, step)
    await ws.gallery_show(teacher, info.id, subs[0].id, False)
    await ws.gallery_withdraw(ann, info.id, step)
    assert await ws.gallery_mine(ann, info.id) == {}
    assert [s['name'] for s in await ws.gallery_shown(teacher, info.id)] == ['Bob']


async def test_leaderboard_and_gallery_reach_the_other_app_processes(
    user: User, services: Services, make_account
) -> None:
    """Two app processes on one database and one Redis: a vote and a shown result on one reach the pages of the
    other through the live bus (what `_apply('arena' | 'gallery', ...)` publishes)."""
    teacher, info, ann, bob = await _setup(services, make_account)
    redis = RedisServer().start()
    one, two = (
        WorkshopService(auth=services.auth, activity=services.activity, membership=services.membership,
                        calls=services.calls, hosts=services.hosts, bus=LiveBus(redis.url))
        for _ in range(2)
    )  # fmt: skip
    boards: list[list[dict]] = []
    galleries: list[list[dict]] = []
    two.arena_event(info.id).subscribe(boards.append)
    two.gallery_event(info.id).subscribe(lambda p: galleries.append(p['shown']))
    await one.bus.start()
    await two.bus.start()
    try:
        await one.set_arena_models(teacher, info.id, ARENA)
        battle = await one.arena_start(ann, info.id, 'Hello')
        await _answers_of(one, ann, info.id, battle.id)
        reveal = await one.arena_vote(ann, info.id, battle.id, 'b')
        await _until(lambda: boards and boards[-1][0]['rating'] == 1016)
        assert boards[-1][0]['model'] == reveal.model_b
        step = (await one.steps(info.id))[0].id
        await one.set_gallery_ask(teacher, info.id, step, 'answer')
        sub = await one.gallery_submit(bob, info.id, step, 'Shown elsewhere', show_name=False)
        await one.gallery_show(teacher, info.id, sub.id, True)
        await _until(lambda: galleries and galleries[-1] == [
            {'id': sub.id, 'step': 'Vote', 'kind': 'answer', 'text': 'Shown elsewhere', 'citations': [],
             'name': 'An attendee'}
        ])  # fmt: skip
        boards.clear()
        galleries.clear()
        two._live_gap()  # as when Redis reconnects: open leaderboards and galleries read theirs again
        await _until(lambda: bool(boards and galleries))
        assert boards[-1][0]['rating'] == 1016 and galleries[-1][0]['id'] == sub.id
    finally:
        await one.bus.stop()
        await two.bus.stop()
        redis.stop()


async def _answers_of(ws, user_id: int, workshop_id: int, battle_id: int) -> None:
    for side in 'ab':
        async for _ in ws.arena_answer(user_id, workshop_id, battle_id, side):
            pass


async def _until(check, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError('condition not met in time')
