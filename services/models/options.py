"""Generation options with sane bounds (a 1,000,000-token context or 50 stop words are refused, not passed on), and
the keep_alive and format values a call may carry. Used by the one model-call path and by every form that stores
options (conversations, prompt versions, model creation)."""

from __future__ import annotations

import json
import re
from typing import Any

from services.core.errors import InvalidInput

# The one options table: every generation option the platform passes to Ollama, on every path (playground,
# conversations, prompts, tools, RAG, the REST API and the OpenAI gateway). name -> (type, low, high). Options that
# are not here (num_gpu, num_thread, use_mmap, mirostat, ...) are refused: they can pin or exhaust a host.
BOUNDS: dict[str, tuple[type, float, float]] = {
    'temperature': (float, 0.0, 2.0),
    'top_p': (float, 0.0, 1.0),
    'min_p': (float, 0.0, 1.0),
    'top_k': (int, 1, 1000),
    'num_predict': (int, -1, 32768),
    'num_ctx': (int, 256, 131072),
    'seed': (int, -(2**31), 2**31 - 1),
    'repeat_penalty': (float, 0.0, 3.0),
    'presence_penalty': (float, -2.0, 2.0),
    'frequency_penalty': (float, -2.0, 2.0),
}
MAX_STOPS, MAX_STOP_LENGTH = 8, 50
_DURATION = re.compile(r'^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$')
MAX_SCHEMA_CHARS = 20_000


def validate_options(raw: Any, *, max_num_ctx: int | None = None, max_num_predict: int | None = None) -> dict[str, Any]:
    """Ollama `options` within the table's bounds (and the platform's caps, when given); empty values are dropped;
    unknown names are refused with the list of allowed ones."""
    if raw in (None, ''):
        return {}
    if not isinstance(raw, dict):
        raise InvalidInput('Options must be a JSON object, like {"temperature": 0.7}.')
    options: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None or value == '' or value == []:
            continue
        if key == 'stop':
            options['stop'] = _stops(value)
            continue
        if key not in BOUNDS:
            raise InvalidInput(f'Unknown option "{key}". Allowed: {", ".join([*BOUNDS, "stop"])}.')
        kind, low, high = BOUNDS[key]
        if key == 'num_ctx' and max_num_ctx is not None:
            high = min(high, max_num_ctx)
        if key == 'num_predict' and max_num_predict is not None:
            high = min(high, max_num_predict)
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if kind is int and number != int(number):
                raise ValueError
            number = kind(number)
        except (TypeError, ValueError, OverflowError):
            raise InvalidInput(f'"{key}" must be a {"whole " if kind is int else ""}number.') from None
        if not low <= number <= high:
            raise InvalidInput(f'"{key}" must be between {_num(low)} and {_num(high)} on this platform.')
        options[key] = number
    return options


def _num(value: float) -> str:
    return f'{int(value):,}' if float(value).is_integer() else str(value)


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
