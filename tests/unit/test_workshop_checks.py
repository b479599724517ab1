"""Exercise checks of workshop steps: every kind passes and fails with the reason the attendee reads; an instructor's
bad check is refused with a clear message; class-wide reasons are grouped."""

from __future__ import annotations

import pytest

from services.core import actions
from services.core.errors import InvalidInput
from services.workshops.checks import class_summary, describe, evaluate, normalise, step_state


def judge(spec: dict, action: str, details: dict, error: str | None = None) -> tuple[bool, str] | None:
    return evaluate(normalise(spec), action, error, details)


def test_output_regex() -> None:
    spec = {'kind': 'output_regex', 'pattern': r'^\d+$'}
    assert judge(spec, actions.PROMPT_RUN, {'output': '42'}) == (True, '')
    assert judge(spec, actions.PROMPT_RUN, {'output': 'forty-two'}) == (False, r'the output did not match ^\d+$')
    assert judge(spec, actions.PROMPT_RUN, {}, error='model not found') == (
        False,
        'the prompt run failed, so there is no output to check',
    )
    assert judge(spec, actions.CHAT, {'output': '42'}) is None  # not what this check looks at


def test_output_json_schema() -> None:
    schema = '{"type": "object", "required": ["answer"], "properties": {"answer": {"type": "integer"}}}'
    spec = {'kind': 'output_json', 'schema': schema}
    assert judge(spec, actions.PROMPT_RUN, {'output': '{"answer": 4}'}) == (True, '')
    assert judge(spec, actions.PROMPT_RUN, {'output': '```json\n{"answer": 4}\n```'}) == (True, '')  # fenced
    assert judge(spec, actions.PROMPT_RUN, {'output': 'The answer is 4'}) == (False, 'the output is not valid JSON')
    assert judge(spec, actions.PROMPT_RUN, {'output': '{"result": 4}'}) == (
        False,
        "the JSON does not fit the schema: 'answer' is a required property",
    )
    assert judge(spec, actions.PROMPT_RUN, {'output': '{"answer": "four"}'}) == (
        False,
        "the JSON does not fit the schema: 'four' is not of type 'integer' (at answer)",
    )


def test_rag_answer_cites_a_document() -> None:
    spec = {'kind': 'rag_cites', 'document': 'handbook.md'}
    assert judge(spec, actions.RAG_QUERY, {'cited': ['report.pdf', 'Handbook.md']}) == (True, '')
    assert judge(spec, actions.RAG_QUERY, {'cited': ['report.pdf']}) == (False, 'cited report.pdf but not handbook.md')
    assert judge(spec, actions.RAG_QUERY, {'cited': []}) == (False, 'the answer cited no document')


def test_tool_call_with_arguments() -> None:
    spec = {'kind': 'tool_call', 'tool': 'calculator', 'arguments': r'"expression": ".*\*.*"'}
    assert judge(spec, actions.TOOL_CALL, {'tool': 'calculator', 'arguments': '{"expression": "6 * 7"}'}) == (True, '')
    assert judge(spec, actions.TOOL_CALL, {'tool': 'calculator', 'arguments': '{"expression": "6 + 7"}'}) == (
        False,
        r'called calculator but its arguments did not match "expression": ".*\*.*"',
    )
    assert judge(spec, actions.TOOL_CALL, {'tool': 'weather', 'arguments': '{}'}) == (
        False,
        'called weather, not calculator',
    )
    assert judge(spec, actions.TOOL_CALL, {'tool': 'calculator'}, error='division by zero') == (
        False,
        'the call to calculator failed',
    )
    assert judge({'kind': 'tool_call', 'tool': 'calculator'}, actions.TOOL_CALL, {'tool': 'calculator'}) == (True, '')


def test_model_created_from_a_base_with_a_system_prompt() -> None:
    spec = {'kind': 'model_create', 'base': 'llama3.2', 'phrase': 'pirate'}
    ok = {'base': 'llama3.2:latest', 'system': 'You are a friendly PIRATE.'}
    assert judge(spec, actions.MODEL_CREATE, ok) == (True, '')
    assert judge(spec, actions.MODEL_CREATE, {**ok, 'base': 'qwen3:0.6b'}) == (
        False,
        'the model was created from qwen3:0.6b, not llama3.2',
    )
    assert judge(spec, actions.MODEL_CREATE, {**ok, 'system': 'You are a teacher.'}) == (
        False,
        'the system prompt does not contain "pirate"',
    )
    assert judge(spec, actions.MODEL_CREATE, {**ok, 'system': ''}) == (False, 'the model has no system prompt')


def test_evaluation_reaches_hit_at_k() -> None:
    spec = {'kind': 'eval_hit', 'min': '0.8', 'k': '3'}
    assert judge(spec, actions.RAG_EVAL, {'hit_rate': 0.8, 'k': 3}) == (True, '')
    assert judge(spec, actions.RAG_EVAL, {'hit_rate': 0.5, 'k': 3}) == (False, 'hit@k stayed below 0.8')
    assert judge(spec, actions.RAG_EVAL, {'hit_rate': 1.0, 'k': 5}) == (
        False,
        'the evaluation kept 5 passages; use at most 3 (top-k)',
    )
    assert judge(spec, actions.RAG_EVAL, {'hit_rate': None, 'k': 3})[0] is False
    assert describe(normalise(spec)) == 'a RAG evaluation reaching hit@k ≥ 0.8 with k ≤ 3'


@pytest.mark.parametrize(
    ('spec', 'message'),
    [
        ({'kind': 'magic'}, 'Unknown kind of check'),
        ({'kind': 'output_regex', 'pattern': ''}, 'Enter the regular expression'),
        (
            {'kind': 'output_regex', 'pattern': '(\\d+'},
            'The regular expression (\\d+ is not valid: missing )',
        ),
        ({'kind': 'output_json', 'schema': '{"type": '}, 'The JSON schema is not valid JSON: Expecting value'),
        ({'kind': 'output_json', 'schema': '[1, 2]'}, 'The JSON schema must be a JSON object'),
        ({'kind': 'output_json', 'schema': '{"type": "banana"}'}, 'The JSON schema is not a valid schema'),
        ({'kind': 'rag_cites', 'document': ' '}, 'Enter the name of the document'),
        ({'kind': 'tool_call', 'tool': 'calc', 'arguments': '[a-'}, 'The regular expression [a- is not valid'),
        ({'kind': 'model_create', 'base': 'llama3.2', 'phrase': ''}, 'Enter the phrase'),
        ({'kind': 'eval_hit', 'min': '1.5'}, 'The hit rate to reach is a number from 0 to 1'),
        ({'kind': 'eval_hit', 'min': '0.5', 'k': '0'}, 'k is a whole number of passages'),
    ],
)
def test_bad_checks_are_refused_with_a_clear_message(spec: dict, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalise(spec)
    assert message in refused.value.message


def test_step_state_and_class_summary() -> None:
    first, second = (
        normalise({'kind': 'output_regex', 'pattern': 'a'}),
        normalise({'kind': 'rag_cites', 'document': 'x'}),
    )
    assert first['id'] != second['id']
    steps = [{'id': 7, 'title': 'Prompting', 'checks': [first, second]}]
    ann = {(7, first['id']): (True, ''), (7, second['id']): (True, '')}
    bob = {(7, first['id']): (False, 'the output did not match a')}
    cy = {(7, first['id']): (False, 'the output did not match a'), (7, second['id']): (True, '')}
    dee: dict = {}
    eve = {(7, second['id']): (True, '')}
    assert [step_state(steps[0]['checks'], r, 7) for r in (ann, bob, cy, dee, eve)] == [
        'passed',
        'failed',
        'failed',
        'untried',
        'partly',
    ]
    summary = class_summary(steps, [ann, bob, cy, dee, eve])
    assert summary[0]['label'] == "a prompt run's output matches a"
    assert (summary[0]['passed'], summary[0]['failed'], summary[0]['untried']) == (1, 2, 2)
    assert summary[0]['reasons'] == [{'reason': 'the output did not match a', 'count': 2}]
    assert (summary[1]['passed'], summary[1]['failed'], summary[1]['untried']) == (3, 0, 2)
