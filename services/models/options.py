"""Generation options with sane bounds (a 1,000,000-token context or 50 stop words are refused, not passed on), and
the keep_alive and format values a call may carry. Used by the one model-call path and by every form that stores
options (conversations, prompt versions, model creation).

Who may set what: the options that make sense in class pass for everyone, each up to the admin's range
(`OptionCaps`, stored by `services.models.option_caps`); the host-level ones (how a model is loaded and run: they can
unload it for everyone, pin it to a GPU or exhaust the machine) and keep_alive only for instructors and admins. An
attendee who asks for one is refused with a sentence naming it, never silently ignored."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from services.core.errors import InvalidInput, PermissionDenied
from services.core.i18n import N_


class Bound(NamedTuple):
    kind: type  # float, int or bool
    low: float
    high: float
    staff: bool = False  # host-level: only instructors and admins may set it


# The one options table: every generation option the platform passes to Ollama, on every path (playground,
# conversations, prompts, tools, RAG, the REST API and the OpenAI gateway). Options that are not here (mirostat,
# tfs_z, typical_p, f16_kv, ...) are refused for everyone.
BOUNDS: dict[str, Bound] = {
    # in class: anyone, within the admin's ranges for the capped ones (CAPPED)
    'temperature': Bound(float, 0.0, 2.0),
    'top_p': Bound(float, 0.0, 1.0),
    'min_p': Bound(float, 0.0, 1.0),
    'top_k': Bound(int, 1, 1000),
    'num_predict': Bound(int, -1, 32768),
    'num_ctx': Bound(int, 256, 131072),  # a new size reloads the model, hence the admin's cap
    'seed': Bound(int, -(2**31), 2**31 - 1),
    'repeat_penalty': Bound(float, 0.0, 3.0),
    'presence_penalty': Bound(float, -2.0, 2.0),
    'frequency_penalty': Bound(float, -2.0, 2.0),
    # host-level (Ollama's runtime options): a changed value reloads the model for everyone on the host, or decides
    # how much of the GPU, the CPU and the memory it takes. Instructors and admins only.
    'num_gpu': Bound(int, -1, 1024, staff=True),  # layers offloaded to the GPU (-1: Ollama decides)
    'main_gpu': Bound(int, 0, 64, staff=True),
    'num_thread': Bound(int, 0, 512, staff=True),
    'num_batch': Bound(int, 1, 8192, staff=True),
    'num_keep': Bound(int, -1, 131072, staff=True),
    'use_mmap': Bound(bool, 0, 1, staff=True),
    'use_mlock': Bound(bool, 0, 1, staff=True),
    'numa': Bound(bool, 0, 1, staff=True),
    'low_vram': Bound(bool, 0, 1, staff=True),
}
STAFF_ONLY = frozenset(name for name, bound in BOUNDS.items() if bound.staff)
CAPPED = ('num_ctx', 'num_predict', 'top_k', 'temperature')  # options whose highest value the admin sets
MAX_STOPS, MAX_STOP_LENGTH = 8, 50
_DURATION = re.compile(r'^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$')
MAX_SCHEMA_CHARS = 20_000


def staff_only(name: str) -> PermissionDenied:
    return PermissionDenied(N_('"{name}" can only be set by instructors and admins.', name=name))


@dataclass(frozen=True, kw_only=True, slots=True)
class OptionCaps:
    """The admin's ranges: the highest value of each capped option a model call may ask for, for every caller on
    every path (within the table's bounds). The defaults come from the settings (API_MAX_NUM_CTX, ...)."""

    num_ctx: int = 32_768
    num_predict: int = 8_192
    top_k: int = 1000
    temperature: float = 2.0

    @classmethod
    def checked(cls, raw: dict[str, Any]) -> OptionCaps:
        """Caps as an admin gives them: each a number within the table's bounds (num_predict at least 1)."""
        if not isinstance(raw, dict):
            raise InvalidInput(N_('The ranges must be a JSON object, like {"num_ctx": 8192}.'))
        unknown = [key for key in raw if key not in CAPPED]
        if unknown:
            raise InvalidInput(
                N_(
                    'Unknown range "{unknown}". Ranges can be set for: {CAPPED}.',
                    unknown=unknown[0],
                    CAPPED=', '.join(CAPPED),
                )
            )
        values: dict[str, Any] = {}
        for key in CAPPED:
            if raw.get(key) in (None, ''):
                raise InvalidInput(N_('Give the highest "{key}" a model call may ask for.', key=key))
            kind, low, high, _ = BOUNDS[key]
            low = max(low, 1) if key == 'num_predict' else low
            values[key] = _number(key, raw[key], kind, low, high, 'The highest ')
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_options(raw: Any, *, staff: bool = False, caps: OptionCaps | None = None) -> dict[str, Any]:
    """Ollama `options` within the table's bounds and the admin's ranges (`caps`, when given); empty values are
    dropped. Unknown names are refused with the list of allowed ones, host-level options when not `staff` (an
    instructor or admin: `services.models.callers.Caller.restricted` is false) with a PermissionDenied naming them,
    and a value outside its range with the range."""
    if raw in (None, ''):
        return {}
    if not isinstance(raw, dict):
        raise InvalidInput(N_('Options must be a JSON object, like {"temperature": 0.7}.'))
    options: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None or value == '' or value == []:
            continue
        if key == 'stop':
            options['stop'] = _stops(value)
            continue
        if key not in BOUNDS:
            allowed = [name for name, bound in BOUNDS.items() if staff or not bound.staff]
            raise InvalidInput(
                N_('Unknown option "{key}". Allowed: {allowed}.', key=key, allowed=', '.join([*allowed, 'stop']))
            )
        kind, low, high, host_level = BOUNDS[key]
        if host_level and not staff:
            raise staff_only(key)
        if caps is not None and key in CAPPED:
            high = min(high, getattr(caps, key))
        options[key] = _number(key, value, kind, low, high)
    return options


def _number(key: str, value: Any, kind: type, low: float, high: float, prefix: str = '') -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise InvalidInput(N_('{prefix}"{key}" must be true or false.', prefix=prefix, key=key))
        return value
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
        if kind is int and number != int(number):
            raise ValueError
        number = kind(number)
    except (TypeError, ValueError, OverflowError):
        if kind is int:
            raise InvalidInput(N_('{prefix}"{key}" must be a whole number.', prefix=prefix, key=key)) from None
        raise InvalidInput(N_('{prefix}"{key}" must be a number.', prefix=prefix, key=key)) from None
    if not low <= number <= high:
        raise InvalidInput(
            N_(
                '{prefix}"{key}" must be between {low} and {high} on this platform.',
                prefix=prefix,
                key=key,
                low=_num(low),
                high=_num(high),
            )
        )
    return number


def _num(value: float) -> str:
    return f'{int(value):,}' if float(value).is_integer() else str(value)


def _stops(value: Any) -> list[str]:
    stops = [value] if isinstance(value, str) else list(value)
    stops = [s for s in stops if isinstance(s, str) and s]
    if len(stops) > MAX_STOPS or any(len(s) > MAX_STOP_LENGTH for s in stops):
        raise InvalidInput(
            N_(
                'Give at most {MAX_STOPS} stop sequences of up to {MAX_STOP_LENGTH} characters each.',
                MAX_STOPS=MAX_STOPS,
                MAX_STOP_LENGTH=MAX_STOP_LENGTH,
            )
        )
    return stops


def validate_keep_alive(value: Any, *, staff: bool = False) -> str | int | None:
    """'5m', '1h', '0' or a number of seconds (-1 keeps the model loaded); None means Ollama's default. How long a
    model stays loaded decides for everyone on the host (0 unloads it, -1 pins it): instructors and admins only."""
    if value is None or value == '':
        return None
    if not staff:
        raise staff_only('keep_alive')
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not -1 <= value <= 86_400:
            raise InvalidInput(N_('keep_alive must be between -1 and 86400 seconds.'))
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r'-?\d+', text):
        return validate_keep_alive(int(text), staff=staff)
    if not _DURATION.match(text) or len(text) > 20:
        raise InvalidInput(N_('keep_alive must be a duration like 5m, 30s or 1h, or a number of seconds.'))
    return text


def validate_format(value: Any) -> str | dict | None:
    """None (free text), 'json' (JSON mode) or a JSON schema (dict, or its JSON text) for structured output."""
    if value is None or value == '':
        return None
    if value == 'json':
        return 'json'
    if isinstance(value, str):
        if len(value) > MAX_SCHEMA_CHARS:
            raise InvalidInput(N_('The JSON schema is too long.'))
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                N_('The JSON schema is not valid JSON: {msg} (line {lineno}).', msg=exc.msg, lineno=exc.lineno)
            ) from None
    if not isinstance(value, dict) or not value:
        raise InvalidInput(N_('The JSON schema must be a JSON object, like {"type": "object", "properties": {...}}.'))
    return value
