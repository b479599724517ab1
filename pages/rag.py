"""RAG systems: configure, ask with streamed cited answers, inspect retrieval, converse, evaluate."""

from __future__ import annotations

from nicegui import APIRouter, ui

from components.chat_view import waiting_text
from components.code_dialog import code_button
from components.forms import guarded
from components.frame import frame
from components.knowledge_parts import VISIBILITY, document_dialog, model_names
from pages.common import page_user
from pages.rag_eval import evaluation_section
from pages.rag_settings import describe, retrieval_controls, settings_section
from services.core.auth import UserInfo
from services.core.errors import ServiceError
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
        with frame(services, user, 'RAG'):
            ui.label('A RAG system retrieves passages from knowledge bases and lets a chat model answer with them.')
            kbs = await services.knowledge.list_kbs(user.id)
            chat_models = await model_names(services, user.id, 'chat')
            with ui.expansion('New RAG system', icon='add').classes('w-full').mark('rag-new'):
                if not kbs:
                    ui.label('Create a knowledge base first (Knowledge).').classes('text-gray-500')
                else:
                    _create_form(services, user, kbs, chat_models)
            systems = await services.rag.list_systems(user.id)
            if not systems:
                ui.label('No RAG systems yet.').classes('text-gray-500')
            for rag in systems:
                with ui.card().props('flat bordered').classes('w-full py-2'), ui.row().classes('items-center'):
                    ui.link(rag.name, f'/rag/{rag.id}').classes('font-semibold')
                    line = f'{rag.chat_model} · top-{rag.top_k} · threshold {rag.threshold} · {describe(rag)}'
                    ui.label(line).classes('text-sm text-gray-500')

    @router.page('/{rag_id:int}')
    async def rag_detail(rag_id: int) -> None:
        user = await page_user(services)
        if user is None:
            return
        try:
            rag = await services.rag.get(user.id, rag_id)
        except ServiceError as exc:
            with frame(services, user, 'RAG'):
                ui.label(exc.message).classes('text-xl')
                ui.link('Back to the RAG systems', '/rag')
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
    name = ui.input('Name').classes('w-full').mark('rag-name')
    kb_select = ui.select({k.id: k.name for k in kbs}, value=[kbs[0].id], multiple=True, label='Knowledge bases')
    kb_select.classes('w-full').mark('rag-kbs')
    chat = ui.select(chat_models, value=chat_models[0] if chat_models else None, label='Chat model',
                     new_value_mode='add-unique').classes('w-full').mark('rag-chat')  # fmt: skip
    with ui.row():
        top_k = ui.number('Top-k', value=4, min=1, max=50).classes('w-24')
        threshold = ui.number('Similarity threshold', value=0.0, min=-1, max=1, step=0.05).classes('w-44')
        visibility = ui.select(VISIBILITY, value='private', label='Visibility').classes('w-56')
    retrieval = retrieval_controls()
    template = ui.textarea('Prompt template ({context} and {question})', value=DEFAULT_TEMPLATE).props('autogrow')
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
            success='RAG system created.',
        )
        if info:
            ui.navigate.to(f'/rag/{info.id}')

    ui.button('Create', on_click=create).mark('rag-create')


def _retrieval_panel(services: Services, user: UserInfo, retrieval: Retrieval) -> None:
    ui.label(
        f'{retrieval.mode} · retrieved in {retrieval.latency_ms:.0f} ms · top-k {retrieval.top_k} · '
        f'threshold {retrieval.threshold}'
    ).classes('text-xs text-gray-500').mark('retrieval-mode')
    for note in retrieval.notes:
        ui.label(note).classes('text-xs text-warning')
    for p in retrieval.passages:
        colour = 'positive' if p.kept else 'grey'
        with ui.row().classes('items-start w-full no-wrap border-b py-1'):
            ui.badge(f'[{p.number}]' if p.kept else 'dropped', color=colour)
            ui.badge(f'{p.score:.3f}', color='blue-grey')
            with ui.column().classes('gap-0'):
                _found_by(p)
                ui.button(
                    f'{p.document_name} #{p.index}',
                    on_click=lambda p=p: document_dialog(services, user, p.document_id, p.document_name, p.index),
                ).props('flat dense no-caps size=sm')
                ui.label(p.reason).classes('text-xs text-gray-500').mark('retrieval-reason')
                ui.label(p.text[:300]).classes('text-xs')


def _found_by(p: Retrieved) -> None:
    """How a passage was found: its rank and score in each retriever, the fused score, the reranker's rating."""
    with ui.row().classes('gap-1').mark('found-by'):
        if p.dense_rank is not None:
            ui.badge(f'dense #{p.dense_rank} · {p.dense_score:.3f}', color='indigo-8').props('outline')
        if p.keyword_rank is not None:
            ui.badge(f'keyword #{p.keyword_rank} · BM25 {p.keyword_score:.2f}', color='teal-9').props('outline')
        if p.fused_score is not None:
            ui.badge(f'fused {p.fused_score:.4f}', color='brown-8').props('outline')
        if p.rerank_score is not None:
            ui.badge(f'rerank {p.rerank_score:g}', color='deep-orange-10').props('outline')


async def _ask_view(services: Services, user: UserInfo, rag: RagInfo) -> None:
    summary = ui.label().classes('text-sm text-gray-500').mark('rag-summary')

    def show_summary(info: RagInfo) -> None:
        summary.set_text(
            f'{info.chat_model} answering from {len(info.kb_ids)} knowledge base(s) with {info.embedding_model} · '
            f'top-{info.top_k} · threshold {info.threshold} · {describe(info)}'
        )

    show_summary(rag)
    settings_section(services, user, rag, show_summary)
    history: list[dict[str, str]] = []
    with ui.row().classes('w-full items-center'):
        question = ui.textarea('Question', placeholder='Ctrl+Enter to ask').props('autogrow outlined').classes('grow')
        question.mark('question')
        with ui.column():
            ask_button = ui.button('Ask', icon='send').mark('ask')
            retrieve_button = ui.button('Retrieve only', icon='manage_search').props('outline').mark('retrieve')
            conversation = ui.switch('Conversation', value=False).mark('conversation')
    with ui.row().classes('w-full no-wrap items-start'):
        answers = ui.column().classes('w-3/5 gap-2')
        with ui.column().classes('w-2/5'):
            ui.label('Retrieval').classes('font-semibold')
            panel = ui.column().classes('w-full gap-0').mark('retrieval')

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
            reply.set_content(f'**Could not answer:** {exc.message}')
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
            ui.label('No sources passed top-k and the threshold.').classes('text-xs text-gray-500')
        for p in kept:
            label = f'[{p.number}] {p.document_name}' + ('' if p.number in cited else ' (not cited)')
            ui.button(
                label, on_click=lambda p=p: document_dialog(services, user, p.document_id, p.document_name, p.index)
            ).props(f'dense no-caps size=sm {"" if p.number in cited else "outline"}').mark(f'cite-{p.number}')
