"""Prompt templates: typed variables and a safe `{{name}}` renderer (a regex substitution; nothing is executed).

Pure functions, no database: used by the prompt service, the run service and the tests.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from services.core.errors import InvalidInput
from services.core.i18n import N_

VARIABLE_TYPES = {
    'text': N_('Text'),
    'long_text': N_('Long text'),
    'number': N_('Number'),
    'choice': N_('Choice'),
    'yes_no': N_('Yes/no'),
}
NAME_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]{0,63}$')
PLACEHOLDER_RE = re.compile(r'\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}')
ANY_BRACES_RE = re.compile(r'\{\{(.*?)\}\}|\{%.*?%\}', re.S)
MAX_TEMPLATE_CHARS = 20_000
MAX_VALUE_CHARS = 20_000
MAX_VARIABLES = 30
YES = {'yes', 'true', '1', 'y', 'on'}
NO = {'no', 'false', '0', 'n', 'off', ''}


@dataclass(kw_only=True, slots=True)
class Variable:
    name: str
    type: str = 'text'
    default: Any = None
    choices: list[str] = field(default_factory=list)
    label: str = ''

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {'name': self.name, 'type': self.type, 'default': self.default}
        if self.type == 'choice':
            data['choices'] = list(self.choices)
        if self.label:
            data['label'] = self.label
        return data


def placeholders(*templates: str) -> list[str]:
    """Variable names used in the templates, in order of first use."""
    seen: dict[str, None] = {}
    for template in templates:
        for match in PLACEHOLDER_RE.finditer(template or ''):
            seen.setdefault(match.group(1), None)
    return list(seen)


def check_template(template: str, what: str) -> None:
    if len(template or '') > MAX_TEMPLATE_CHARS:
        raise InvalidInput(
            N_(
                'The {what} is too long (at most {MAX_TEMPLATE_CHARS} characters).',
                what=what,
                MAX_TEMPLATE_CHARS=MAX_TEMPLATE_CHARS,
            )
        )
    for match in ANY_BRACES_RE.finditer(template or ''):
        if not PLACEHOLDER_RE.fullmatch(match.group(0)):
            raise InvalidInput(
                N_(
                    'The {what} contains "{value}". Only plain {{{{name}}}} placeholders are supported '
                    '(letters, digits and underscores; no filters, expressions or blocks).',
                    what=what,
                    value=match.group(0)[:60],
                )
            )


def coerce(variable: Variable, value: Any) -> Any:
    """A value of the variable's type, or InvalidInput saying what is wrong."""
    name = variable.name
    if variable.type in ('text', 'long_text'):
        text = '' if value is None else str(value)
        if len(text) > MAX_VALUE_CHARS:
            raise InvalidInput(
                N_(
                    'The value of "{name}" is too long (at most {MAX_VALUE_CHARS} characters).',
                    name=name,
                    MAX_VALUE_CHARS=MAX_VALUE_CHARS,
                )
            )
        return text
    if variable.type == 'number':
        if isinstance(value, bool):
            raise InvalidInput(N_('"{name}" must be a number.', name=name))
        try:
            number = float(str(value).strip()) if not isinstance(value, int | float) else float(value)
        except ValueError:
            raise InvalidInput(
                N_('"{name}" must be a number, not "{value}".', name=name, value=str(value)[:40])
            ) from None
        if not math.isfinite(number):
            raise InvalidInput(N_('"{name}" must be a finite number.', name=name))
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if variable.type == 'choice':
        text = '' if value is None else str(value)
        if text not in variable.choices:
            raise InvalidInput(
                N_(
                    '"{name}" must be one of: {choices} (got "{text}").',
                    name=name,
                    choices=', '.join(variable.choices),
                    text=text[:40],
                )
            )
        return text
    if variable.type == 'yes_no':
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if value is not None else ''
        if text in YES:
            return True
        if text in NO:
            return False
        raise InvalidInput(N_('"{name}" must be yes or no, not "{text}".', name=name, text=text[:40]))
    raise InvalidInput(N_('Unknown variable type "{type}".', type=variable.type))


def parse_variables(spec: Any) -> list[Variable]:
    """Validate a variables spec (a list of {name, type, default, choices}) into Variables."""
    if spec is None:
        return []
    if not isinstance(spec, list):
        raise InvalidInput(N_('Variables must be a list of {"name", "type", "default", "choices"} objects.'))
    if len(spec) > MAX_VARIABLES:
        raise InvalidInput(N_('A prompt can have at most {MAX_VARIABLES} variables.', MAX_VARIABLES=MAX_VARIABLES))
    out: list[Variable] = []
    names: set[str] = set()
    for item in spec:
        if not isinstance(item, dict):
            raise InvalidInput(N_('Each variable must be an object with a name and a type.'))
        name = str(item.get('name') or '').strip()
        if not NAME_RE.match(name):
            raise InvalidInput(
                N_(
                    '"{name}" is not a valid variable name: use letters, digits and underscores, starting '
                    'with a letter.',
                    name=name[:40],
                )
            )
        if name in names:
            raise InvalidInput(N_('The variable "{name}" is defined twice.', name=name))
        names.add(name)
        kind = str(item.get('type') or 'text')
        if kind not in VARIABLE_TYPES:
            raise InvalidInput(
                N_(
                    '"{name}" has an unknown type "{kind}"; use one of {VARIABLE_TYPES}.',
                    name=name,
                    kind=kind,
                    VARIABLE_TYPES=', '.join(VARIABLE_TYPES),
                )
            )
        choices = item.get('choices') or []
        if kind == 'choice':
            if isinstance(choices, str):
                choices = [c.strip() for c in choices.split(',')]
            if not isinstance(choices, list) or not [c for c in choices if str(c).strip()]:
                raise InvalidInput(N_('The choice variable "{name}" needs a list of choices.', name=name))
            choices = list(dict.fromkeys(str(c).strip() for c in choices if str(c).strip()))
        else:
            choices = []
        variable = Variable(name=name, type=kind, choices=choices, label=str(item.get('label') or '')[:80])
        default = item.get('default')
        if default is not None and default != '':
            variable.default = coerce(variable, default)
        elif kind == 'yes_no':
            variable.default = False
        elif kind == 'choice':
            variable.default = choices[0]
        out.append(variable)
    return out


def check_consistency(system_template: str, user_template: str, variables: list[Variable]) -> None:
    """Every placeholder is a declared variable and every declared variable is used."""
    check_template(system_template, 'system template')
    check_template(user_template, 'user template')
    if not (user_template or '').strip():
        raise InvalidInput(N_('The user template is empty. Write the message the model should receive.'))
    used = placeholders(system_template, user_template)
    declared = {v.name for v in variables}
    missing = [n for n in used if n not in declared]
    if missing:
        raise InvalidInput(
            N_(
                'The template uses {missing} but no such variable is defined. Add it to the variables '
                '(or use "Detect variables").',
                missing=', '.join('{{' + n + '}}' for n in missing),
            )
        )
    unused = [v.name for v in variables if v.name not in used]
    if unused:
        raise InvalidInput(
            N_(
                'The variable(s) {unused} are not used in the templates. Use them as {{{{name}}}} or remove them.',
                unused=', '.join(unused),
            )
        )


def resolve_values(variables: list[Variable], values: dict[str, Any] | None) -> dict[str, Any]:
    """Typed values for every variable: given ones coerced, missing ones from defaults; unknown names refused."""
    values = dict(values or {})
    declared = {v.name for v in variables}
    extra = [k for k in values if k not in declared]
    if extra:
        raise InvalidInput(
            N_('Unknown variable(s): {str}. This prompt has no such variable.', str=', '.join(map(str, extra)))
        )
    out: dict[str, Any] = {}
    for variable in variables:
        if variable.name in values and values[variable.name] is not None:
            out[variable.name] = coerce(variable, values[variable.name])
        elif variable.default is not None:
            out[variable.name] = variable.default
        else:
            raise InvalidInput(N_('Missing a value for "{name}" (it has no default).', name=variable.name))
    return out


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    return str(value)


def render(template: str, values: dict[str, Any]) -> str:
    """Substitute `{{name}}` once, left to right. Substituted text is never re-scanned, so values cannot inject
    placeholders; a placeholder without a value is an error."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise InvalidInput(N_('Missing a value for "{name}".', name=name))
        return as_text(values[name])

    return PLACEHOLDER_RE.sub(replace, template or '')
