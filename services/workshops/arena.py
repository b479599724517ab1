"""The blind arena of a workshop: one prompt, two models shown as A and B, a vote, then the names; and the class
leaderboard (Elo) built from the stored votes.

Mixed into `WorkshopService`. The instructor picks the arena models (two or more of the workshop's allowed models);
an attendee's battle draws the pair with the fewest battles so far (ties broken at random) in a random order. Both
answers go through the one model-call path with the attendee as caller (their quota, their concurrent-call limit,
the workshop's allowed models). Nothing handed to the page before the vote names a model: error messages are blinded
too. A vote is set once (an atomic update), on the voter's own battle only; each vote publishes the recomputed
leaderboard (`_apply('arena', ...)`) to every page showing it, on every app process.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import logging
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from nicegui import Event, background_tasks

from models import ArenaBattle, WorkshopArena
from services.core import actions
from services.core.errors import Conflict, InvalidInput, NotFound, ServiceError
from services.core.i18n import N_
from services.core.membership import full_name
from services.models.callers import Purpose
from services.models.errors import OllamaError
from services.workshops.session import WorkshopSession

log = logging.getLogger(__name__)

VOTES = {'a': N_('A is better'), 'b': N_('B is better'), 'tie': N_('Tie'), 'bad': N_('Both are bad')}
SCORE_A = {'a': 1.0, 'b': 0.0, 'tie': 0.5, 'bad': 0.5}  # both bad counts as a tie (as in Chatbot Arena)
ELO_K = 32.0
ELO_START = 1000.0
MAX_PROMPT_CHARS = 8000


@dataclass(kw_only=True, slots=True)
class Rating:
    rank: int
    model: str
    rating: int
    battles: int
    wins: int
    losses: int
    ties: int
    both_bad: int


@dataclass(kw_only=True, slots=True)
class Battle:
    """A battle as its attendee sees it before voting: no model names."""

    id: int
    prompt: str
    answer_a: str | None
    answer_b: str | None


@dataclass(kw_only=True, slots=True)
class Reveal:
    battle_id: int
    vote: str
    model_a: str
    model_b: str


def elo(votes: list[tuple[str, str, str]], models: list[str] = (), *, k: float = ELO_K) -> list[Rating]:
    """Ratings from (model_a, model_b, vote) in the order the votes were cast: every model starts at 1000; the
    expected score of A is 1 / (1 + 10^((R_b - R_a) / 400)); both move by k times (score - expected). Deterministic:
    the same votes give the same table (ties in rating ordered by name)."""
    ratings = {m: ELO_START for m in models}
    counts: dict[str, Counter] = {m: Counter() for m in models}
    for model_a, model_b, vote in votes:
        ra, rb = ratings.setdefault(model_a, ELO_START), ratings.setdefault(model_b, ELO_START)
        expected = 1 / (1 + 10 ** ((rb - ra) / 400))
        score = SCORE_A[vote]
        ratings[model_a] = ra + k * (score - expected)
        ratings[model_b] = rb - k * (score - expected)
        for model, won, lost in ((model_a, 'a', 'b'), (model_b, 'b', 'a')):
            c = counts.setdefault(model, Counter())
            c['battles'] += 1
            c['wins'] += vote == won
            c['losses'] += vote == lost
            c['ties'] += vote == 'tie'
            c['both_bad'] += vote == 'bad'
    ordered = sorted(ratings, key=lambda m: (-ratings[m], m))
    return [
        Rating(rank=i, model=m, rating=round(ratings[m]), battles=counts[m]['battles'], wins=counts[m]['wins'],
               losses=counts[m]['losses'], ties=counts[m]['ties'], both_bad=counts[m]['both_bad'])
        for i, m in enumerate(ordered, start=1)
    ]  # fmt: skip


def leaderboard_csv(board: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    fields = ['rank', 'model', 'rating', 'battles', 'wins', 'losses', 'ties', 'both_bad']
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction='ignore')
    writer.writeheader()
    for row in board:
        writer.writerow({**row, 'model': _cell(row['model'])})
    return out.getvalue()


def _cell(text: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection)."""
    return f"'{text}" if text[:1] in ('=', '+', '-', '@', '\t', '\r') else text


def _blind(message: str, models: list[str]) -> str:
    """An error sentence with the names of the battle's models taken out."""
    for model in sorted(models, key=len, reverse=True):
        for name in {model, model.removesuffix(':latest')}:
            message = re.sub(re.escape(name), 'this model', message, flags=re.IGNORECASE)
    return message


class ArenaMixin(WorkshopSession):
    def __init__(self, **kwargs: Any) -> None:
        self._arena_events: dict[int, Event[list[dict[str, Any]]]] = {}
        self.arena_rng = random.Random()
        super().__init__(**kwargs)

    def arena_event(self, workshop_id: int) -> Event[list[dict[str, Any]]]:
        """Emitted with the new leaderboard (rows as dicts) whenever a vote or the arena models change."""
        event = self._arena_events.get(workshop_id)
        if event is None:
            event = self._arena_events[workshop_id] = Event()
        return event

    def _live_arena(self, payload: dict[str, Any]) -> None:
        event = self._arena_events.get(payload['workshop_id'])
        if event is not None:
            event.emit(payload['board'])

    def _live_gap(self) -> None:
        """Votes may have been missed (Redis reconnected): open leaderboards get theirs again from the database."""
        super()._live_gap()
        for workshop_id, event in list(self._arena_events.items()):
            if event.callbacks:
                background_tasks.create(self._reread_board(workshop_id), name='arena-gap')

    async def _reread_board(self, workshop_id: int) -> None:
        self._live_arena({'workshop_id': workshop_id, 'board': [asdict(r) for r in await self._board(workshop_id)]})

    # ----- settings (instructors) ----------------------------------------------------------------------------------
    async def arena_models(self, actor_id: int, workshop_id: int) -> tuple[list[str], list[str]]:
        """The arena models and the models they may be picked from (the workshop's allowed ones; managers only)."""
        _, workshop = await self._manage(actor_id, workshop_id)
        allowed = sorted({full_name(m) for m in workshop.allowed_models or []})
        return await self._arena_models(workshop_id), allowed

    async def set_arena_models(self, actor_id: int, workshop_id: int, models: list[str]) -> list[str]:
        _, workshop = await self._manage(actor_id, workshop_id)
        picked = sorted({full_name(m) for m in models or [] if m and m.strip()})
        if len(picked) < 2:
            raise InvalidInput(N_('Pick at least two different models for the arena.'))
        allowed = {full_name(m) for m in workshop.allowed_models or []}
        if not allowed:
            raise InvalidInput(N_('Set the models attendees may use first: the arena picks from them.'))
        outside = [m for m in picked if m not in allowed]
        if outside:
            raise InvalidInput(
                N_(
                    'Not allowed in this workshop: {outside}. Add them to its allowed models.',
                    outside=', '.join(outside),
                )
            )
        await WorkshopArena.update_or_create(defaults={'models': picked}, workshop_id=workshop_id)
        await self._publish_board(workshop_id)
        return picked

    async def _arena_models(self, workshop_id: int) -> list[str]:
        row = await WorkshopArena.get_or_none(workshop_id=workshop_id).values('models')
        return list((row or {}).get('models') or [])

    # ----- battles (attendees) -------------------------------------------------------------------------------------
    async def arena_start(self, actor_id: int, workshop_id: int, prompt: str) -> Battle:
        """A new battle for this attendee's prompt: two arena models picked and checked (quota, allowed models)."""
        user, workshop, _ = await self._member(actor_id, workshop_id)
        self._require_live(workshop)
        prompt = (prompt or '').strip()
        if not prompt:
            raise InvalidInput(N_('Type a prompt for the two models.'))
        if len(prompt) > MAX_PROMPT_CHARS:
            raise InvalidInput(
                N_(
                    'The prompt is too long (at most {MAX_PROMPT_CHARS:,} characters).',
                    MAX_PROMPT_CHARS=MAX_PROMPT_CHARS,
                )
            )
        models = await self._arena_models(workshop_id)
        if len(models) < 2:
            raise Conflict(N_('The arena is not open yet: the instructor has not picked its models.'))
        model_a, model_b = await self._pair(workshop_id, models)
        caller = await self.calls.caller(user.id)
        try:
            for model in (model_a, model_b):  # refuse the whole battle up front
                await self.calls.admit(caller, Purpose.SIDE_BY_SIDE, model)
        except (ServiceError, OllamaError) as exc:
            exc.message = _blind(exc.message, [model_a, model_b])
            exc.args = (exc.message,)
            raise
        row = await ArenaBattle.create(
            workshop_id=workshop_id, user_id=user.id, prompt=prompt, model_a=model_a, model_b=model_b
        )
        return Battle(id=row.id, prompt=prompt, answer_a=None, answer_b=None)

    async def _pair(self, workshop_id: int, models: list[str]) -> tuple[str, str]:
        """The pair of arena models with the fewest battles in this workshop (ties at random), in a random order."""
        so_far = await ArenaBattle.filter(workshop_id=workshop_id).values_list('model_a', 'model_b')
        counts = Counter(frozenset(pair) for pair in so_far)
        pairs = list(itertools.combinations(sorted(models), 2))
        fewest = min(counts[frozenset(p)] for p in pairs)
        pair = list(self.arena_rng.choice([p for p in pairs if counts[frozenset(p)] == fewest]))
        self.arena_rng.shuffle(pair)
        return pair[0], pair[1]

    async def _own_battle(self, actor_id: int, workshop_id: int, battle_id: int) -> ArenaBattle:
        await self._member(actor_id, workshop_id)
        battle = await ArenaBattle.get_or_none(id=battle_id, workshop_id=workshop_id, user_id=actor_id)
        if battle is None:
            log.warning('user %s refused: arena battle %s is not theirs', actor_id, battle_id)
            raise NotFound(N_('No such battle.'))
        return battle

    async def arena_answer(
        self, actor_id: int, workshop_id: int, battle_id: int, side: str, on_wait: Callable[[int], None] | None = None
    ) -> AsyncIterator[str]:
        """Stream the answer of side 'a' or 'b' as text pieces; it is stored when it ends (also when it fails: the
        blinded error becomes the answer). An answer that is already stored comes back whole."""
        if side not in ('a', 'b'):
            raise InvalidInput(N_('A battle has two sides: a and b.'))
        battle = await self._own_battle(actor_id, workshop_id, battle_id)
        stored = battle.answer_a if side == 'a' else battle.answer_b
        if stored is not None:
            yield stored
            return
        model = battle.model_a if side == 'a' else battle.model_b
        names = [battle.model_a, battle.model_b]
        messages = [{'role': 'user', 'content': battle.prompt}]
        content: list[str] = []
        error: str | None = None
        tokens, started = 0, time.perf_counter()
        stream = None
        try:
            stream = await self.calls.chat_stream(
                await self.calls.caller(actor_id), Purpose.SIDE_BY_SIDE, model=model, messages=messages, on_wait=on_wait
            )
            async for part in stream:
                text = part.message.content or ''
                if part.done:
                    tokens = (part.prompt_eval_count or 0) + (part.eval_count or 0)
                if text:
                    content.append(text)
                    yield text
        except (ServiceError, OllamaError) as exc:
            error = _blind(exc.message, names)
            yield f'(no answer: {error})'
        finally:
            answer = ''.join(content) if error is None else f'{"".join(content)}(no answer: {error})'
            saving = asyncio.ensure_future(self._store_answer(battle, side, model, answer, tokens, started, error))
            try:
                if stream is not None:
                    await stream.aclose()
            finally:
                await asyncio.shield(saving)

    async def _store_answer(
        self, battle: ArenaBattle, side: str, model: str, answer: str, tokens: int, started: float, error: str | None
    ) -> None:
        await ArenaBattle.filter(id=battle.id).update(**{f'answer_{side}': answer})
        await self.activity.record(
            battle.user_id,  # type: ignore[attr-defined]
            actions.ARENA_ANSWER,
            workshop_id=battle.workshop_id,  # type: ignore[attr-defined]
            model=model,
            tokens=tokens or None,
            latency_ms=(time.perf_counter() - started) * 1000,
            error=error,
            battle_id=battle.id,
            side=side,
        )

    async def arena_vote(self, actor_id: int, workshop_id: int, battle_id: int, vote: str) -> Reveal:
        """The attendee's one vote on their battle; then the names are theirs to see."""
        if vote not in VOTES:
            raise InvalidInput(N_('Vote A, B, tie or both bad.'))
        battle = await self._own_battle(actor_id, workshop_id, battle_id)
        if battle.vote is None and (battle.answer_a is None or battle.answer_b is None):
            raise Conflict(N_('Wait until both answers have finished, then vote.'))
        now = datetime.now(UTC)
        if not await ArenaBattle.filter(id=battle_id, vote__isnull=True).update(vote=vote, voted_at=now):
            raise Conflict(N_('You have already voted on this battle. Send a new prompt for another one.'))
        await self.activity.record(
            actor_id, actions.ARENA_VOTE, workshop_id=workshop_id, battle_id=battle_id, vote=vote,
            model_a=battle.model_a, model_b=battle.model_b,
        )  # fmt: skip
        await self._publish_board(workshop_id)
        return Reveal(battle_id=battle_id, vote=vote, model_a=battle.model_a, model_b=battle.model_b)

    async def arena_open_battle(self, actor_id: int, workshop_id: int) -> Battle | None:
        """This attendee's latest battle if it still waits for their vote (a reload keeps it)."""
        await self._member(actor_id, workshop_id)
        row = await ArenaBattle.filter(workshop_id=workshop_id, user_id=actor_id).order_by('-id').first()
        if row is None or row.vote is not None:
            return None
        return Battle(id=row.id, prompt=row.prompt, answer_a=row.answer_a, answer_b=row.answer_b)

    # ----- the leaderboard -----------------------------------------------------------------------------------------
    async def arena_leaderboard(self, actor_id: int, workshop_id: int) -> list[Rating]:
        """Managers and attendees of the workshop."""
        if not await self.can_manage(actor_id, workshop_id):
            await self._member(actor_id, workshop_id)
        return await self._board(workshop_id)

    async def _board(self, workshop_id: int) -> list[Rating]:
        votes = (
            await ArenaBattle.filter(workshop_id=workshop_id, vote__isnull=False)
            .order_by('voted_at', 'id')
            .values_list('model_a', 'model_b', 'vote')
        )
        return elo([tuple(v) for v in votes], await self._arena_models(workshop_id))

    async def _publish_board(self, workshop_id: int) -> None:
        board = [asdict(r) for r in await self._board(workshop_id)]
        self._apply('arena', workshop_id=workshop_id, board=board)

    async def arena_export(self, actor_id: int, workshop_id: int) -> dict[str, Any]:
        """The leaderboard and the votes (models and vote only: no prompts, answers or names; managers only)."""
        _, workshop = await self._manage(actor_id, workshop_id)
        battles = (
            await ArenaBattle.filter(workshop_id=workshop_id, vote__isnull=False)
            .order_by('voted_at', 'id')
            .values('id', 'model_a', 'model_b', 'vote', 'voted_at')
        )
        return {
            'workshop': {'id': workshop.id, 'title': workshop.title},
            'method': N_(
                'Elo, start {ELO_START:.0f}, K={ELO_K:.0f}, votes in the order cast; both bad counts as a tie',
                ELO_START=ELO_START,
                ELO_K=ELO_K,
            ),
            'models': await self._arena_models(workshop_id),
            'leaderboard': [asdict(r) for r in await self._board(workshop_id)],
            'votes': [{**b, 'voted_at': b['voted_at'].isoformat()} for b in battles],
        }


def export_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


__all__ = ['VOTES', 'ArenaMixin', 'Battle', 'Rating', 'Reveal', 'elo', 'export_json', 'leaderboard_csv']
