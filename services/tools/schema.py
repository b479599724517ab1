"""Tool signatures: validation of the JSON-schema subset tools use, and of arguments against it."""

from __future__ import annotations

import json
import re
from typing import Any

from services.core.errors import InvalidInput
from services.core.i18n import N_

TOOL_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_-]{0,63}$')
TYPES = ('string', 'number', 'integer', 'boolean', 'array', 'object')
MAX_PROPERTIES = 30
MAX_SCHEMA_CHARS = 16_000  # the parameters of one tool, as JSON: it is sent to the model with every call


def check_name(name: str) -> str:
    name = (name or '').strip()
    if not TOOL_NAME.match(name):
        raise InvalidInput(
            N_(
                'A tool name must look like a function name: letters, digits, _ or -, starting with a '
                'letter or _, at most 64 characters (e.g. get_weather).'
            )
        )
    return name


def _check_property(name: str, schema: Any, depth: int = 0) -> dict[str, Any]:
    if not isinstance(schema, dict):
        raise InvalidInput(
            N_('The parameter "{name}" must be described by an object like {{"type": "string"}}.', name=name)
        )
    kind = schema.get('type', 'string')
    if kind not in TYPES:
        raise InvalidInput(
            N_(
                'The parameter "{name}" has type "{kind}"; use one of {TYPES}.',
                name=name,
                kind=kind,
                TYPES=', '.join(TYPES),
            )
        )
    out: dict[str, Any] = {'type': kind}
    if 'description' in schema:
        if not isinstance(schema['description'], str) or len(schema['description']) > 500:
            raise InvalidInput(N_('The description of "{name}" must be text (at most 500 characters).', name=name))
        out['description'] = schema['description']
    if 'enum' in schema:
        enum = schema['enum']
        if not isinstance(enum, list) or not enum or len(enum) > 50:
            raise InvalidInput(N_('The allowed values of "{name}" must be a list of 1 to 50 values.', name=name))
        if not all(isinstance(v, str | int | float | bool) for v in enum):
            raise InvalidInput(
                N_('The allowed values of "{name}" must be plain values (text, numbers, true/false).', name=name)
            )
        out['enum'] = enum
    if kind == 'array' and 'items' in schema:
        if depth > 3:
            raise InvalidInput(N_('The parameter "{name}" is nested too deeply.', name=name))
        out['items'] = _check_property(f'{name}[]', schema['items'], depth + 1)
    if kind == 'object' and 'properties' in schema:
        if depth > 3:
            raise InvalidInput(N_('The parameter "{name}" is nested too deeply.', name=name))
        props = schema['properties']
        if not isinstance(props, dict):
            raise InvalidInput(N_('The properties of "{name}" must be an object.', name=name))
        out['properties'] = {k: _check_property(f'{name}.{k}', v, depth + 1) for k, v in props.items()}
    return out


def check_parameters(schema: Any) -> dict[str, Any]:
    """A cleaned `{"type": "object", "properties": {...}, "required": [...]}` schema, or InvalidInput."""
    if schema in (None, '', {}):
        return {'type': 'object', 'properties': {}, 'required': []}
    if not isinstance(schema, dict):
        raise InvalidInput(N_('Parameters must be a JSON schema object: {"type": "object", "properties": {...}}.'))
    if schema.get('type', 'object') != 'object':
        raise InvalidInput(N_('The parameters schema must have "type": "object".'))
    props = schema.get('properties') or {}
    if not isinstance(props, dict):
        raise InvalidInput(N_('"properties" must be an object mapping parameter names to schemas.'))
    if len(props) > MAX_PROPERTIES:
        raise InvalidInput(N_('A tool can have at most {MAX_PROPERTIES} parameters.', MAX_PROPERTIES=MAX_PROPERTIES))
    for key in props:
        if not re.match(r'^[A-Za-z_][A-Za-z0-9_]{0,63}$', str(key)):
            raise InvalidInput(
                N_('"{key}" is not a valid parameter name (letters, digits, underscores).', key=str(key)[:40])
            )
    required = schema.get('required') or []
    if not isinstance(required, list) or any(not isinstance(r, str) or r not in props for r in required):
        raise InvalidInput(N_('"required" must list names of defined parameters.'))
    cleaned = {
        'type': 'object',
        'properties': {k: _check_property(k, v) for k, v in props.items()},
        'required': list(dict.fromkeys(required)),
    }
    size = len(json.dumps(cleaned, ensure_ascii=False))
    if size > MAX_SCHEMA_CHARS:
        raise InvalidInput(
            N_(
                'The parameters schema is {size:,} characters long; a tool may have at most '
                '{MAX_SCHEMA_CHARS:,} (it is sent to the model with every message). Shorten its '
                'descriptions and lists of allowed values.',
                size=size,
                MAX_SCHEMA_CHARS=MAX_SCHEMA_CHARS,
            )
        )
    return cleaned


def _type_ok(kind: str, value: Any) -> bool:
    if kind == 'string':
        return isinstance(value, str)
    if kind == 'integer':
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == 'number':
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == 'boolean':
        return isinstance(value, bool)
    if kind == 'array':
        return isinstance(value, list)
    return isinstance(value, dict)


def check_arguments(schema: dict[str, Any], args: Any) -> dict[str, Any]:
    """Arguments checked against the tool's schema (top level), or InvalidInput saying what is wrong."""
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise InvalidInput(N_('Tool arguments must be a JSON object.'))
    props = schema.get('properties') or {}
    unknown = [k for k in args if k not in props]
    if unknown:
        raise InvalidInput(
            N_(
                'Unknown argument(s): {unknown}. Expected: {expected}.',
                unknown=', '.join(map(str, unknown)),
                expected=', '.join(props) or '—',
            )
        )
    missing = [k for k in schema.get('required') or [] if args.get(k) is None]
    if missing:
        raise InvalidInput(N_('Missing required argument(s): {missing}.', missing=', '.join(missing)))
    for key, value in args.items():
        prop = props[key]
        if value is None:
            continue
        if not _type_ok(prop.get('type', 'string'), value):
            # models often send numbers as strings: accept what converts cleanly
            if prop.get('type') in ('number', 'integer') and isinstance(value, str):
                try:
                    args[key] = float(value) if prop['type'] == 'number' else int(value)
                    continue
                except ValueError:
                    pass
            raise InvalidInput(N_('The argument "{key}" must be of type {type}.', key=key, type=prop.get('type')))
        if 'enum' in prop and value not in prop['enum']:
            raise InvalidInput(N_('The argument "{key}" must be one of {enum}.', key=key, enum=prop['enum']))
    return args
