"""The built-in tool "search_knowledge": a model searches a knowledge base the calling user may read.

Registered into the built-in tool registry by the composition root; access is checked for the user on whose behalf
the tool runs (another user's private knowledge base is "not found", as everywhere else).
"""

from __future__ import annotations

from typing import Any

from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.knowledge.embeddings import EmbeddingsService
from services.tools.builtins import BuiltinRegistry, BuiltinTool, ToolContext


def register_knowledge_search(registry: BuiltinRegistry, embeddings: EmbeddingsService) -> None:
    async def search(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            kb_id = int(arguments.get('knowledge_base_id'))
        except (TypeError, ValueError) as exc:
            raise InvalidInput(N_('knowledge_base_id must be the number of a knowledge base.')) from exc
        query = str(arguments.get('query') or '')
        k = max(1, min(int(arguments.get('top_k') or 3), 10))
        hits = await embeddings.neighbours(context.actor_id, kb_id, query, k)
        return {
            'query': query,
            'results': [
                {'score': h.score, 'document': h.document_name, 'chunk': h.index, 'text': h.text} for h in hits
            ],
        }

    registry.register(
        BuiltinTool(
            key='search_knowledge',
            label='Search a knowledge base',
            description='Find the passages of a knowledge base most similar to a query (semantic search).',
            parameters={
                'type': 'object',
                'properties': {
                    'knowledge_base_id': {'type': 'integer', 'description': 'The number of the knowledge base'},
                    'query': {'type': 'string', 'description': 'What to look for'},
                    'top_k': {'type': 'integer', 'description': 'How many passages (1-10, default 3)'},
                },
                'required': ['knowledge_base_id', 'query'],
            },
            handler=search,
        )
    )
