"""Chat options with sane bounds (a 1,000,000-token context or 50 stop words are refused, not passed on)."""

from __future__ import annotations

import json
import re
from typing import Any

from services.core.errors import InvalidInput

# name -> (type, low, high, explanation)
BOUNDS: dict[str, tuple[type, float, float, str]] = {
    'temperature': (float, 0.0, 2.0, 'Temperature must be between 0 and 2.'),
    'top_p': (float, 0.0, 1.0, 'top_p must be between 0 and 1.'),
    'top_k': (int, 1, 1000, 'top_k must be a whole number between 1 and 1000.'),
    'num_ctx': (int, 256, 131072, 'The context size (num_ctx) must be between 256 and 131072 tokens.'),
    'num_predict': (int, -1, 32768, 'num_predict must be between -1 (no limit) and 32768.'),
    'seed': (int, -(2**31), 2**31 - 1, 'The seed must be a whole number.'),
}
MAX_STOPS, MAX_STOP_LENGTH = 8, 50
_DURATION = re.compile(r'^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$')
MAX_SCHEMA_CHARS = 20_000


def validate_options(raw: dict[str, Any] | None) -> dict[str, Any]:
    """Ollama `options` within bounds; empty values are dropped; unknown names are refused."""
    options: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        if value is None or value == '' or value == []:
            continue
        if key == 'stop':
            options['stop'] = _stops(value)
            continue
        if key not in BOUNDS:
            raise InvalidInput(f'"{key}" is not a chat option this platform supports.')
        kind, low, high, message = BOUNDS[key]
        try:
            number = float(value)
            if kind is int and number != int(number):
                raise ValueError
            number = kind(number)
        except (TypeError, ValueError):
            raise InvalidInput(message) from None
        if not low <= number <= high:
            raise InvalidInput(message)
        options[key] = number
    return options


def _stops(value: Any) -> list[str]:
    stops = [value] if isinstance(value, str) else list(value)
    stops = [s for s in stops if isinstance(s, str) and s]
    if len(stops) > MAX_STOPS or any(len(s) > MAX_STOP_LENGTH for s in stops):
        raise InvalidInput(f'Give at most {MAX_STOPS} stop sequences of up to {MAX_STOP_LENGTH} characters each.')
    return stops


def validate_keep_alive(value: Any) -> str | int | None:
    """'5m', '1h', '0' or a number of seconds (-1 keeps the model loaded); None means Ollama's default."""
    if value is None or value == '':
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not -1 <= value <= 86_400:
            raise InvalidInput('keep_alive must be between -1 and 86400 seconds.')
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r'-?\d+', text):
        return validate_keep_alive(int(text))
    if not _DURATION.match(text) or len(text) > 20:
        raise InvalidInput('keep_alive must be a duration like 5m, 30s or 1h, or a number of seconds.')
    return text


def validate_format(value: Any) -> str | dict | None:
    """None (free text), 'json' (JSON mode) or a JSON schema (dict, or its JSON text) for structured output."""
    if value is None or value == '':
        return None
    if value == 'json':
        return 'json'
    if isinstance(value, str):
        if len(value) > MAX_SCHEMA_CHARS:
            raise InvalidInput('The JSON schema is too long.')
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f'The JSON schema is not valid JSON: {exc.msg} (line {exc.lineno}).') from None
    if not isinstance(value, dict) or not value:
        raise InvalidInput('The JSON schema must be a JSON object, like {"type": "object", "properties": {...}}.')
    return value
