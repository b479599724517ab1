"""The capacity forecast of a workshop: how long attendees wait for a free slot, from a simple queueing model.

Pure functions (no I/O), used by the pre-flight panel (`services.workshops.preflight`).

The model: M/M/c (Erlang C)
---------------------------
- **Arrivals.** N attendees each ask about once every `interval_s` seconds (default 60), independently: questions
  arrive as a Poisson stream of rate  λ = N / interval_s  per second.
- **Servers.** A model can answer `c` questions at once: the sum of the generation slots (`OLLAMA_SLOTS`, or the
  host's own number) of every host that has the model.
- **Service time.** One answer of `tokens` tokens (default 200) takes  S = TTFT + tokens / (tokens per second),
  measured by the warm-up call; μ = 1 / S answers per second per slot. Hosts of different speed are pooled: the c
  slots together finish  Σ c_i · μ_i  answers per second, and each slot is taken to run at the mean rate
  μ = Σ c_i · μ_i / c. Service times are taken as exponential (the "M" of M/M/c).
- **Offered load** a = λ · S (Erlangs: how many slots are busy on average); utilisation ρ = a / c. With ρ ≥ 1 the
  queue grows without bound: the room cannot keep up, whatever the wait limit.
- **Probability of waiting** (Erlang C), for a < c::

      C(c, a) = (a^c / c!) · c / (c − a)  /  ( Σ_{k=0}^{c−1} a^k / k!  +  (a^c / c!) · c / (c − a) )

  computed stably through the Erlang B recursion  B_0 = 1,  B_k = a·B_{k−1} / (k + a·B_{k−1}),
  then  C = c·B_c / (c − a·(1 − B_c)).
- **Waiting time** (first come, first served): P(W > t) = C · e^{−(c·μ − λ)·t}. So the mean wait is
  W = C / (c·μ − λ), and the p-quantile (p = 0.95) is  t_p = ln(C / (1 − p)) / (c·μ − λ)  when C > 1 − p, else 0
  (at least p of the questions start at once).

What it leaves out, on purpose: the room serves staff first and people with fewer running calls first (the mean wait
is the same, the spread is smaller for most); bursts (everyone pressing Send when the instructor says "now") wait
longer than a Poisson stream; and several slots of one GPU share it, so each stream is slower than the single warm-up
stream measured here. Read the forecast as optimistic, and as a comparison between setups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from services.core.i18n import N_, Message, joined

DEFAULT_INTERVAL_S = 60.0  # each attendee asks about once a minute
DEFAULT_TOKENS = 200  # ~200 tokens per answer
TARGET_WAIT_S = 5.0  # a p95 wait below this is comfortable
PERCENTILE = 0.95


def erlang_c(c: int, a: float) -> float:
    """The probability that a question has to wait, for c servers and an offered load of a Erlangs (1.0 when a ≥ c:
    everyone waits)."""
    if c <= 0 or a >= c:
        return 1.0
    if a <= 0:
        return 0.0
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return c * b / (c - a * (1 - b))


def wait_quantile(c: int, arrival_rate: float, service_rate: float, p: float = PERCENTILE) -> float:
    """The p-quantile of the waiting time in M/M/c, in seconds: ln(C / (1 − p)) / (c·μ − λ), or 0 when fewer than
    1 − p of the questions wait at all. `math.inf` when the queue is unstable (λ ≥ c·μ)."""
    spare = c * service_rate - arrival_rate
    if spare <= 0:
        return math.inf
    chance = erlang_c(c, arrival_rate / service_rate)
    if chance <= 1 - p:
        return 0.0
    return math.log(chance / (1 - p)) / spare


def mean_wait(c: int, arrival_rate: float, service_rate: float) -> float:
    """The mean waiting time in M/M/c, C / (c·μ − λ), in seconds (`math.inf` when unstable)."""
    spare = c * service_rate - arrival_rate
    if spare <= 0:
        return math.inf
    return erlang_c(c, arrival_rate / service_rate) / spare


@dataclass(kw_only=True, slots=True, frozen=True)
class HostSpeed:
    """One host that has the model: its generation slots and what the warm-up measured there."""

    slots: int
    tokens_per_s: float
    ttft_s: float


@dataclass(kw_only=True, slots=True, frozen=True)
class Forecast:
    model: str
    attendees: int
    interval_s: float
    tokens: int
    slots: int  # c
    service_s: float  # S: the time one answer takes, TTFT + tokens / tokens per second
    arrival_per_s: float  # λ
    load: float  # a = λ·S, in Erlangs
    utilisation: float  # ρ = a / c
    p_wait: float  # C(c, a)
    mean_wait_s: float  # math.inf when the room cannot keep up
    p95_wait_s: float  # math.inf when the room cannot keep up
    verdict: str  # ok | tight | overloaded
    max_attendees: int  # the most attendees with a p95 wait within `target_wait_s`
    target_wait_s: float
    message: str


def service_time(hosts: list[HostSpeed], tokens: int) -> tuple[int, float]:
    """The pooled slots c and the mean service time 1/μ with μ = Σ c_i·μ_i / c (see the module docstring)."""
    usable = [h for h in hosts if h.slots > 0 and h.tokens_per_s > 0]
    slots = sum(h.slots for h in usable)
    if not slots:
        return 0, math.inf
    rate = sum(h.slots / (h.ttft_s + tokens / h.tokens_per_s) for h in usable)  # Σ c_i·μ_i
    return slots, slots / rate


def forecast(
    model: str,
    attendees: int,
    hosts: list[HostSpeed],
    *,
    interval_s: float = DEFAULT_INTERVAL_S,
    tokens: int = DEFAULT_TOKENS,
    target_wait_s: float = TARGET_WAIT_S,
    max_wait_s: float = 30.0,
) -> Forecast | None:
    """The forecast for `attendees` people using `model` on `hosts`; None when no host has a measured speed."""
    slots, service = service_time(hosts, tokens)
    if not slots:
        return None
    attendees = max(0, int(attendees))
    interval_s = max(1.0, float(interval_s))
    tokens = max(1, int(tokens))
    mu = 1 / service
    arrivals = attendees / interval_s
    load = arrivals * service
    p95 = wait_quantile(slots, arrivals, mu)
    verdict = 'ok' if p95 <= target_wait_s else 'tight' if p95 <= max_wait_s else 'overloaded'
    most = max_attendees(slots, mu, interval_s, target_wait_s)
    result = Forecast(
        model=model,
        attendees=attendees,
        interval_s=interval_s,
        tokens=tokens,
        slots=slots,
        service_s=service,
        arrival_per_s=arrivals,
        load=load,
        utilisation=load / slots,
        p_wait=erlang_c(slots, load),
        mean_wait_s=mean_wait(slots, arrivals, mu),
        p95_wait_s=p95,
        verdict=verdict,
        max_attendees=most,
        target_wait_s=target_wait_s,
        message='',
    )
    return _with_message(result, max_wait_s)


def max_attendees(slots: int, service_rate: float, interval_s: float, target_wait_s: float) -> int:
    """The most attendees whose p95 wait stays within `target_wait_s` (the wait grows with N: a binary search below
    the stability limit N < c·μ·interval)."""
    limit = math.ceil(slots * service_rate * interval_s)  # at or above this the queue is unstable
    low, high = 0, max(limit, 0)
    while low < high:
        middle = (low + high + 1) // 2
        if wait_quantile(slots, middle / interval_s, service_rate) <= target_wait_s:
            low = middle
        else:
            high = middle - 1
    return low


def _with_message(f: Forecast, max_wait_s: float) -> Forecast:
    often = (
        Message(N_('once a minute'), {})
        if f.interval_s == 60
        else N_('once every {interval}', interval=_seconds(f.interval_s))
    )
    head = N_(
        'With {attendees} attendee(s) each asking about {often} for ~{tokens} tokens',
        attendees=f.attendees,
        often=often,
        tokens=f.tokens,
    )
    answer = N_('an answer takes ~{duration} on one of {slots} slot(s)', duration=_seconds(f.service_s), slots=f.slots)
    sentences: list[str] = []
    if f.verdict == 'overloaded' and math.isinf(f.p95_wait_s):
        sentences.append(
            N_(
                '{head}, {model} cannot keep up: {answer}, so the slots would need to be busy {utilisation:.0%} of '
                'the time and the queue only grows (calls are refused after {max_wait}).',
                head=head,
                model=f.model,
                answer=answer,
                utilisation=f.utilisation,
                max_wait=_seconds(max_wait_s),
            )
        )
    else:
        wait = (
            Message(N_('no wait'), {})
            if f.p95_wait_s < 0.05
            else N_('a wait of about {duration}', duration=_seconds(f.p95_wait_s))
        )
        sentences.append(
            N_(
                '{head}, expect {wait} at p95 for {model} ({answer}; busy {utilisation:.0%} of the time, '
                '{waiting:.0%} of questions wait).',
                head=head,
                wait=wait,
                model=f.model,
                answer=answer,
                utilisation=f.utilisation,
                waiting=f.p_wait,
            )
        )
        if f.verdict == 'overloaded':
            sentences.append(
                N_(
                    'Calls that wait longer than {max_wait} are refused as "the room is busy".',
                    max_wait=_seconds(max_wait_s),
                )
            )
    if f.verdict != 'ok':
        sentences.append(Message(N_('Add a host or pick a smaller model.'), {}))
    sentences.append(
        N_(
            'This setup serves about {attendees} attendee(s) with a p95 wait under {target}.',
            attendees=f.max_attendees,
            target=_seconds(f.target_wait_s),
        )
    )
    return replace(f, message=joined(sentences))


def _seconds(value: float) -> str:
    if math.isinf(value):
        return Message(N_('forever'), {})
    if value < 10:
        return N_('{seconds:.1f} s', seconds=value)
    if value < 120:
        return N_('{seconds:.0f} s', seconds=value)
    return N_('{minutes:.0f} min', minutes=value / 60)
