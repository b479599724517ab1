"""The safe template renderer and typed variables (pure functions)."""

from __future__ import annotations

import pytest

from services.core.errors import InvalidInput, PermissionDenied
from services.models.options import OptionCaps, validate_options
from services.prompts.templates import (
    check_consistency,
    parse_variables,
    placeholders,
    render,
    resolve_values,
)

SPEC = [
    {'name': 'topic', 'type': 'text'},
    {'name': 'words', 'type': 'number', 'default': 50},
    {'name': 'tone', 'type': 'choice', 'choices': ['formal', 'casual']},
    {'name': 'emoji', 'type': 'yes_no'},
]


def test_render_substitutes_typed_values_once() -> None:
    variables = parse_variables(SPEC)
    values = resolve_values(variables, {'topic': '{{tone}} llamas', 'words': '20', 'emoji': 'yes'})
    assert values == {'topic': '{{tone}} llamas', 'words': 20, 'tone': 'formal', 'emoji': True}
    text = render('Write {{ words }} words about {{topic}} ({{tone}}, emoji: {{emoji}})', values)
    assert text == 'Write 20 words about {{tone}} llamas (formal, emoji: yes)'  # values are never re-expanded


def test_missing_and_extra_variables_are_clear_errors() -> None:
    variables = parse_variables(SPEC)
    with pytest.raises(InvalidInput, match='Missing a value for "topic"'):
        resolve_values(variables, {})
    with pytest.raises(InvalidInput, match='Unknown variable'):
        resolve_values(variables, {'topic': 'x', 'colour': 'red'})
    with pytest.raises(InvalidInput, match='must be one of'):
        resolve_values(variables, {'topic': 'x', 'tone': 'angry'})
    with pytest.raises(InvalidInput, match='must be a number'):
        resolve_values(variables, {'topic': 'x', 'words': 'many'})
    with pytest.raises(InvalidInput, match='no such variable'):
        check_consistency('', 'Hello {{name}}', [])
    with pytest.raises(InvalidInput, match='not used'):
        check_consistency('', 'Hello', parse_variables([{'name': 'name'}]))


@pytest.mark.parametrize(
    'template',
    ['{{ name | upper }}', '{{ name.__class__ }}', '{% for x in y %}{% endfor %}', "{{ ''.join('a') }}", '{{1+1}}'],
)
def test_only_plain_placeholders_are_allowed(template: str) -> None:
    with pytest.raises(InvalidInput, match='Only plain'):
        check_consistency('', template, [])


def test_placeholders_and_options() -> None:
    assert placeholders('{{a}} {{b}}', '{{a}} {{ c }}') == ['a', 'b', 'c']
    assert validate_options({'temperature': 0.5, 'num_ctx': 2048, 'stop': 'END'}) == {
        'temperature': 0.5,
        'num_ctx': 2048,
        'stop': ['END'],
    }
    with pytest.raises(InvalidInput, match='num_ctx'):
        validate_options({'num_ctx': 1_000_000})
    with pytest.raises(InvalidInput, match='num_ctx'):
        validate_options({'num_ctx': 65536}, caps=OptionCaps(num_ctx=32768))  # the admin's range (API_MAX_NUM_CTX)
    with pytest.raises(InvalidInput, match='Unknown option'):
        validate_options({'mirostat': 1})
    with pytest.raises(PermissionDenied, match='"num_gpu" can only be set by instructors and admins'):
        validate_options({'num_gpu': 99})  # host-level: staff only
