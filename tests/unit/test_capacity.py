"""The capacity forecast's queueing model (M/M/c, Erlang C) against known values and an independent formula."""

from __future__ import annotations

import math

import pytest

from services.workshops.capacity import (
    HostSpeed,
    erlang_c,
    forecast,
    max_attendees,
    mean_wait,
    service_time,
    wait_quantile,
)


def erlang_c_by_the_book(c: int, a: float) -> float:
    """The textbook formula with factorials (fine for small c): an independent check of the stable recursion."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize(
    ('c', 'a', 'expected'),
    [
        (1, 0.5, 0.5),  # M/M/1: the chance to wait is the utilisation
        (1, 0.9, 0.9),
        (2, 1.0, 1 / 3),
        (10, 8.0, 0.409180),  # Erlang C tables: 10 agents, 8 Erlangs -> 40.9 %
        (12, 10.0, 0.449388),  # 12 agents, 10 Erlangs -> 44.9 %
    ],
)
def test_erlang_c_known_values(c: int, a: float, expected: float) -> None:
    assert erlang_c(c, a) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(('c', 'a'), [(3, 2.5), (5, 4.5), (8, 1.0), (20, 17.3), (50, 45.0)])
def test_erlang_c_matches_the_factorial_formula(c: int, a: float) -> None:
    assert erlang_c(c, a) == pytest.approx(erlang_c_by_the_book(c, a), rel=1e-9)


def test_erlang_c_edges() -> None:
    assert erlang_c(4, 0) == 0.0  # nobody asks: nobody waits
    assert erlang_c(4, 4) == 1.0  # saturated: everybody waits
    assert erlang_c(4, 7.5) == 1.0
    assert erlang_c(0, 1) == 1.0
    assert erlang_c(200, 150) < erlang_c(200, 190) < 1  # large c does not overflow


def test_mm1_waiting_times() -> None:
    # M/M/1 with λ = 0.5/s, μ = 1/s: P(W > t) = 0.5·e^(−0.5 t); mean 1 s; p95 = ln(10)/0.5 = 4.605 s
    assert mean_wait(1, 0.5, 1.0) == pytest.approx(1.0)
    assert wait_quantile(1, 0.5, 1.0) == pytest.approx(math.log(10) / 0.5)
    assert wait_quantile(1, 0.5, 1.0, p=0.5) == 0.0  # half never wait: the median wait is zero
    assert wait_quantile(1, 1.0, 1.0) == math.inf and mean_wait(1, 2.0, 1.0) == math.inf


def test_mmc_p95_against_the_definition() -> None:
    c, lam, mu = 10, 8.0, 1.0
    t = wait_quantile(c, lam, mu)
    assert erlang_c(c, lam / mu) * math.exp(-(c * mu - lam) * t) == pytest.approx(0.05)
    assert t == pytest.approx(math.log(0.409180 / 0.05) / 2, abs=1e-4)  # ≈ 1.051 s


def test_service_time_pools_hosts() -> None:
    # one host, 4 slots, 40 tokens/s, 0.3 s to the first token: 200 tokens take 0.3 + 5 = 5.3 s
    assert service_time([HostSpeed(slots=4, tokens_per_s=40, ttft_s=0.3)], 200) == (4, pytest.approx(5.3))
    # two hosts, 2 slots each, 5 s and 10 s per answer: 2/5 + 2/10 = 0.6 answers/s from 4 slots -> 1/μ = 6.67 s
    slots, s = service_time(
        [HostSpeed(slots=2, tokens_per_s=40, ttft_s=0), HostSpeed(slots=2, tokens_per_s=20, ttft_s=0)], 200
    )
    assert slots == 4 and s == pytest.approx(4 / 0.6)
    assert service_time([], 200)[0] == 0
    assert service_time([HostSpeed(slots=4, tokens_per_s=0, ttft_s=0)], 200)[0] == 0


def test_forecast_verdicts_and_message() -> None:
    host = [HostSpeed(slots=4, tokens_per_s=40, ttft_s=0.3)]  # S = 5.3 s, 4 slots
    calm = forecast('llama3.2', 10, host)
    assert calm is not None and calm.verdict == 'ok' and calm.p95_wait_s <= 5
    assert calm.arrival_per_s == pytest.approx(10 / 60) and calm.load == pytest.approx(10 / 60 * 5.3)
    assert 'With 10 attendee(s) each asking about once a minute for ~200 tokens' in calm.message
    assert 'Add a host' not in calm.message
    idle = forecast('llama3.2', 1, host)
    assert idle is not None and 'expect no wait at p95 for llama3.2' in idle.message

    busy = forecast('llama3.2', 30, host)
    assert busy is not None and busy.verdict == 'tight'
    assert busy.p95_wait_s == pytest.approx(wait_quantile(4, 0.5, 1 / 5.3))
    assert f'expect a wait of about {busy.p95_wait_s:.1f} s at p95' in busy.message
    assert 'Add a host or pick a smaller model.' in busy.message

    over = forecast('llama3.2', 60, host)  # λ·S = 5.3 > 4 slots
    assert over is not None and over.verdict == 'overloaded' and over.p95_wait_s == math.inf
    assert 'cannot keep up' in over.message and 'Add a host or pick a smaller model.' in over.message
    assert forecast('llama3.2', 10, []) is None


def test_max_attendees_is_the_edge_of_the_target() -> None:
    mu = 1 / 5.3
    n = max_attendees(4, mu, 60, 5.0)
    assert wait_quantile(4, n / 60, mu) <= 5.0 < wait_quantile(4, (n + 1) / 60, mu)
    assert forecast('m', 10, [HostSpeed(slots=4, tokens_per_s=40, ttft_s=0.3)]).max_attendees == n
    # more slots serve more people
    assert max_attendees(8, mu, 60, 5.0) > 2 * n
