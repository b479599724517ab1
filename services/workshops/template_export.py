"""Writing a workshop to a template: its agenda, settings and shared resources (prompts, tools, knowledge bases with
their documents optionally, RAG systems), read through the services that own them, as the exporting manager sees them.

Used by `services.workshops.templates.WorkshopTemplates.export`; the format is `services.workshops.template_format`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from services.core.errors import ServiceError
from services.core.i18n import N_
from services.workshops.template_format import FORMAT, VERSION

if TYPE_CHECKING:
    from services.knowledge.bases import KnowledgeService
    from services.knowledge.rag import RagService
    from services.prompts.library import PromptService
    from services.tools.library import ToolService
    from services.workshops.types import WorkshopInfo


class Sources(Protocol):
    """What an export reads: the areas' services and the registered extensions (`WorkshopTemplates` has them)."""

    prompts: PromptService
    tools: ToolService
    knowledge: KnowledgeService
    rag: RagService
    sections: dict[str, Any]
    step_fields: dict[str, Any]


@dataclass(kw_only=True, slots=True)
class Exported:
    data: dict[str, Any]
    documents: dict[str, bytes] = field(default_factory=dict)  # path in the .zip -> content
    notes: list[str] = field(default_factory=list)  # what was left out, and why


def slug(name: str, taken: set[str]) -> str:
    """A readable key for an entry, unique in its section."""
    base = re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')[:40] or 'item'
    key, n = base, 2
    while key in taken:
        key, n = f'{base}-{n}', n + 1
    taken.add(key)
    return key


async def build(owner: Sources, actor_id: int, info: WorkshopInfo, *, include_documents: bool) -> Exported:
    out = Exported(
        data={
            'format': FORMAT,
            'version': VERSION,
            'exported_at': datetime.now(UTC).isoformat(timespec='seconds'),
            'generator': 'Ollama Workshop Platform',
            'workshop': {
                'title': info.title,
                'description': info.description,
                'allowed_models': list(info.allowed_models),
                'stuck_minutes': info.stuck_minutes,
                'attendees_may_share': info.attendees_may_share,
            },
            'steps': [],
        }
    )
    for step in info.steps:
        entry: dict[str, Any] = {
            'title': step.title,
            'instructions': step.instructions,
            'rule': (step.rule or {}).get('key') or None,
        }
        for name, extension in owner.step_fields.items():
            value = await extension.export(actor_id, info.id, step.id)
            if value is not None:
                entry[name] = value
        out.data['steps'].append(entry)
    shared = {(r.kind, r.resource_id) for r in info.resources}
    prompts, tools = [], []
    kbs: dict[int, dict[str, Any]] = {}
    rags: list[Any] = []
    keys: dict[str, set[str]] = {'prompt': set(), 'tool': set(), 'knowledge': set(), 'rag': set()}
    for res in info.resources:
        try:
            if res.kind == 'prompt':
                prompts.append(await _prompt(owner, actor_id, res.resource_id, keys['prompt']))
            elif res.kind == 'tool':
                tools.append(await _tool(owner, actor_id, res.resource_id, keys['tool'], out.notes))
            elif res.kind == 'knowledge':
                kbs[res.resource_id] = await _kb(owner, actor_id, res.resource_id, keys['knowledge'])
            elif res.kind == 'rag':
                rags.append(await owner.rag.get(actor_id, res.resource_id))
        except ServiceError as exc:
            out.notes.append(
                N_(
                    'The shared {kind} "{label}" was left out: {message}',
                    kind=res.kind,
                    label=res.label,
                    message=exc.message,
                )
            )
    rag_entries = []
    for rag in rags:
        try:
            for kb_id in rag.kb_ids:  # a knowledge base the RAG system needs comes along, not shared
                if kb_id not in kbs:
                    kbs[kb_id] = await _kb(owner, actor_id, kb_id, keys['knowledge'])
                    kbs[kb_id]['share'] = ('knowledge', kb_id) in shared
        except ServiceError as exc:
            out.notes.append(
                N_(
                    'The RAG system "{name}" was left out: one of its knowledge bases: {message}',
                    name=rag.name,
                    message=exc.message,
                )
            )
            continue
        rag_entries.append(
            {
                'key': slug(rag.name, keys['rag']),
                'name': rag.name,
                'knowledge_bases': [kbs[k]['key'] for k in rag.kb_ids],
                'chat_model': rag.chat_model,
                'embedding_model': rag.embedding_model,
                'prompt_template': rag.prompt_template,
                'top_k': rag.top_k,
                'threshold': rag.threshold,
                'share': ('rag', rag.id) in shared,
            }
        )
    for kb_id, entry in kbs.items():
        entry['documents'] = await _documents(owner, actor_id, kb_id, entry['key'], include_documents, out)
    out.data.update(prompts=prompts, tools=tools, knowledge_bases=list(kbs.values()), rag_systems=rag_entries)
    for name, section in owner.sections.items():
        value = await section.export(actor_id, info.id)
        if value is not None:
            out.data[name] = value
    return out


async def _prompt(owner: Sources, actor_id: int, prompt_id: int, taken: set[str]) -> dict[str, Any]:
    detail = await owner.prompts.get(actor_id, prompt_id)
    v = detail.current
    return {
        'key': slug(detail.name, taken),
        'name': detail.name,
        'description': detail.description,
        'tags': list(detail.tags),
        'system_template': v.system_template,
        'user_template': v.user_template,
        'variables': v.variables_spec(),
        'default_model': v.default_model,
        'options': dict(v.options),
        'share': True,
    }


async def _tool(owner: Sources, actor_id: int, tool_id: int, taken: set[str], notes: list[str]) -> dict[str, Any]:
    tool = await owner.tools.get(actor_id, tool_id)
    config = dict(tool.config)
    if config.get('headers'):  # they may hold API keys: names only, values are set again after the import
        config['headers'] = {name: '' for name in config['headers']}
        notes.append(
            N_('The header values of the HTTP tool "{name}" are not exported (they may be secrets).', name=tool.name)
        )
    return {
        'key': slug(tool.name, taken),
        'name': tool.name,
        'description': tool.description,
        'kind': tool.kind,
        'parameters': dict(tool.parameters),
        'config': config,
        'share': True,
    }


async def _kb(owner: Sources, actor_id: int, kb_id: int, taken: set[str]) -> dict[str, Any]:
    kb = await owner.knowledge.get_kb(actor_id, kb_id)
    return {
        'key': slug(kb.name, taken),
        'name': kb.name,
        'description': kb.description,
        'embedding_model': kb.embedding_model,
        'metric': kb.metric,
        'splitter': kb.splitter,
        'chunk_size': kb.chunk_size,
        'chunk_overlap': kb.chunk_overlap,
        'share': True,
    }


async def _documents(
    owner: Sources, actor_id: int, kb_id: int, key: str, include: bool, out: Exported
) -> list[dict[str, Any]]:
    docs = []
    for doc in await owner.knowledge.list_documents(actor_id, kb_id):
        entry: dict[str, Any] = {'name': doc.name, 'size': doc.size, 'sha256': doc.sha256}
        if include:
            try:
                _, content = await owner.knowledge.document_file(actor_id, doc.id)
            except ServiceError as exc:
                out.notes.append(exc.message)
            else:
                path = f'documents/{key}/{doc.id}-{doc.name}'
                out.documents[path] = content
                entry['file'] = path
        docs.append(entry)
    return docs
