"""Who asks for a model call and why: what every call through `services.models.calls` carries.

A `Caller` is a person (with their role and the live workshop they are in, if any) or the platform itself (background
work such as the catalogue refresh and the health checks). A `Purpose` says which feature made the call; it decides
whether the call counts against quotas and whether it takes one of the caller's concurrent-call slots.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models import Role


class Purpose(StrEnum):
    PLAYGROUND = 'playground'  # the playground page (and its tool-calling replies: see TOOL_ROUND)
    CONVERSATION = 'conversation'  # conversation messages through the REST API
    API = 'api'  # /api/v1/chat and /api/v1/embed
    OPENAI = 'openai'  # the OpenAI-compatible gateway (/v1)
    SIDE_BY_SIDE = 'side_by_side'  # one model's answer in a comparison
    TOOL_ROUND = 'tool_round'  # one model call of the function-calling loop
    PROMPT_RUN = 'prompt_run'  # one run of a prompt template
    BATCH_ROW = 'batch_row'  # one row of a batch run (a batch of N rows is N calls)
    EMBEDDINGS = 'embeddings'  # the embeddings explorer (similarity of sentences, neighbours)
    RAG_ASK = 'rag_ask'  # the answer of a RAG question
    RAG_RETRIEVAL = 'rag_retrieval'  # embedding the question of a RAG ask or search
    EVALUATION = 'evaluation'  # one question of a retrieval evaluation
    INGESTION = 'ingestion'  # embedding a document's chunks (background job)
    WORKSHOP_CHECK = 'workshop_check'  # the workshop's look at which models are loaded
    ADMIN = 'admin'  # pull, create, copy, delete, unload, show (instructors and admins)
    CATALOGUE = 'catalogue'  # the background catalogue refresh and host routing (list, show, ps)
    HEALTH = 'health'  # host health checks (version)


# Calls made for a person that count against their quotas: one request each, and their tokens. Embedding a RAG
# question is part of the ask; ingestion is background work on the owner's documents.
COUNTED: frozenset[Purpose] = frozenset(
    {
        Purpose.PLAYGROUND,
        Purpose.CONVERSATION,
        Purpose.API,
        Purpose.OPENAI,
        Purpose.SIDE_BY_SIDE,
        Purpose.TOOL_ROUND,
        Purpose.PROMPT_RUN,
        Purpose.BATCH_ROW,
        Purpose.EMBEDDINGS,
        Purpose.RAG_ASK,
        Purpose.EVALUATION,
    }
)
# Calls that take one of the caller's concurrent-call slots (the per-user limit): everything a person starts.
LIMITED: frozenset[Purpose] = COUNTED | {Purpose.RAG_RETRIEVAL}


@dataclass(kw_only=True, slots=True, frozen=True)
class Caller:
    user_id: int | None  # None: the platform itself
    role: Role | None = None
    workshop_id: int | None = None  # the live workshop the person takes part in

    @property
    def is_system(self) -> bool:
        return self.user_id is None

    @property
    def restricted(self) -> bool:
        """Attendees are held to their workshop's allowed models and may not set host-level options or keep_alive;
        instructors and admins (and the platform itself) are not."""
        return self.role is not None and not is_staff(self.role)


def is_staff(role: Role) -> bool:
    """Instructors and admins: what `Caller.restricted` is not (for a person whose caller is not built)."""
    return role.rank >= Role.INSTRUCTOR.rank


SYSTEM = Caller(user_id=None)
