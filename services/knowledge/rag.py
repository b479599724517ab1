"""RAG systems: named configurations, retrieval with reasons, streamed answers with numbered citations.

The page and the REST API both use `RagService`: `retrieve` (what was found, with scores and why each passage was
kept or dropped) and `ask` (an async stream of events: the retrieval first, then answer tokens, then the citations).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from models import Document, KnowledgeBase, RagSystem
from models.knowledge import Visibility
from services.core import actions
from services.core.activity import ActivityService
from services.core.auth import AuthService, UserInfo
from services.core.errors import InvalidInput, NotFound, PermissionDenied
from services.core.i18n import N_
from services.knowledge import retrieval as retrieval_run
from services.knowledge.bases import KnowledgeService
from services.knowledge.retrieval import Retrieval, Retrieved  # noqa: F401 - Retrieved: re-exported
from services.knowledge.retrievers import SETTING_FIELDS, RetrievalSettings, settings_of, validate
from services.knowledge.vector_databases import VectorDatabaseService
from services.models.callers import Purpose
from services.models.calls import ModelCalls

DEFAULT_TEMPLATE = """Answer the question using only the numbered context passages below.
Cite the passages you use with their numbers in square brackets, like [1] or [2][3].
If the context does not contain the answer, say that you do not know.

Context:
{context}

Question: {question}

Answer:"""
CITATION_RE = re.compile(r'\[(\d{1,3})\]')
MAX_TOP_K = 50


@dataclass(kw_only=True, slots=True)
class RagInfo:
    id: int
    owner_id: int
    name: str
    kb_ids: list[int]
    embedding_model: str
    chat_model: str
    prompt_template: str
    top_k: int
    threshold: float
    document_ids: list[int]
    visibility: str
    workshop_id: int | None
    can_edit: bool = False
    retrieval_mode: str = 'dense'
    fusion: str = 'rrf'
    rrf_k: int = 60
    dense_weight: float = 0.5
    candidates: int = 10
    rerank: bool = False
    rerank_model: str = ''
    rerank_candidates: int = 10

    @property
    def settings(self) -> RetrievalSettings:
        return settings_of(self)


def _info(rag: RagSystem, user: UserInfo) -> RagInfo:
    return RagInfo(
        id=rag.id,
        owner_id=rag.owner_id,  # type: ignore[attr-defined]
        name=rag.name,
        kb_ids=list(rag.kb_ids or []),
        embedding_model=rag.embedding_model,
        chat_model=rag.chat_model,
        prompt_template=rag.prompt_template,
        top_k=rag.top_k,
        threshold=rag.threshold,
        document_ids=list(rag.document_ids or []),
        visibility=str(rag.visibility.value if hasattr(rag.visibility, 'value') else rag.visibility),
        workshop_id=rag.workshop_id,
        can_edit=rag.owner_id == user.id,  # type: ignore[attr-defined]
        **{key: getattr(rag, key) for key in SETTING_FIELDS},
    )


def cited_numbers(answer: str) -> list[int]:
    seen: list[int] = []
    for match in CITATION_RE.finditer(answer):
        number = int(match.group(1))
        if number not in seen:
            seen.append(number)
    return seen


def cited_documents(retrieval: Retrieval | None, answer: str) -> list[str]:
    """The names of the documents an answer cites by number, in citation order, each once."""
    if retrieval is None:
        return []
    by_number = {p.number: p.document_name for p in retrieval.kept}
    names = [by_number[n] for n in cited_numbers(answer) if n in by_number]
    return list(dict.fromkeys(names))


class RagService:
    def __init__(
        self,
        auth: AuthService,
        knowledge: KnowledgeService,
        stores: VectorDatabaseService,
        calls: ModelCalls,
        activity: ActivityService,
    ) -> None:
        self.auth = auth
        self.knowledge = knowledge
        self.stores = stores  # the vector store of each knowledge base
        self.calls = calls  # the question's embedding and the answer go through the one model-call path
        self.activity = activity

    # ----- configurations ----------------------------------------------------------------------------------------
    async def _readable(self, user: UserInfo, rag_id: int) -> RagSystem:
        rag = await RagSystem.get_or_none(id=rag_id)
        if rag is None or not await self.knowledge.may_read(user, rag.owner_id, rag.visibility, rag.workshop_id):  # type: ignore[attr-defined]
            raise NotFound(N_('RAG system not found.'))
        return rag

    async def _editable(self, user: UserInfo, rag_id: int) -> RagSystem:
        rag = await self._readable(user, rag_id)
        if rag.owner_id != user.id:  # type: ignore[attr-defined]
            raise PermissionDenied(N_('Only the owner of this RAG system can change it.'))
        return rag

    async def _validated(
        self, user: UserInfo, fields_: dict[str, Any], current: RagSystem | None = None
    ) -> dict[str, Any]:
        out = validate(fields_)  # the retrieval settings
        if out.get('rerank_model'):
            await self.calls.check_model(await self.calls.caller(user.id), out['rerank_model'])
        if 'name' in out:
            out['name'] = ' '.join((out['name'] or '').split())
            if not 1 <= len(out['name']) <= 120:
                raise InvalidInput(N_('Give the RAG system a name of 1 to 120 characters.'))
        if 'kb_ids' in out:
            kb_ids = [int(k) for k in out['kb_ids']]
            if not kb_ids:
                raise InvalidInput(N_('Choose at least one knowledge base.'))
            for kb_id in kb_ids:
                await self.knowledge.readable_kb(user.id, kb_id)  # NotFound for someone else's private KB
            out['kb_ids'] = kb_ids
        if 'prompt_template' in out:
            template = out['prompt_template'] or DEFAULT_TEMPLATE
            if '{context}' not in template or '{question}' not in template:
                raise InvalidInput(N_('The prompt template must contain {context} and {question}.'))
            out['prompt_template'] = template
        if 'top_k' in out and not 1 <= int(out['top_k']) <= MAX_TOP_K:
            raise InvalidInput(N_('Top-k must be between 1 and {MAX_TOP_K}.', MAX_TOP_K=MAX_TOP_K))
        if 'threshold' in out and not -1.0 <= float(out['threshold']) <= 1.0:
            raise InvalidInput(N_('The similarity threshold must be between -1 and 1 (0 keeps everything positive).'))
        for key in ('embedding_model', 'chat_model'):
            if key in out and not (out[key] or '').strip():
                raise InvalidInput(N_('Choose an embedding model and a chat model.'))
        if 'document_ids' in out:
            ids = [int(d) for d in out['document_ids'] or []]
            kb_ids = out.get('kb_ids') or []
            if ids and await Document.filter(id__in=ids, kb_id__in=kb_ids).count() != len(set(ids)):
                raise NotFound(N_('Document not found in the chosen knowledge bases.'))
            out['document_ids'] = ids
        if 'visibility' in out:
            if out['visibility'] not in {v.value for v in Visibility}:
                raise InvalidInput(N_('Visibility must be private, workshop or public.'))
            if out['visibility'] == Visibility.WORKSHOP and out.get('workshop_id') is None:
                raise InvalidInput(N_('Choose the workshop to share this RAG system with.'))
        if 'visibility' in out or 'workshop_id' in out:
            now = (current.visibility, current.workshop_id) if current is not None else None
            visibility = out.get('visibility', now[0] if now else Visibility.PRIVATE)
            workshop_id = out.get('workshop_id', now[1] if now else None)
            await self.knowledge.sharing.check_share(user, visibility, workshop_id, current=now)
        return out

    async def create(
        self,
        actor_id: int,
        *,
        name: str,
        kb_ids: list[int],
        embedding_model: str | None = None,
        chat_model: str,
        prompt_template: str = DEFAULT_TEMPLATE,
        top_k: int = 4,
        threshold: float = 0.0,
        document_ids: list[int] | None = None,
        visibility: str = 'private',
        workshop_id: int | None = None,
        **retrieval: Any,
    ) -> RagInfo:
        """A new RAG system; `retrieval` takes the retrieval settings (retrieval_mode, fusion, rrf_k, dense_weight,
        candidates, rerank, rerank_model, rerank_candidates), dense retrieval without reranking by default."""
        user = await self.auth.require(actor_id)
        unknown = set(retrieval) - set(SETTING_FIELDS)
        if unknown:
            raise InvalidInput(N_('Unknown setting(s): {unknown}.', unknown=', '.join(sorted(unknown))))
        if not embedding_model and kb_ids:
            embedding_model = (await self.knowledge.readable_kb(actor_id, int(kb_ids[0]))).embedding_model
        values = await self._validated(
            user,
            {
                'name': name,
                'kb_ids': kb_ids,
                'embedding_model': embedding_model or '',
                'chat_model': chat_model,
                'prompt_template': prompt_template,
                'top_k': top_k,
                'threshold': threshold,
                'document_ids': document_ids or [],
                'visibility': visibility,
                'workshop_id': workshop_id,
                **retrieval,
            },
        )
        rag = await RagSystem.create(owner_id=user.id, **values)
        return _info(rag, user)

    async def update(self, actor_id: int, rag_id: int, **changes: Any) -> RagInfo:
        user = await self.auth.require(actor_id)
        rag = await self._editable(user, rag_id)
        if 'document_ids' in changes and 'kb_ids' not in changes:
            changes['kb_ids'] = rag.kb_ids
        values = await self._validated(user, changes, rag)
        for key, value in values.items():
            setattr(rag, key, value)
        await rag.save()
        return _info(rag, user)

    async def get(self, actor_id: int, rag_id: int) -> RagInfo:
        user = await self.auth.require(actor_id)
        return _info(await self._readable(user, rag_id), user)

    async def list_systems(self, actor_id: int) -> list[RagInfo]:
        user = await self.auth.require(actor_id)
        query = await self.knowledge.sharing.visible_q(user)
        return [_info(r, user) for r in await RagSystem.filter(query).order_by('name')]

    async def delete(self, actor_id: int, rag_id: int) -> None:
        user = await self.auth.require(actor_id)
        await (await self._editable(user, rag_id)).delete()

    # ----- retrieval ---------------------------------------------------------------------------------------------
    async def retrieve(
        self,
        actor_id: int,
        rag_id: int,
        question: str,
        *,
        query: str | None = None,
        purpose: Purpose = Purpose.RAG_RETRIEVAL,
        settings: RetrievalSettings | None = None,
    ) -> Retrieval:
        """The passages for a question (`purpose`: a search, or one question of an evaluation). `settings` replaces
        the system's retrieval settings for this retrieval (the evaluation compares modes on one question set)."""
        user = await self.auth.require(actor_id)
        rag = await self._readable(user, rag_id)
        if settings is not None and settings.rerank and settings.rerank_model:
            await self.calls.check_model(await self.calls.caller(user.id), settings.rerank_model)
        return await self._retrieve(user, rag, question, query or question, purpose, settings)

    async def _retrieve(
        self,
        user: UserInfo,
        rag: RagSystem,
        question: str,
        query: str,
        purpose: Purpose = Purpose.RAG_RETRIEVAL,
        settings: RetrievalSettings | None = None,
    ) -> Retrieval:
        question = (question or '').strip()
        if not question:
            raise InvalidInput(N_('Type a question first.'))
        if len(question) > 4000:
            raise InvalidInput(N_('The question is too long (at most 4,000 characters).'))
        kbs: list[KnowledgeBase] = [await self.knowledge.readable_kb(user.id, kb_id) for kb_id in rag.kb_ids]
        return await retrieval_run.run(
            knowledge=self.knowledge, stores=self.stores, calls=self.calls, caller=await self.calls.caller(user.id),
            kbs=kbs, rag=rag, settings=settings or settings_of(rag), question=question, query=query, purpose=purpose,
        )  # fmt: skip

    # ----- answers -----------------------------------------------------------------------------------------------
    @staticmethod
    def build_prompt(template: str, retrieval: Retrieval) -> str:
        context = '\n\n'.join(f'[{p.number}] ({p.document_name}) {p.text}' for p in retrieval.kept) or '(no context)'
        return template.replace('{context}', context).replace('{question}', retrieval.question)

    async def ask(
        self,
        actor_id: int,
        rag_id: int,
        question: str,
        history: list[dict[str, str]] | None = None,
        *,
        purpose: Purpose = Purpose.RAG_ASK,
        on_wait: Callable[[int], None] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Stream {'type': 'retrieval'}, then {'type': 'token', 'text'}..., then {'type': 'done', 'answer',
        'cited': [numbers], 'latency_ms'}. `history` (earlier user/assistant turns) keeps follow-ups in context.
        Refusals (quota, the per-user limit, a model the workshop does not allow) raise before anything is sent."""
        user = await self.auth.require(actor_id)
        rag = await self._readable(user, rag_id)
        caller = await self.calls.caller(user.id)
        await self.calls.admit(caller, purpose, rag.chat_model)
        await self.calls.check_model(caller, rag.embedding_model)
        history = [m for m in (history or []) if m.get('role') in ('user', 'assistant')][-12:]
        previous = [m['content'] for m in history if m['role'] == 'user'][-1:]
        query = ' '.join([*previous, question])  # a follow-up like "and its price?" searches with its context
        started = time.perf_counter()
        error = None
        retrieval = None
        answer = ''
        try:
            retrieval = await self._retrieve(user, rag, question, query)
            yield {'type': 'retrieval', 'retrieval': retrieval}
            messages = [*history, {'role': 'user', 'content': self.build_prompt(rag.prompt_template, retrieval)}]
            stream = await self.calls.chat_stream(
                caller, purpose, model=rag.chat_model, messages=messages, on_wait=on_wait
            )
            try:
                async for part in stream:
                    text = part.message.content or ''
                    if text:
                        answer += text
                        yield {'type': 'token', 'text': text}
            finally:
                await stream.aclose()
            valid = {p.number for p in retrieval.kept}
            yield {
                'type': 'done',
                'answer': answer,
                'cited': [n for n in cited_numbers(answer) if n in valid],
                'latency_ms': (time.perf_counter() - started) * 1000,
            }
        except Exception as exc:
            error = getattr(exc, 'message', str(exc))
            raise
        finally:
            await self.activity.record(
                user.id,
                actions.RAG_QUERY,
                model=rag.chat_model,
                latency_ms=(time.perf_counter() - started) * 1000,
                error=error,
                rag_id=rag.id,
                retrieved=len(retrieval.kept) if retrieval else 0,
                retrieval_ms=round(retrieval.latency_ms, 1) if retrieval else None,
                cited=cited_documents(retrieval, answer),  # names, for a workshop step's checks
            )

    async def answer(
        self, actor_id: int, rag_id: int, question: str, *, purpose: Purpose = Purpose.RAG_ASK
    ) -> tuple[Retrieval, str, list[int]]:
        """The whole answer at once (evaluation, the REST API)."""
        retrieval, answer, cited = None, '', []
        async for event in self.ask(actor_id, rag_id, question, purpose=purpose):
            if event['type'] == 'retrieval':
                retrieval = event['retrieval']
            elif event['type'] == 'done':
                answer, cited = event['answer'], event['cited']
        assert retrieval is not None
        return retrieval, answer, cited
