"""Pieces of the knowledge pages: model choices, the create dialog, document details, the vector databases card."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from components.forms import confirm, guarded, loading
from services.core import i18n
from services.core.auth import Role, UserInfo
from services.core.errors import ServiceError
from services.core.i18n import N_, _, _n
from services.knowledge.chunking import SPLITTERS
from services.knowledge.vectors import METRICS
from services.wiring import Services

VISIBILITY = {'private': N_('Private (only me)'), 'workshop': N_('Shared with a workshop'), 'public': N_('Public')}
VISIBILITY_NAMES = (N_('private'), N_('workshop'), N_('public'))  # the short names badges show
MUTED = 'text-gray-700 dark:text-gray-300'  # secondary text, readable (WCAG AA) in light and dark mode
LINK = 'text-blue-800! dark:text-blue-300!'  # NiceGUI's link blue is too pale on white (3.7:1)
WARNING_TEXT = 'text-amber-800 dark:text-amber-300'  # Quasar's warning orange is too pale on white
PRIMARY_TEXT = 'dark:text-blue-300!'  # flat and outline primary buttons: Quasar's primary is too dark on dark


def translated(options: dict) -> dict:
    """Select options marked with N_() in the current language (the values stay as they are)."""
    return {key: _(label) for key, label in options.items()}


async def model_names(services: Services, user_id: int, capability: str) -> list[str]:
    """The models this user may pick ('embedding' or 'chat'), from the catalogue's one model list."""
    return await services.catalogue.model_names(user_id, capability)


def create_kb_dialog(
    services: Services, user: UserInfo, embed_models: list[str], databases: dict[int, str], on_done: Callable
) -> None:
    with ui.dialog() as dialog, ui.card().classes('w-[32rem] gap-2'):
        ui.label(_('New knowledge base')).classes('text-lg font-semibold')
        name = ui.input(_('Name')).props('autofocus outlined dense').classes('w-full').mark('kb-name')
        model = (
            ui.select(embed_models, label=_('Embedding model'), value=embed_models[0] if embed_models else None,
                      new_value_mode='add-unique')
            .props('outlined dense').classes('w-full').mark('kb-model')
        )  # fmt: skip
        visibility = (
            ui.select(translated(VISIBILITY), value='private', label=_('Visibility'))
            .props('outlined dense')
            .classes('w-full')
        )
        workshop = ui.number(_('Workshop id'), format='%d').props('outlined dense').classes('w-full')
        workshop.bind_visibility_from(visibility, 'value', value='workshop')
        with ui.row().classes('w-full no-wrap'):
            splitter = ui.select(translated(SPLITTERS), value='sentence', label=_('Splitter'))
            splitter.props('outlined dense').classes('grow')
            size = ui.number(_('Chunk size'), value=512, min=32, max=8192).props('outlined dense').classes('w-28')
            overlap = ui.number(_('Overlap'), value=64, min=0).props('outlined dense').classes('w-24')
        metric = ui.select(list(METRICS), value='COSINE', label=_('Metric')).props('outlined dense').classes('w-full')
        database = (
            ui.select(databases, value=BUILTIN, label=_('Vector database'))
            .props('outlined dense').classes('w-full').mark('kb-vector-db')
        )  # fmt: skip
        keyword = ui.switch(_('Keyword search (BM25) as well as vectors'), value=True).mark('kb-keyword')

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
                    vector_db_id=database.value or None,
                    keyword_search=bool(keyword.value),
                ),
                success=_('Knowledge base created.'),
            )
            if info is not None:
                dialog.close()
                await on_done(info)

        name.on('keydown.enter', create)
        with ui.row().classes('w-full justify-end'):
            ui.button(_('Cancel'), on_click=dialog.close).props('flat')
            ui.button(_('Create'), on_click=create).mark('kb-create')
    dialog.open()


async def document_dialog(services: Services, user: UserInfo, doc_id: int, name: str, chunk: int | None = None) -> None:
    """The extracted text and the chunks of a document (scrolled to a cited chunk when given)."""
    try:
        text = await services.knowledge.document_text(user.id, doc_id)
        chunks = await services.knowledge.document_chunks(user.id, doc_id)
    except ServiceError as exc:
        ui.notify(_(exc.message), type='negative')
        return
    with ui.dialog() as dialog, ui.card().classes('w-[56rem] max-w-full'):
        with ui.row().classes('w-full items-center'):
            ui.label(name).classes('text-lg font-semibold')
            ui.space()
            close = ui.button(icon='close', on_click=dialog.close).props('flat round')
            close._props['aria-label'] = _('Close')
            close.tooltip(_('Close'))
        with ui.tabs() as tabs:
            chunk_tab = ui.tab(_('Chunks ({count})', count=i18n.number(len(chunks))))
            text_tab = ui.tab(_('Extracted text ({count} characters)', count=i18n.number(len(text))))
        with ui.tab_panels(tabs, value=chunk_tab if chunks or chunk is not None else text_tab).classes('w-full'):
            with ui.tab_panel(chunk_tab):
                if not chunks:
                    ui.label(_('No chunks yet: start the ingestion.')).classes(MUTED)
                for c in chunks:
                    highlight = 'border-2 border-primary' if c.index == chunk else ''
                    with ui.card().props('flat bordered').classes(f'w-full {highlight}'):
                        meta = f' · {c.metadata.get("section")}' if c.metadata.get('section') else ''
                        ui.label(f'#{c.index}{meta}').classes(f'text-xs {MUTED}')
                        ui.label(c.text).classes('whitespace-pre-wrap text-sm').mark(f'chunk-{c.index}')
            with ui.tab_panel(text_tab):
                ui.label(text[:50000]).classes('whitespace-pre-wrap text-sm')
                if len(text) > 50000:
                    ui.label(_('… (shortened; the whole text is used for chunking)')).classes(MUTED)
    dialog.open()


BUILTIN = 0  # the built-in store's key in vector database selects (None would read as "nothing chosen")


async def vector_db_options(services: Services, user: UserInfo) -> dict[int, str]:
    """Choices for a knowledge base's vector database: the built-in store (key 0) first, then the stored ones."""
    return {d.id or BUILTIN: d.name for d in await services.vector_databases.list(user.id)}


async def vector_db_card(services: Services, user: UserInfo) -> None:
    """The vector databases knowledge bases can use; admins add (after a connection test) and delete them."""
    admin = user.at_least(Role.ADMIN)
    with ui.expansion(_('Vector databases'), icon='storage', value=admin).classes('w-full').props('dense'):
        ui.label(
            _(
                'Each knowledge base keeps its vectors in one of these. The built-in one comes from MILVUS_URI '
                '(empty: a Milvus Lite file in the data directory).'
            )
        ).classes(f'text-sm {MUTED}')

        @ui.refreshable
        async def table() -> None:
            databases = await services.vector_databases.list(user.id)
            with ui.column().classes('w-full gap-0').mark('vector-dbs'):
                for db in databases:
                    with ui.row().classes('items-center w-full gap-2 border-b py-1'):
                        ui.label(db.name).classes('font-semibold').mark('vector-db' if db.builtin else f'vdb-{db.id}')
                        ui.label(db.uri).classes(f'text-sm {MUTED}')
                        if db.has_token:
                            ui.badge(_('token set'), color='grey-8')
                        ui.space()
                        count = db.knowledge_bases
                        ui.label(
                            _n('{count} knowledge base(s)', '{count} knowledge base(s)', count, count=count)
                        ).classes('text-sm')
                        if admin and not db.builtin:
                            remove = ui.button(icon='delete', on_click=lambda d=db: delete(d.id, d.name))
                            remove.props('flat round dense color=negative').mark(f'vdb-delete-{db.id}')
                            remove._props['aria-label'] = _('Delete {name}', name=db.name)
                            remove.tooltip(_('Delete vector database'))
                if len(databases) == 1:
                    ui.label(
                        _('No other vector databases yet. Add a Milvus server below.')
                        if admin
                        else _('No other vector databases yet. An admin can add Milvus servers.')
                    ).classes(f'text-sm {MUTED}')

        async def delete(vector_db_id: int, name: str) -> None:
            if await confirm(
                _('Delete vector database?'),
                _('"{name}" will no longer be offered. Its data stays.', name=name),
                action=_('Delete'),
            ):
                await guarded(lambda: services.vector_databases.delete(user.id, vector_db_id), success=_('Deleted.'))
                table.refresh()

        await table()
        if not admin:
            return
        ui.label(_('Add a Milvus server')).classes('font-semibold mt-2')
        with ui.row().classes('items-center w-full'):
            name = (
                ui.input(_('Name'), placeholder=_('Team Milvus'))
                .props('outlined dense')
                .classes('w-48')
                .mark('vdb-name')
            )
            uri = (
                ui.input(_('Server URI'), placeholder='http://milvus:19530')
                .props('outlined dense').classes('grow').mark('vdb-uri')
            )  # fmt: skip
            token = ui.input(_('Token'), password=True).props('outlined dense').classes('w-48').mark('vdb-token')
        result = ui.label().classes('text-sm').props('role=status aria-live=polite').mark('vdb-result')

        async def test() -> None:
            with loading(test_button):
                message = await guarded(
                    lambda: services.vector_databases.test(user.id, uri.value or '', token.value or '')
                )
            result.set_text(_(message) if message else '')

        async def save() -> None:
            with loading(save_button):
                created = await guarded(
                    lambda: services.vector_databases.create(
                        user.id, name.value or '', uri.value or '', token.value or ''
                    ),
                    success=_('Connected and saved.'),
                )
            if created is not None:
                name.set_value('')
                uri.set_value('')
                token.set_value('')
                result.set_text('')
                table.refresh()

        with ui.row():
            test_button = (
                ui.button(_('Test connection'), on_click=test)
                .props('outline')
                .classes(PRIMARY_TEXT)
                .mark('vector-test')
            )
            save_button = ui.button(_('Save'), on_click=save).mark('vdb-save')
