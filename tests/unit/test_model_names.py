"""Pure validation rules: model names, chat options, host URLs."""

from __future__ import annotations

import pytest

from services.core.errors import InvalidInput, PermissionDenied
from services.models.hosts import normalise_url
from services.models.names import validate
from services.models.options import validate_format, validate_keep_alive, validate_options


@pytest.mark.parametrize(
    ('name', 'expected'),
    [
        ('llama3.2', 'llama3.2:latest'),
        ('qwen3:0.6b', 'qwen3:0.6b'),
        ('library/phi3:mini', 'library/phi3:mini'),
        ('registry.example.org:5000/team/model:v1', 'registry.example.org:5000/team/model:v1'),
    ],
)
def test_valid_model_names(name: str, expected: str) -> None:
    assert validate(name) == expected


@pytest.mark.parametrize(
    'name', ['', ' ', 'bad name', 'a/b/c/d', 'x:', ':tag', '-lead', 'model@sha256:00', 'a//b', 'm:t/x']
)
def test_invalid_model_names(name: str) -> None:
    with pytest.raises(InvalidInput, match='not a valid model name'):
        validate(name)


def test_options_bounds() -> None:
    assert validate_options({'temperature': '0.7', 'top_k': 40, 'num_ctx': 4096, 'seed': 1, 'stop': ['###']}) == {
        'temperature': 0.7,
        'top_k': 40,
        'num_ctx': 4096,
        'seed': 1,
        'stop': ['###'],
    }
    assert validate_options({'temperature': None, 'top_p': ''}) == {}
    for bad in (
        {'temperature': 2.5},
        {'top_p': -0.1},
        {'top_k': 0},
        {'top_k': 1.5},
        {'num_ctx': 1_000_000},
        {'num_predict': -2},
        {'seed': 'x'},
        {'stop': ['x'] * 9},
        {'mirostat': 1},
    ):
        with pytest.raises(InvalidInput):
            validate_options(bad)


def test_keep_alive_and_format() -> None:
    assert validate_keep_alive('5m', staff=True) == '5m'
    assert validate_keep_alive('-1', staff=True) == -1
    assert validate_keep_alive(None) is None
    with pytest.raises(InvalidInput):
        validate_keep_alive('forever', staff=True)
    with pytest.raises(PermissionDenied, match='"keep_alive" can only be set by instructors and admins'):
        validate_keep_alive('5m')  # attendees: it unloads or pins a model for everyone
    assert validate_format('json') == 'json'
    assert validate_format('{"type": "object"}') == {'type': 'object'}
    with pytest.raises(InvalidInput, match='not valid JSON'):
        validate_format('{nope')


@pytest.mark.parametrize(
    ('url', 'expected'),
    [
        ('http://127.0.0.1:11434/', 'http://127.0.0.1:11434'),
        ('https://gpu.example.org', 'https://gpu.example.org'),
        ('http://[::1]:11434', 'http://[::1]:11434'),
    ],
)
def test_host_urls(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


@pytest.mark.parametrize(
    'url',
    [
        'ftp://host',
        'file:///etc/passwd',
        'javascript:alert(1)',
        'http://user:pw@host:11434',
        'http://evil.example@127.0.0.1',
        'http://host:11434/api',
        'http://host?x=1',
        'http://',
        'http://host:99999',
        'gopher://host',
        'http://ho st',
        'http://0x7f.1',
        'http://2130706433:11434',
        'http://127.1',
    ],
)
def test_bad_host_urls(url: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_url(url)
