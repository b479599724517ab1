"""Sign-in and join throttles across app processes: two throttles (as two processes would have), each with its own
live bus, on one real Redis. Attack: guesses spread over the processes behind a load balancer."""

from __future__ import annotations

import asyncio

from services.core.bus import LiveBus
from services.core.throttles import Backoff
from tests.redis_server import RedisServer


async def test_failures_on_one_process_slow_the_guesser_on_the_other(redis: RedisServer) -> None:
    buses = [LiveBus(redis.url), LiveBus(redis.url)]
    a, b = Backoff(3, 60), Backoff(3, 60)
    other = Backoff(3, 60)  # another throttle on B: its counts are its own
    a.share(buses[0], 'sign_in_pair')
    b.share(buses[1], 'sign_in_pair')
    other.share(buses[1], 'join_code')
    try:
        for bus in buses:
            await bus.start()
        for i in range(4):  # alternate processes, as a round-robin balancer would
            (a, b)[i % 2].fail('203.0.113.9|ann@example.org')
        await asyncio.sleep(0.3)
        for throttle in (a, b):
            assert throttle.failures('203.0.113.9|ann@example.org') == 4
            assert throttle.retry_after('203.0.113.9|ann@example.org') > 0  # 4 > 3 free: both make the guesser wait
        assert other.failures('203.0.113.9|ann@example.org') == 0
        b.clear('203.0.113.9|ann@example.org')  # the owner signs in on B: cleared on A too
        await asyncio.sleep(0.3)
        assert a.failures('203.0.113.9|ann@example.org') == 0
    finally:
        for bus in buses:
            await bus.stop()
