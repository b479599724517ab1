"""Exercise checks: what a step's checks look for in the attendee's activity, how an instructor's check is validated,
how one activity is judged against it (passed, or failed with the reason the attendee reads), and the class-wide
failure reasons grouped for the instructor.

A check is a small dict stored on the step: `{'id': 'a1b2c3d4', 'kind': 'output_regex', 'pattern': '^\\d+$'}`.
Each kind looks at one action of the activity log and at the details its feature records (services.core.actions).
Reasons are worded so that the same mistake of several attendees reads the same (they are grouped by their text).
"""

from __future__ import annotations

import json
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from typing import Any

from jsonschema import exceptions as schema_errors
from jsonschema import validators

from services.core import actions
from services.core.errors import InvalidInput
from services.core.i18n import N_

MAX_CHECKS = 10  # per step
MAX_TEXT = 2000  # of a pattern, a schema, a phrase


@dataclass(kw_only=True, slots=True, frozen=True)
class CheckKind:
    key: str
    label: str  # in the instructor's list of kinds
    action: str  # the activity it looks at
    link: str  # the platform area where the attendee does it


KINDS: list[CheckKind] = [
    CheckKind(key='output_regex', label=N_("a prompt run's output matches a regular expression"),
              action=actions.PROMPT_RUN, link='/prompts'),
    CheckKind(key='output_json', label=N_("a prompt run's output is JSON that fits a schema"),
              action=actions.PROMPT_RUN, link='/prompts'),
    CheckKind(key='rag_cites', label=N_('a RAG answer cites a given document'), action=actions.RAG_QUERY, link='/rag'),
    CheckKind(key='tool_call', label=N_('a call to a given tool (arguments matching a pattern)'),
              action=actions.TOOL_CALL, link='/tools'),
    CheckKind(key='model_create', label=N_('a model created from a base with a system prompt containing a phrase'),
              action=actions.MODEL_CREATE, link='/models'),
    CheckKind(key='eval_hit', label=N_('a RAG evaluation reaches hit@k of at least a value'),
              action=actions.RAG_EVAL, link='/rag'),
]  # fmt: skip
KINDS_BY_KEY = {k.key: k for k in KINDS}
# the settings each kind takes, in the order the editor shows them
FIELDS: dict[str, tuple[str, ...]] = {
    'output_regex': ('pattern',),
    'output_json': ('schema',),
    'rag_cites': ('document',),
    'tool_call': ('tool', 'arguments'),
    'model_create': ('base', 'phrase'),
    'eval_hit': ('min', 'k'),
}


def kind_options() -> dict[str, str]:
    return {k.key: k.label for k in KINDS}


# ----- validation ----------------------------------------------------------------------------------------------------
def normalise(spec: dict[str, Any]) -> dict[str, Any]:
    """A check as stored, from what an instructor entered; InvalidInput says what to fix."""
    kind = KINDS_BY_KEY.get(str(spec.get('kind') or ''))
    if kind is None:
        raise InvalidInput(N_('Unknown kind of check. Pick one from the list.'))
    check: dict[str, Any] = {'id': _check_id(spec.get('id')), 'kind': kind.key}
    if kind.key == 'output_regex':
        check['pattern'] = _regex(spec.get('pattern'), N_('Enter the regular expression the output must match.'))
    elif kind.key == 'output_json':
        check['schema'] = _schema(spec.get('schema'))
    elif kind.key == 'rag_cites':
        check['document'] = _text(spec.get('document'), N_('Enter the name of the document the answer must cite.'), 200)
    elif kind.key == 'tool_call':
        check['tool'] = _text(spec.get('tool'), N_('Enter the name of the tool that must be called.'), 100)
        if str(spec.get('arguments') or '').strip():
            check['arguments'] = _regex(spec.get('arguments'), '')
    elif kind.key == 'model_create':
        check['base'] = _text(spec.get('base'), N_('Enter the base model the new model must be created from.'), 200)
        check['phrase'] = _text(spec.get('phrase'), N_('Enter the phrase the system prompt must contain.'), 500)
    elif kind.key == 'eval_hit':
        check['min'] = _number(spec.get('min'), N_('The hit rate to reach is a number from 0 to 1, e.g. 0.8.'), 0, 1)
        if spec.get('k') not in (None, ''):
            check['k'] = int(_number(spec.get('k'), N_('k is a whole number of passages from 1 to 100.'), 1, 100))
    return check


def _check_id(value: Any) -> str:
    value = str(value or '')
    return value if re.fullmatch(r'[0-9a-f]{8}', value) else secrets.token_hex(4)


def _text(value: Any, missing: str, limit: int) -> str:
    text = ' '.join(str(value or '').split())
    if not text:
        raise InvalidInput(missing)
    if len(text) > limit:
        raise InvalidInput(N_('At most {limit} characters, please.', limit=limit))
    return text


def _regex(value: Any, missing: str) -> str:
    pattern = str(value or '').strip()
    if not pattern:
        raise InvalidInput(missing)
    if len(pattern) > MAX_TEXT:
        raise InvalidInput(N_('The regular expression is too long (at most {MAX_TEXT} characters).', MAX_TEXT=MAX_TEXT))
    try:
        re.compile(pattern)
    except re.error as exc:
        raise InvalidInput(
            N_(
                'The regular expression {pattern} is not valid: {msg} at position {pos}.',
                pattern=pattern,
                msg=exc.msg,
                pos=exc.pos,
            )
        ) from None
    return pattern


def _schema(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        if not value.strip():
            raise InvalidInput(N_('Enter the JSON schema the output must fit, e.g. {"type": "object"}.'))
        if len(value) > MAX_TEXT * 5:
            raise InvalidInput(N_('The JSON schema is too long.'))
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                N_(
                    'The JSON schema is not valid JSON: {msg} (line {lineno}, column {colno}).',
                    msg=exc.msg,
                    lineno=exc.lineno,
                    colno=exc.colno,
                )
            ) from None
    if not isinstance(value, dict):
        raise InvalidInput(
            N_('The JSON schema must be a JSON object, e.g. {"type": "object", "required": ["answer"]}.')
        )
    try:
        validators.validator_for(value).check_schema(value)
    except schema_errors.SchemaError as exc:
        where = '/'.join(str(p) for p in exc.absolute_path)
        at = f' (at {where})' if where else ''
        raise InvalidInput(
            N_('The JSON schema is not a valid schema: {message}{at}.', message=exc.message, at=at)
        ) from None
    return value


def _number(value: Any, message: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(message) from None
    if not low <= number <= high:
        raise InvalidInput(message)
    return number


# ----- describing ----------------------------------------------------------------------------------------------------
def describe(check: dict[str, Any]) -> str:
    """What the check asks for, as the attendee and the instructor read it."""
    kind = check.get('kind')
    if kind == 'output_regex':
        return N_("a prompt run's output matches {pattern}", pattern=check['pattern'])
    if kind == 'output_json':
        return N_(
            "a prompt run's output is JSON fitting the schema {schema}", schema=_short(json.dumps(check['schema']), 80)
        )
    if kind == 'rag_cites':
        return N_('a RAG answer cites {document}', document=check['document'])
    if kind == 'tool_call':
        if check.get('arguments'):
            return N_(
                'a call to the tool {tool} with arguments matching {pattern}',
                tool=check['tool'],
                pattern=check['arguments'],
            )
        return N_('a call to the tool {tool}', tool=check['tool'])
    if kind == 'model_create':
        return N_(
            'a model created from {base} with a system prompt containing "{phrase}"',
            base=check['base'],
            phrase=check['phrase'],
        )
    if kind == 'eval_hit':
        low = f'{check["min"]:g}'
        if check.get('k'):
            return N_('a RAG evaluation reaching hit@k ≥ {min} with k ≤ {k}', min=low, k=check['k'])
        return N_('a RAG evaluation reaching hit@k ≥ {min}', min=low)
    return str(kind)


def link(check: dict[str, Any]) -> str:
    kind = KINDS_BY_KEY.get(check.get('kind', ''))
    return kind.link if kind else ''


# ----- judging -------------------------------------------------------------------------------------------------------
def evaluate(check: dict[str, Any], action: str, error: str | None, details: dict[str, Any]) -> tuple[bool, str] | None:
    """(passed, reason) for one activity, or None when the activity is not what this check looks at."""
    kind = KINDS_BY_KEY.get(check.get('kind', ''))
    if kind is None or kind.action != action:
        return None
    judge = _JUDGES[kind.key]
    return judge(check, error, details or {})


def _output_regex(check: dict[str, Any], error: str | None, details: dict[str, Any]) -> tuple[bool, str] | None:
    if error:
        return False, N_('the prompt run failed, so there is no output to check')
    if re.search(check['pattern'], str(details.get('output') or '')):
        return True, ''
    return False, N_('the output did not match {pattern}', pattern=check['pattern'])


def _output_json(check: dict[str, Any], error: str | None, details: dict[str, Any]) -> tuple[bool, str] | None:
    if error:
        return False, N_('the prompt run failed, so there is no output to check')
    text = _unfenced(str(details.get('output') or ''))
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return False, N_('the output is not valid JSON')
    problem = next(iter(validators.validator_for(check['schema'])(check['schema']).iter_errors(data)), None)
    if problem is None:
        return True, ''
    where = '/'.join(str(p) for p in problem.absolute_path)
    at = N_(' (at {where})', where=where) if where else ''
    return False, N_('the JSON does not fit the schema: {message}{at}', message=_short(problem.message, 120), at=at)


def _rag_cites(check: dict[str, Any], error: str | None, details: dict[str, Any]) -> tuple[bool, str] | None:
    if error:
        return False, N_('the RAG question failed, so there is no answer to check')
    wanted = check['document'].lower()
    cited = [str(name) for name in details.get('cited') or []]
    if any(name.lower() == wanted for name in cited):
        return True, ''
    if not cited:
        return False, N_('the answer cited no document')
    return False, N_(
        'cited {cited} but not {document}', cited=', '.join(sorted(set(cited))), document=check['document']
    )


def _tool_call(check: dict[str, Any], error: str | None, details: dict[str, Any]) -> tuple[bool, str] | None:
    name = str(details.get('tool') or '')
    if name.lower() != check['tool'].lower():
        return False, N_('called {called}, not {tool}', called=name or '—', tool=check['tool'])
    if error:
        return False, N_('the call to {name} failed', name=name)
    pattern = check.get('arguments')
    if pattern and not re.search(pattern, str(details.get('arguments') or '')):
        return False, N_('called {name} but its arguments did not match {pattern}', name=name, pattern=pattern)
    return True, ''


def _model_create(check: dict[str, Any], error: str | None, details: dict[str, Any]) -> tuple[bool, str] | None:
    if error:
        return False, N_('creating the model failed')
    base = str(details.get('base') or '')
    if _tagged(base) != _tagged(check['base']):
        return False, N_('the model was created from {created}, not {base}', created=base or '—', base=check['base'])
    system = str(details.get('system') or '')
    if not system:
        return False, N_('the model has no system prompt')
    if check['phrase'].lower() not in system.lower():
        return False, N_('the system prompt does not contain "{phrase}"', phrase=check['phrase'])
    return True, ''


def _eval_hit(check: dict[str, Any], error: str | None, details: dict[str, Any]) -> tuple[bool, str] | None:
    if error:
        return False, N_('the evaluation failed')
    rate, k = details.get('hit_rate'), details.get('k')
    if rate is None:
        return False, N_('the evaluation had no question with an expected document, so there is no hit rate')
    if check.get('k') and k and int(k) > check['k']:
        return False, N_('the evaluation kept {k} passages; use at most {k2} (top-k)', k=k, k2=check['k'])
    if float(rate) + 1e-9 < check['min']:
        return False, N_('hit@k stayed below {min:g}', min=check['min'])
    return True, ''


_JUDGES = {
    'output_regex': _output_regex,
    'output_json': _output_json,
    'rag_cites': _rag_cites,
    'tool_call': _tool_call,
    'model_create': _model_create,
    'eval_hit': _eval_hit,
}


def _unfenced(text: str) -> str:
    """Models like to wrap JSON in a markdown code fence: the JSON inside it."""
    text = text.strip()
    fenced = re.fullmatch(r'```[a-zA-Z]*\s*(.*?)\s*```', text, flags=re.DOTALL)
    return fenced.group(1) if fenced else text


def _tagged(name: str) -> str:
    name = name.strip().lower()
    return name if ':' in name else f'{name}:latest'


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + '…'


# ----- the state of a step for one attendee, and of the class ---------------------------------------------------------
def step_state(checks: list[dict[str, Any]], results: dict[tuple[int, str], tuple[bool, str]], step_id: int) -> str:
    """'passed' (every check), 'failed' (one failed), 'partly' (some passed, none failed) or 'untried'."""
    outcomes = [results.get((step_id, c['id'])) for c in checks]
    if outcomes and all(o is not None and o[0] for o in outcomes):
        return 'passed'
    if any(o is not None and not o[0] for o in outcomes):
        return 'failed'
    return 'partly' if any(o is not None for o in outcomes) else 'untried'


def class_summary(
    steps: list[dict[str, Any]], results: list[dict[tuple[int, str], tuple[bool, str]]]
) -> list[dict[str, Any]]:
    """Per check of every step: attendees passed, failed, not tried, and the failure reasons with their counts."""
    summary = []
    for position, step in enumerate(steps):
        for check in step.get('checks') or []:
            key = (step['id'], check['id'])
            outcomes = [r[key] for r in results if key in r]
            reasons = Counter(reason for passed, reason in outcomes if not passed)
            summary.append({
                'step': position + 1,
                'step_title': step['title'],
                'check_id': check['id'],
                'label': describe(check),
                'passed': sum(1 for passed, _ in outcomes if passed),
                'failed': sum(reasons.values()),
                'untried': len(results) - len(outcomes),
                'reasons': [{'reason': r, 'count': n} for r, n in reasons.most_common()],
            })  # fmt: skip
    return summary
