"""SSRF guard for HTTP tools: allow-list, address classes, odd URL forms (T6)."""

from __future__ import annotations

import pytest

from services.core.net_guard import AllowEntry, UnsafeURL, check_url, parse

PUBLIC = AllowEntry(host='93.184.215.14')


@pytest.mark.parametrize(
    'url',
    [
        'http://0x7f.1/',
        'http://2130706433/',
        'http://017700000001/',
        'http://0177.0.0.1/',
        'http://127.1/',
        'http://allowed.example@127.0.0.1/',
        'http://user:pw@allowed.example/',
        'file:///etc/passwd',
        'gopher://allowed.example/',
        'http://allowed.example\\@127.0.0.1/',
        'http://exa mple.com/',
    ],
)
def test_odd_url_forms_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL):
        parse(url)


@pytest.mark.parametrize(
    ('url', 'entry'),
    [
        ('http://127.0.0.1:8080/', AllowEntry(host='127.0.0.1')),
        ('http://[::1]/', AllowEntry(host='::1')),
        ('http://169.254.169.254/latest/meta-data/', AllowEntry(host='169.254.169.254')),
        ('http://10.0.0.5/', AllowEntry(host='10.0.0.5')),
        ('http://172.16.3.4/', AllowEntry(host='172.16.3.4')),
        ('http://192.168.1.1/', AllowEntry(host='192.168.1.1')),
        ('http://100.64.0.1/', AllowEntry(host='100.64.0.1')),
        ('http://[fd00::1]/', AllowEntry(host='fd00::1')),
        ('http://[fe80::1]/', AllowEntry(host='fe80::1')),
        ('http://[::ffff:127.0.0.1]/', AllowEntry(host='::ffff:7f00:1')),
        ('http://0.0.0.0/', AllowEntry(host='0.0.0.0')),
        ('http://localhost/', AllowEntry(host='localhost')),  # a name resolving to loopback
    ],
)
async def test_internal_addresses_are_refused_even_when_allow_listed(url: str, entry: AllowEntry) -> None:
    with pytest.raises(UnsafeURL, match='loopback, private or link-local'):
        await check_url(url, [entry])


async def test_hosts_must_be_allow_listed() -> None:
    with pytest.raises(UnsafeURL, match='not on the allow-list'):
        await check_url('http://93.184.215.14/', [])
    with pytest.raises(UnsafeURL, match='not on the allow-list'):
        await check_url('http://93.184.215.14:8080/', [AllowEntry(host='93.184.215.14', port=80)])
    target = await check_url('https://93.184.215.14/a?b=1', [PUBLIC])
    assert target.pinned_url == 'https://93.184.215.14:443/a?b=1'
    assert target.host_header == '93.184.215.14'


async def test_explicit_unsafe_loopback_exception_needs_the_port() -> None:
    entry = AllowEntry(host='127.0.0.1', port=9999, allow_private=True)
    assert (await check_url('http://127.0.0.1:9999/x', [entry])).address == '127.0.0.1'
    with pytest.raises(UnsafeURL, match='not on the allow-list'):
        await check_url('http://127.0.0.1:9998/x', [entry])
    anyport = AllowEntry(host='127.0.0.1', port=None, allow_private=True)
    with pytest.raises(UnsafeURL, match='loopback'):
        await check_url('http://127.0.0.1:9999/x', [anyport])
