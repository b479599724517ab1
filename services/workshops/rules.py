"""Automatic step completion: rules over the activity log, chosen from a short list an instructor understands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.core import actions
from services.core.errors import InvalidInput
from services.core.i18n import N_


@dataclass(kw_only=True, slots=True, frozen=True)
class RuleChoice:
    key: str
    label: str
    action: str
    detail: str | None = None  # a numeric detail of the activity that must be at least `min`
    min: int = 0
    link: str = ''  # the platform area the step needs ({workshop_id}: this workshop's)


RULES: list[RuleChoice] = [
    RuleChoice(key='chat', label=N_('ran a chat with a model'), action=actions.CHAT, link='/playground'),
    RuleChoice(
        key='prompt_variable',
        label=N_('created a prompt with a variable'),
        action=actions.PROMPT_CREATE,
        detail='variables',
        min=1,
        link='/prompts',
    ),
    RuleChoice(key='prompt', label=N_('created a prompt'), action=actions.PROMPT_CREATE, link='/prompts'),
    RuleChoice(key='prompt_run', label=N_('ran a prompt'), action=actions.PROMPT_RUN, link='/prompts'),
    RuleChoice(key='rag_query', label=N_('asked a RAG system a question'), action=actions.RAG_QUERY, link='/rag'),
    RuleChoice(key='tool_call', label=N_('made a tool call'), action=actions.TOOL_CALL, link='/tools/chat'),
    RuleChoice(
        key='document_upload', label=N_('uploaded a document'), action=actions.DOCUMENT_UPLOAD, link='/knowledge'
    ),
    RuleChoice(key='embed', label=N_('computed embeddings'), action=actions.EMBED, link='/embeddings'),
    RuleChoice(
        key='arena_vote',
        label=N_('voted in the arena'),
        action=actions.ARENA_VOTE,
        link='/workshops/{workshop_id}/arena',
    ),
]
RULES_BY_KEY = {r.key: r for r in RULES}

# the page of each kind of shared resource (its id appended); tests/ui/test_workshop_identity.py opens every link
RESOURCE_KINDS = {'prompt': '/prompts', 'tool': '/tools', 'knowledge': '/knowledge', 'rag': '/rag'}


def rule_options() -> dict[str, str]:
    """Choices for a select: key -> label (the empty key means 'tick manually')."""
    return {'': N_('tick manually only'), **{r.key: r.label for r in RULES}}


def normalise_rule(key: str | None) -> dict[str, Any] | None:
    if not key:
        return None
    choice = RULES_BY_KEY.get(key)
    if choice is None:
        raise InvalidInput(N_('Unknown completion rule. Pick one from the list.'))
    rule: dict[str, Any] = {'key': choice.key, 'action': choice.action}
    if choice.detail:
        rule['detail'] = choice.detail
        rule['min'] = choice.min
    return rule


def rule_label(rule: dict[str, Any] | None) -> str:
    if not rule:
        return ''
    choice = RULES_BY_KEY.get(rule.get('key', ''))
    return choice.label if choice else rule.get('action', '')


def rule_link(rule: dict[str, Any] | None, workshop_id: int) -> str:
    if not rule:
        return ''
    choice = RULES_BY_KEY.get(rule.get('key', ''))
    return choice.link.format(workshop_id=workshop_id) if choice else ''


def matches(rule: dict[str, Any] | None, action: str, error: str | None, details: dict[str, Any]) -> bool:
    """Whether one activity satisfies the rule. Failed actions never complete a step."""
    if not rule or error or rule.get('action') != action:
        return False
    detail = rule.get('detail')
    if detail:
        try:
            return float(details.get(detail) or 0) >= float(rule.get('min', 1))
        except (TypeError, ValueError):
            return False
    return True
