"""Caches of one app process dropped when another process changes what they hold: the Ollama hosts, quota rules and
the model catalogue. Two sets of services (as two processes would have), each with its own live bus, on one real
Redis and one database."""

from __future__ import annotations

import asyncio

import pytest

from services.core.audit import AuditService
from services.core.auth import AuthService
from services.core.bus import LiveBus
from services.core.errors import Throttled
from services.core.membership import Membership
from services.core.quotas import QuotaService
from services.models.hosts import HostDirectory
from tests.redis_server import RedisServer


async def test_hosts_and_quota_rules_changed_on_one_process_apply_on_the_other_at_once(
    auth: AuthService, redis: RedisServer
) -> None:
    buses = [LiveBus(redis.url), LiveBus(redis.url)]
    try:
        for bus in buses:
            await bus.start()
        admin = (await auth.signup('ada@example.org', 'Ada', 'correct-horse-42')).id
        ann = (await auth.signup('ann@example.org', 'Ann', 'correct-horse-42')).id
        hosts = [HostDirectory(['http://127.0.0.1:11434'], auth, bus=bus) for bus in buses]
        quotas = [QuotaService(auth, AuditService(auth), Membership(bus), bus=bus) for bus in buses]

        assert await hosts[1].urls() == ['http://127.0.0.1:11434']  # B has read (and cached) the hosts
        await hosts[0].add_host(admin, 'Second', 'http://127.0.0.1:11435', slots=2)  # an admin on A adds one
        await asyncio.sleep(0.3)
        assert await hosts[1].urls() == ['http://127.0.0.1:11434', 'http://127.0.0.1:11435']
        assert await hosts[1].slots_of('http://127.0.0.1:11435') == 2

        await quotas[1].check(ann)  # B has read (and cached) Ann's rules: none
        await quotas[0].set_quota(admin, user_id=ann, max_requests=1)  # on A: one request a day
        await asyncio.sleep(0.3)
        with pytest.raises(Throttled, match='daily request limit'):
            await quotas[1].check(ann, pending=1)  # B knows at once, not after its cache's 10 s
    finally:
        for bus in buses:
            await bus.stop()


async def test_a_token_revoked_or_an_account_deactivated_on_one_process_is_refused_on_the_other(
    auth: AuthService, redis: RedisServer
) -> None:
    from services.core.errors import NotAuthenticated
    from services.core.tokens import TokenService

    buses = [LiveBus(redis.url), LiveBus(redis.url)]
    try:
        for bus in buses:
            await bus.start()
        admin = (await auth.signup('ada@example.org', 'Ada', 'correct-horse-42')).id
        ann = (await auth.signup('ann@example.org', 'Ann', 'correct-horse-42')).id
        # two processes: each its own AuthService (as each process has) on the one database
        auths = [auth, AuthService(min_password_length=10, max_failures=5, window_seconds=60, signup_open_default=True)]
        tokens = [TokenService(a, AuditService(a), bus=bus) for a, bus in zip(auths, buses, strict=True)]
        first = await tokens[0].create(ann, 'notebook')
        second = await tokens[0].create(ann, 'laptop')
        for secret in (first.secret, second.secret):
            assert (await tokens[1].authenticate(secret))[0].id == ann  # B has checked (and believes) both
        await tokens[0].revoke(ann, first.token.id)  # Ann revokes one on A
        await asyncio.sleep(0.3)
        with pytest.raises(NotAuthenticated, match='revoked'):
            await tokens[1].authenticate(first.secret)  # refused on B at once, not after its 10 s
        assert (await tokens[1].authenticate(second.secret))[0].id == ann
        await auths[0].set_active(admin, ann, False)  # an admin deactivates Ann on A
        await asyncio.sleep(0.3)
        with pytest.raises(NotAuthenticated, match='deactivated'):
            await tokens[1].authenticate(second.secret)
    finally:
        for bus in buses:
            await bus.stop()
