"""Pieces of the knowledge pages: model choices, the create dialog, document details, the vector database card."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from pages.common import guarded
from services import Services
from services.auth import Role, UserInfo
from services.chunking import SPLITTERS
from services.errors import ServiceError
from services.ollama import OllamaError
from services.vectors import METRICS, VectorStore

VISIBILITY = {'private': 'Private (only me)', 'workshop': 'Shared with a workshop', 'public': 'Public'}
EMBED_HINTS = ('embed', 'minilm', 'bge', 'e5')


async def model_names(services: Services, *, embedding: bool | None = None) -> list[str]:
    """Model names on the enabled hosts (embedding models first when asked for), empty if none answers."""
    names: set[str] = set()
    for url in await services.hosts.urls():
        try:
            names |= await services.hosts.models_on(url)
        except OllamaError:
            continue
    ordered = sorted(names)
    if embedding is None:
        return ordered
    is_embed = [n for n in ordered if any(h in n for h in EMBED_HINTS)]
    rest = [n for n in ordered if n not in is_embed]
    return is_embed + rest if embedding else rest + is_embed


def create_kb_dialog(services: Services, user: UserInfo, embed_models: list[str], on_done: Callable) -> None:
    with ui.dialog() as dialog, ui.card().classes('w-[32rem] gap-2'):
        ui.label('New knowledge base').classes('text-lg font-semibold')
        name = ui.input('Name').props('autofocus outlined dense').classes('w-full').mark('kb-name')
        model = (
            ui.select(embed_models, label='Embedding model', value=embed_models[0] if embed_models else None,
                      new_value_mode='add-unique')
            .props('outlined dense').classes('w-full').mark('kb-model')
        )  # fmt: skip
        visibility = (
            ui.select(VISIBILITY, value='private', label='Visibility').props('outlined dense').classes('w-full')
        )
        workshop = ui.number('Workshop id', format='%d').props('outlined dense').classes('w-full')
        workshop.bind_visibility_from(visibility, 'value', value='workshop')
        with ui.row().classes('w-full no-wrap'):
            splitter = ui.select(SPLITTERS, value='sentence', label='Splitter').props('outlined dense').classes('grow')
            size = ui.number('Chunk size', value=512, min=32, max=8192).props('outlined dense').classes('w-28')
            overlap = ui.number('Overlap', value=64, min=0).props('outlined dense').classes('w-24')
        metric = ui.select(list(METRICS), value='COSINE', label='Metric').props('outlined dense').classes('w-full')

        async def create() -> None:
            info = await guarded(
                lambda: services.knowledge.create_kb(
                    user.id,
                    name=name.value or '',
                    embedding_model=model.value or '',
                    visibility=visibility.value,
                    workshop_id=int(workshop.value) if workshop.value is not None else None,
                    splitter=splitter.value,
                    chunk_size=int(size.value or 0),
                    chunk_overlap=int(overlap.value or 0),
                    metric=metric.value,
                ),
                success='Knowledge base created.',
            )
            if info is not None:
                dialog.close()
                await on_done(info)

        name.on('keydown.enter', create)
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat')
            ui.button('Create', on_click=create).mark('kb-create')
    dialog.open()


async def document_dialog(services: Services, user: UserInfo, doc_id: int, name: str, chunk: int | None = None) -> None:
    """The extracted text and the chunks of a document (scrolled to a cited chunk when given)."""
    try:
        text = await services.knowledge.document_text(user.id, doc_id)
        chunks = await services.knowledge.document_chunks(user.id, doc_id)
    except ServiceError as exc:
        ui.notify(exc.message, type='negative')
        return
    with ui.dialog() as dialog, ui.card().classes('w-[56rem] max-w-full'):
        with ui.row().classes('w-full items-center'):
            ui.label(name).classes('text-lg font-semibold')
            ui.space()
            ui.button(icon='close', on_click=dialog.close).props('flat round')
        with ui.tabs() as tabs:
            chunk_tab = ui.tab(f'Chunks ({len(chunks)})')
            text_tab = ui.tab(f'Extracted text ({len(text):,} characters)')
        with ui.tab_panels(tabs, value=chunk_tab if chunks or chunk is not None else text_tab).classes('w-full'):
            with ui.tab_panel(chunk_tab):
                if not chunks:
                    ui.label('No chunks yet: start the ingestion.').classes('text-gray-500')
                for c in chunks:
                    highlight = 'border-2 border-primary' if c.index == chunk else ''
                    with ui.card().props('flat bordered').classes(f'w-full {highlight}'):
                        meta = f' · {c.metadata.get("section")}' if c.metadata.get('section') else ''
                        ui.label(f'#{c.index}{meta}').classes('text-xs text-gray-500')
                        ui.label(c.text).classes('whitespace-pre-wrap text-sm').mark(f'chunk-{c.index}')
            with ui.tab_panel(text_tab):
                ui.label(text[:50000]).classes('whitespace-pre-wrap text-sm')
                if len(text) > 50000:
                    ui.label('… (shortened; the whole text is used for chunking)').classes('text-gray-500')
    dialog.open()


def vector_db_card(services: Services, user: UserInfo) -> None:
    """Which vector database is configured, and (for admins) a connection test for a Milvus server."""
    store = services.vectors
    with ui.expansion('Vector database', icon='storage').classes('w-full').props('dense'):
        kind = 'Milvus server' if store.is_server else 'Milvus Lite (a file in the data directory)'
        ui.label(f'{kind}: {store.display_uri}').classes('text-sm').mark('vector-db')
        ui.label('Set MILVUS_URI (and MILVUS_TOKEN) to move to a Milvus server or cluster; the code path is the same.')
        if not user.at_least(Role.ADMIN):
            return
        with ui.row().classes('items-center w-full'):
            uri = ui.input('Server URI', placeholder='http://milvus:19530').props('outlined dense').classes('grow')
            token = ui.input('Token', password=True).props('outlined dense').classes('w-48')
            result = ui.label().classes('text-sm')

            async def test() -> None:
                message = await guarded(lambda: VectorStore.test_connection(uri.value or '', token.value or ''))
                result.set_text(message or '')

            ui.button('Test connection', on_click=test).props('outline').mark('vector-test')


async def run_with_spinner(button: ui.button, action: Callable[[], Awaitable]) -> object:
    button.props('loading')
    try:
        return await action()
    finally:
        button.props(remove='loading')
