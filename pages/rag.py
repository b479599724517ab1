"""RAG systems: configure, ask with streamed cited answers, inspect retrieval, converse, evaluate."""

from __future__ import annotations

from nicegui import APIRouter, ui

from components.chat_view import waiting_text
from components.code_dialog import code_button
from components.forms import guarded
from components.frame import frame
from components.knowledge_parts import (
    LINK,
    MUTED,
    PRIMARY_TEXT,
    VISIBILITY,
    WARNING_TEXT,
    document_dialog,
    model_names,
    translated,
)
from pages.common import page_user
from pages.rag_eval import evaluation_section
from pages.rag_settings import describe, retrieval_controls, settings_section
from services.core import i18n
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.i18n import _, _n
from services.knowledge.rag import DEFAULT_TEMPLATE, RagInfo, Retrieval, Retrieved
from services.models.errors import OllamaError
from services.wiring import Services


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/rag')

    @router.page('')
    async def rag_page() -> None:
        user = await page_user(services)
        if user is None:
            return
        with frame(services, user, _('RAG')):
            ui.label(_('A RAG system retrieves passages from knowledge bases and lets a chat model answer with them.'))
            kbs = await services.knowledge.list_kbs(user.id)
            chat_models = await model_names(services, user.id, 'chat')
            with ui.expansion(_('New RAG system'), icon='add').classes('w-full').mark('rag-new'):
                if not kbs:
                    ui.label(_('Create a knowledge base first (Knowledge).')).classes(MUTED)
                else:
                    _create_form(services, user, kbs, chat_models)
            systems = await services.rag.list_systems(user.id)
            if not systems:
                ui.label(_('No RAG systems yet.')).classes(MUTED)
            for rag in systems:
                with ui.card().props('flat bordered').classes('w-full py-2'), ui.row().classes('items-center'):
                    ui.link(rag.name, f'/rag/{rag.id}').classes(f'font-semibold {LINK}')
                    line = _('{model} · top-{k} · threshold {threshold} · {retrieval}', model=rag.chat_model,
                             k=rag.top_k, threshold=rag.threshold, retrieval=describe(rag))  # fmt: skip
                    ui.label(line).classes(f'text-sm {MUTED}')

    @router.page('/{rag_id:int}')
    async def rag_detail(rag_id: int) -> None:
        user = await page_user(services)
        if user is None:
            return
        try:
            rag = await services.rag.get(user.id, rag_id)
        except ServiceError as exc:
            with frame(services, user, _('RAG')):
                ui.label(_(exc.message)).classes('text-xl')
                ui.link(_('Back to the RAG systems'), '/rag').classes(LINK)
            return
        with frame(services, user, rag.name):
            code_button(
                lambda: services.scripts.rag.script(user.id, rag_id),
                bundle=lambda: services.scripts.rag.bundle(user.id, rag_id),
            )
            await _ask_view(services, user, rag)
            await evaluation_section(services, user, rag)

    return router


def _create_form(services: Services, user: UserInfo, kbs, chat_models: list[str]) -> None:
    name = ui.input(_('Name')).classes('w-full').mark('rag-name')
    kb_select = ui.select({k.id: k.name for k in kbs}, value=[kbs[0].id], multiple=True, label=_('Knowledge bases'))
    kb_select.classes('w-full').mark('rag-kbs')
    chat = ui.select(chat_models, value=chat_models[0] if chat_models else None, label=_('Chat model'),
                     new_value_mode='add-unique').classes('w-full').mark('rag-chat')  # fmt: skip
    with ui.row():
        top_k = ui.number(_('Top-k'), value=4, min=1, max=50).classes('w-24')
        threshold = ui.number(_('Similarity threshold'), value=0.0, min=-1, max=1, step=0.05).classes('w-44')
        visibility = ui.select(translated(VISIBILITY), value='private', label=_('Visibility')).classes('w-56')
    retrieval = retrieval_controls()
    template = ui.textarea(_('Prompt template ({context} and {question})'), value=DEFAULT_TEMPLATE).props('autogrow')
    template.classes('w-full').mark('rag-template')

    async def create() -> None:
        kb_ids = list(kb_select.value or [])
        info = await guarded(
            lambda: services.rag.create(
                user.id,
                name=name.value or '',
                kb_ids=kb_ids,
                chat_model=chat.value or '',
                top_k=int(top_k.value or 4),
                threshold=float(threshold.value or 0),
                prompt_template=template.value or '',
                visibility=visibility.value,
                **retrieval(),
            ),
            success=_('RAG system created.'),
        )
        if info:
            ui.navigate.to(f'/rag/{info.id}')

    ui.button(_('Create'), on_click=create).mark('rag-create')


def _retrieval_panel(services: Services, user: UserInfo, retrieval: Retrieval) -> None:
    ui.label(
        _('{mode} · retrieved in {ms} ms · top-k {k} · threshold {threshold}', mode=_(retrieval.mode),
          ms=i18n.number(retrieval.latency_ms, 0), k=retrieval.top_k, threshold=retrieval.threshold)
    ).classes(f'text-xs {MUTED}').mark('retrieval-mode')  # fmt: skip
    for note in retrieval.notes:
        ui.label(_(note)).classes(f'text-xs {WARNING_TEXT}')
    for p in retrieval.passages:
        colour = 'green-9' if p.kept else 'grey-8'
        with ui.row().classes('items-start w-full no-wrap border-b py-1'):
            ui.badge(f'[{p.number}]' if p.kept else _('dropped'), color=colour)
            ui.badge(f'{p.score:.3f}', color='blue-grey-8')
            with ui.column().classes('gap-0'):
                _found_by(p)
                ui.button(
                    f'{p.document_name} #{p.index}',
                    on_click=lambda p=p: document_dialog(services, user, p.document_id, p.document_name, p.index),
                ).props('flat dense no-caps size=sm').classes(PRIMARY_TEXT)
                ui.label(_(p.reason)).classes(f'text-xs {MUTED}').mark('retrieval-reason')
                ui.label(p.text[:300]).classes('text-xs')


def _found_by(p: Retrieved) -> None:
    """How a passage was found: its rank and score in each retriever, the fused score, the reranker's rating."""
    with ui.row().classes('gap-1').mark('found-by'):
        if p.dense_rank is not None:
            ui.badge(_('dense #{rank} · {score}', rank=p.dense_rank, score=f'{p.dense_score:.3f}'), color='indigo-8')
        if p.keyword_rank is not None:
            text = _('keyword #{rank} · BM25 {score}', rank=p.keyword_rank, score=f'{p.keyword_score:.2f}')
            ui.badge(text, color='teal-9')
        if p.fused_score is not None:
            ui.badge(_('fused {score}', score=f'{p.fused_score:.4f}'), color='brown-8')
        if p.rerank_score is not None:
            ui.badge(_('rerank {score}', score=f'{p.rerank_score:g}'), color='deep-orange-10')


async def _ask_view(services: Services, user: UserInfo, rag: RagInfo) -> None:
    summary = ui.label().classes(f'text-sm {MUTED}').mark('rag-summary')

    def show_summary(info: RagInfo) -> None:
        count = len(info.kb_ids)
        summary.set_text(
            _n('{model} answering from {count} knowledge base(s) with {embedding} · top-{k} · threshold {threshold} · '
               '{retrieval}', '{model} answering from {count} knowledge base(s) with {embedding} · top-{k} · '
               'threshold {threshold} · {retrieval}', count, model=info.chat_model, count=count,
               embedding=info.embedding_model, k=info.top_k, threshold=info.threshold, retrieval=describe(info))
        )  # fmt: skip

    show_summary(rag)
    settings_section(services, user, rag, show_summary)
    history: list[dict[str, str]] = []
    with ui.row().classes('w-full items-center'):
        question = (
            ui.textarea(_('Question'), placeholder=_('Ctrl+Enter to ask')).props('autogrow outlined').classes('grow')
        )
        question.mark('question')
        with ui.column():
            ask_button = ui.button(_('Ask'), icon='send').mark('ask')
            retrieve_button = ui.button(_('Retrieve only'), icon='manage_search').props('outline').mark('retrieve')
            retrieve_button.classes(PRIMARY_TEXT)
            conversation = ui.switch(_('Conversation'), value=False).mark('conversation')
    with ui.row().classes('w-full no-wrap items-start'):
        answers = ui.column().classes('w-3/5 gap-2').props('role=log aria-live=polite')  # streamed answers
        answers._props['aria-label'] = _('Answers')
        with ui.column().classes('w-2/5'):
            ui.label(_('Retrieval')).classes('font-semibold')
            panel = ui.column().classes('w-full gap-0').props('aria-live=polite').mark('retrieval')

    async def retrieve_only() -> None:
        retrieval = await guarded(lambda: services.rag.retrieve(user.id, rag.id, question.value or ''))
        if retrieval:
            panel.clear()
            with panel:
                _retrieval_panel(services, user, retrieval)

    async def ask() -> None:
        text = (question.value or '').strip()
        if not conversation.value:
            history.clear()
            answers.clear()
        with answers, ui.card().props('flat bordered').classes('w-full'):
            ui.label(text).classes('font-semibold')
            reply = ui.markdown('…').mark('answer')
            sources = ui.row().classes('gap-1')
        ask_button.props('loading')
        retrieval: Retrieval | None = None
        answer = ''
        try:

            def waiting(ahead: int) -> None:
                reply.set_content(f'_{waiting_text(ahead)}_')

            async for event in services.rag.ask(user.id, rag.id, text, list(history), on_wait=waiting):
                if event['type'] == 'retrieval':
                    retrieval = event['retrieval']
                    panel.clear()
                    with panel:
                        _retrieval_panel(services, user, retrieval)
                elif event['type'] == 'token':
                    answer += event['text']
                    reply.set_content(answer)
                else:
                    _citations(services, user, sources, retrieval, event['cited'])
        except (ServiceError, OllamaError) as exc:
            reply.set_content(_('**Could not answer:** {error}', error=_(exc.message)))
            return
        finally:
            ask_button.props(remove='loading')
        history.extend([{'role': 'user', 'content': text}, {'role': 'assistant', 'content': answer}])
        question.set_value('')

    ask_button.on_click(ask)
    retrieve_button.on_click(retrieve_only)
    question.on('keydown.ctrl.enter', ask)


def _citations(services: Services, user: UserInfo, row: ui.row, retrieval: Retrieval | None, cited: list[int]) -> None:
    if retrieval is None:
        return
    with row:
        kept = retrieval.kept
        if not kept:
            ui.label(_('No sources passed top-k and the threshold.')).classes(f'text-xs {MUTED}')
        for p in kept:
            if p.number in cited:
                label = f'[{p.number}] {p.document_name}'
            else:
                label = _('[{number}] {document} (not cited)', number=p.number, document=p.document_name)
            ui.button(
                label, on_click=lambda p=p: document_dialog(services, user, p.document_id, p.document_name, p.index)
            ).props(f'dense no-caps size=sm {"" if p.number in cited else "outline"}').mark(f'cite-{p.number}').classes(
                '' if p.number in cited else PRIMARY_TEXT
            )
