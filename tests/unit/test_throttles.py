"""Backoff throttles and the one place that decides a request's client (threat T20, issue 14 item 10)."""

from __future__ import annotations

import pytest

from services.core.client_address import forwarded_client, parse_trusted
from services.core.throttles import SWEEP_EVERY, Backoff


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_grows_after_the_free_failures_and_is_never_a_lock() -> None:
    clock = Clock()
    throttle = Backoff(3, 300, clock=clock)
    for _ in range(3):
        assert throttle.retry_after('k') == 0
        throttle.fail('k')
    waits = []
    for _ in range(9):
        waits.append(throttle.retry_after('k'))
        clock.now += waits[-1]  # wait exactly as long as told, then fail again
        assert throttle.retry_after('k') == 0  # after the wait: allowed to try
        throttle.fail('k')
    assert waits[:5] == [1, 2, 4, 8, 16]
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256]  # a guesser waits longer and longer
    throttle.fail('k')
    throttle.fail('k')
    assert throttle.retry_after('k') <= 300  # never past the window
    assert throttle.retry_after('other') == 0  # a key nobody failed on is never slowed


def test_failures_leave_the_window_and_clear_forgives() -> None:
    clock = Clock()
    throttle = Backoff(2, 60, clock=clock)
    for _ in range(4):
        throttle.fail('k')
    assert throttle.retry_after('k') > 0
    clock.now += 61
    assert throttle.retry_after('k') == 0 and throttle.failures('k') == 0
    throttle.fail('k')
    throttle.fail('k')
    throttle.fail('k')
    throttle.clear('k')
    assert throttle.retry_after('k') == 0


def test_a_spray_of_keys_does_not_grow_memory_without_bound() -> None:
    clock = Clock()
    throttle = Backoff(5, 60, clock=clock)
    for i in range(5000):
        throttle.fail(f'203.0.113.{i}')
        clock.now += 0.1  # 500 s in all: most keys have left the window
    assert len(throttle) <= 600 + SWEEP_EVERY  # the keys still in the window, and those since the last sweep


def scope(peer: str, headers: dict[str, str], kind: str = 'http') -> dict:
    return {
        'type': kind,
        'scheme': 'ws' if kind == 'websocket' else 'http',
        'client': (peer, 5555),
        'headers': [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }


def test_forwarded_headers_count_only_from_trusted_proxies() -> None:
    none, loopback = parse_trusted(''), parse_trusted('127.0.0.1, 10.0.0.0/8')
    forged = scope('127.0.0.1', {'X-Forwarded-For': '198.51.100.7', 'X-Forwarded-Proto': 'https'})
    assert forwarded_client(forged, none) is None  # nobody trusted: loopback's headers are ignored
    assert forwarded_client(forged, loopback) == ('198.51.100.7', 'https')
    stranger = scope('192.0.2.1', {'X-Forwarded-For': '198.51.100.7'})
    assert forwarded_client(stranger, loopback) is None
    # the left part is what the client sent: the right-most address not a trusted proxy is the client
    chain = scope('10.1.1.1', {'X-Forwarded-For': '6.6.6.6, 198.51.100.7, 10.2.2.2'})
    assert forwarded_client(chain, loopback) == ('198.51.100.7', 'http')
    assert forwarded_client(scope('10.1.1.1', {'X-Forwarded-For': 'garbage'}), loopback) == ('10.1.1.1', 'http')
    v6 = scope('10.1.1.1', {'X-Forwarded-For': '[2001:db8::1]:443', 'X-Forwarded-Proto': 'https'}, 'websocket')
    assert forwarded_client(v6, loopback) == ('2001:db8::1', 'wss')


def test_a_wrong_trusted_proxy_setting_is_named() -> None:
    with pytest.raises(ValueError, match=r"'proxy\.example' is not an IP address or network"):
        parse_trusted('10.0.0.0/8, proxy.example')
