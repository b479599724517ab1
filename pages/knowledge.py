"""Knowledge: knowledge bases, uploads, documents and their chunks, chunk previews, ingestion with live progress."""

from __future__ import annotations

import json

from nicegui import APIRouter, ui

from components.forms import confirm, guarded, loading
from components.frame import frame
from components.knowledge_parts import (
    BUILTIN,
    LINK,
    MUTED,
    PRIMARY_TEXT,
    VISIBILITY,
    create_kb_dialog,
    document_dialog,
    model_names,
    translated,
    vector_db_card,
    vector_db_options,
)
from pages.common import page_user
from pages.knowledge_keyword import keyword_card
from services.core import i18n
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.i18n import _, _n
from services.knowledge.bases import KBInfo
from services.knowledge.chunking import SPLITTERS
from services.knowledge.ingest import JobProgress
from services.wiring import Services

STATE_COLOURS = {  # dark enough for white text (WCAG AA)
    'uploaded': 'grey-8',
    'parsed': 'blue-grey-8',
    'chunked': 'orange-10',
    'embedded': 'green-9',
    'failed': 'red-9',
}


# Quasar's uploader draws its own header buttons without names, and puts its file input inside the "add" button (a
# control inside a control). The file input becomes the one control there: named, reached with Tab, opened with
# Enter or Space as any file input; the button around it is only its frame (and shows its focus, components/theme.py).
NAME_UPLOADER = """
const root = getHtmlElement(%s);
if (root) {
  root.querySelectorAll('.q-uploader__input').forEach(i => {
    i.setAttribute('aria-label', %s); i.removeAttribute('aria-hidden'); i.setAttribute('tabindex', '0');
    const frame = i.closest('.q-btn');
    if (frame) {
      frame.setAttribute('role', 'none'); frame.setAttribute('tabindex', '-1'); frame.removeAttribute('aria-label');
    }
  });
  root.querySelectorAll('.q-uploader__header .q-btn:not([role=none])').forEach(b => {
    const icon = (b.querySelector('.q-icon') || {}).textContent || '';
    const names = %s;
    if (!b.hasAttribute('aria-label')) b.setAttribute('aria-label', names[icon] || names.add_box);
  });
}
"""


def create_router(services: Services) -> APIRouter:
    router = APIRouter(prefix='/knowledge')

    @router.page('')
    async def knowledge_page() -> None:
        user = await page_user(services)
        if user is None:
            return
        with frame(services, user, _('Knowledge')):
            ui.label(_('Knowledge bases hold your documents, split into chunks and embedded for retrieval.')).classes(
                MUTED
            )

            async def created(info: KBInfo) -> None:
                ui.navigate.to(f'/knowledge/{info.id}')

            async def new_kb() -> None:
                models = await model_names(services, user.id, 'embedding')
                create_kb_dialog(services, user, models, await vector_db_options(services, user), created)

            ui.button(_('New knowledge base'), icon='add', on_click=new_kb).mark('kb-new')
            kbs = await services.knowledge.list_kbs(user.id)
            if not kbs:
                ui.label(_('No knowledge bases yet. Create one and upload a few documents.')).classes(MUTED)
            with ui.column().classes('w-full gap-2'):
                for kb in kbs:
                    with (
                        ui.card().props('flat bordered').classes('w-full py-2'),
                        ui.row().classes('items-center w-full'),
                    ):
                        ui.link(kb.name, f'/knowledge/{kb.id}').classes(f'font-semibold {LINK}')
                        ui.badge(_(kb.visibility), color='grey-8')
                        documents = _n('{count} document(s) · {model}', '{count} document(s) · {model}',
                                       kb.documents, count=kb.documents, model=kb.embedding_model)  # fmt: skip
                        ui.label(documents).classes(f'text-sm {MUTED}')
            await vector_db_card(services, user)

    @router.page('/{kb_id:int}')
    async def kb_page(kb_id: int) -> None:
        user = await page_user(services)
        if user is None:
            return
        try:
            kb = await services.knowledge.get_kb(user.id, kb_id)
        except ServiceError as exc:
            with frame(services, user, _('Knowledge')):
                ui.label(_(exc.message)).classes('text-xl')
                ui.link(_('Back to the knowledge bases'), '/knowledge').classes(LINK)
            return
        with frame(services, user, kb.name):
            await _kb_view(services, user, kb)

    return router


async def _kb_view(services: Services, user: UserInfo, kb: KBInfo) -> None:
    databases = await vector_db_options(services, user)
    with ui.row().classes('items-center w-full'):  # the frame already shows the name as the page title
        ui.badge(_(VISIBILITY[kb.visibility]), color='grey-8')
        ui.label(
            f'{kb.embedding_model} · {kb.metric} · {_(SPLITTERS[kb.splitter])} {kb.chunk_size}/{kb.chunk_overlap}'
        ).classes(f'text-sm {MUTED}')
        database = databases.get(kb.vector_db_id or BUILTIN, _('unknown vector database'))
        ui.label(_('Vectors in: {database}', database=database)).classes(f'text-sm {MUTED}').mark('kb-vector-db')
        ui.space()
        stats_label = ui.label().classes(f'text-sm {MUTED}').props('aria-live=polite').mark('kb-stats')

    async def show_stats() -> None:
        try:
            stats = await services.knowledge.collection_stats(user.id, kb.id)
        except Exception as exc:  # the vector database may be down: say so, keep the page
            stats_label.set_text(_('Vector database unavailable: {error}', error=exc))
            return
        if stats.exists:
            keyword = ' · BM25' if stats.keyword else ''
            stats_label.set_text(
                _n('{count} vectors · {dimension}-d · {metric} · {index}',
                   '{count} vectors · {dimension}-d · {metric} · {index}', stats.entities,
                   count=i18n.number(stats.entities), dimension=stats.dimension, metric=stats.metric,
                   index=stats.index) + keyword
            )  # fmt: skip
        else:
            stats_label.set_text(_('Not ingested yet'))

    # ----- ingestion: progress for everyone watching this knowledge base
    with ui.card().props('flat bordered').classes('w-full'):
        with ui.row().classes('items-center w-full'):
            ui.label(_('Ingestion')).classes('font-semibold')
            status = ui.label(_('No job yet.')).classes('text-sm').props('role=status aria-live=polite')
            status.mark('job-status')
            ui.space()
            if kb.can_edit:
                start = ui.button(_('Ingest'), icon='play_arrow').mark('ingest-start')
                cancel = ui.button(_('Cancel'), icon='stop').props('outline color=negative').mark('ingest-cancel')
        bar = ui.linear_progress(value=0, show_value=False).props('size=12px rounded').mark('job-progress')
        bar._props['aria-label'] = _('Ingestion progress')

    def show(progress: JobProgress) -> None:
        bar.set_value(progress.percent / 100)
        parts = [
            _(
                '{state}: {done} embedded, {skipped} unchanged, {failed} failed of {total} documents · '
                '{chunks} chunks · {percent}%',
                state=_(progress.state), done=i18n.number(progress.docs_done),
                skipped=i18n.number(progress.docs_skipped),
                failed=i18n.number(progress.docs_failed), total=i18n.number(progress.docs_total),
                chunks=i18n.number(progress.chunks_done), percent=i18n.number(progress.percent, 0),
            )
        ]  # fmt: skip
        if progress.rate and not progress.finished:
            parts.append(_('{rate} chunks/s', rate=i18n.number(progress.rate, 0)))
        if progress.current and not progress.finished:
            parts.append(progress.current)
        if progress.error:
            parts.append(_(progress.error))
        status.set_text(' · '.join(parts))
        if kb.can_edit:
            cancel.set_visibility(not progress.finished)
            start.set_enabled(progress.finished)

    await keyword_card(services, user, kb)

    async def on_progress(progress: JobProgress) -> None:
        if progress.kb_id != kb.id:
            return
        show(progress)
        if progress.finished:
            documents.refresh()
            await show_stats()

    services.ingest.progress.subscribe(on_progress)
    latest = await services.ingest.latest(user.id, kb.id)
    if latest:
        show(latest)
    elif kb.can_edit:
        cancel.set_visibility(False)
    if kb.can_edit:

        async def start_job() -> None:
            progress = await guarded(lambda: services.ingest.start(user.id, kb.id))
            if progress:
                show(progress)

        async def cancel_job() -> None:
            if await guarded(lambda: services.ingest.cancel(user.id, kb.id)):
                ui.notify(_('Cancelling after the current batch…'))

        start.on_click(start_job)
        cancel.on_click(cancel_job)

        async def uploaded(e) -> None:
            files = [(f.name, await f.read()) for f in e.files]
            results = await guarded(lambda: services.knowledge.upload(user.id, kb.id, files)) or []
            for r in results:
                ui.notify(_(r.message), type='positive' if r.ok else 'negative', multi_line=True)
            upload.reset()
            name_uploader()
            documents.refresh()

        limit = services.settings.max_upload_mb
        upload = (
            ui.upload(multiple=True, auto_upload=True, on_multi_upload=uploaded, max_file_size=limit * 1024 * 1024,
                      label=_('Drop files here or pick them: txt, md, pdf, docx, html, csv, json (≤ {limit} MB each)',
                              limit=limit))
            .props('accept=".txt,.md,.markdown,.pdf,.docx,.html,.htm,.csv,.json"').classes('w-full')
            .mark('upload')
        )  # fmt: skip

        def name_uploader() -> None:
            names = {'add_box': _('Pick files'), 'clear_all': _('Clear the list'), 'cloud_upload': _('Upload'),
                     'clear': _('Stop the upload')}  # fmt: skip
            ui.run_javascript(NAME_UPLOADER % (upload.id, json.dumps(_('Pick files')), json.dumps(names)))

        ui.timer(0.1, name_uploader, once=True)
        upload.on('added', name_uploader)
        upload.on('uploaded', name_uploader)
        upload.on_rejected(
            lambda: ui.notify(
                _('A file was larger than {limit} MB and was not uploaded.', limit=limit), type='negative'
            )
        )

    @ui.refreshable
    async def documents() -> None:
        docs = await services.knowledge.list_documents(user.id, kb.id)
        if not docs:
            ui.label(_('No documents yet.')).classes(MUTED)
            return
        for doc in docs:
            with ui.row().classes('items-center w-full gap-2 border-b py-1'):
                ui.badge(_(doc.state), color=STATE_COLOURS.get(doc.state, 'grey-8')).mark(f'state-{doc.name}')
                ui.button(doc.name, on_click=lambda d=doc: document_dialog(services, user, d.id, d.name)).props(
                    'flat dense no-caps'
                ).classes(PRIMARY_TEXT).mark(f'doc-{doc.name}')
                ui.label(
                    _('{mime} · {size} bytes · {chunks} chunks', mime=doc.mime, size=i18n.number(doc.size),
                      chunks=i18n.number(doc.chunks))
                ).classes(f'text-xs {MUTED}')  # fmt: skip
                if doc.error:
                    ui.label(_(doc.error)).classes('text-xs text-negative')
                ui.space()
                if kb.can_edit:
                    remove = ui.button(icon='delete', on_click=lambda d=doc: delete_doc(d.id, d.name))
                    remove.props('flat round dense color=negative').mark(f'delete-{doc.name}')
                    remove._props['aria-label'] = _('Delete {name}', name=doc.name)
                    remove.tooltip(_('Delete document'))

    async def delete_doc(doc_id: int, name: str) -> None:
        if await confirm(
            _('Delete document?'), _('"{name}", its chunks and vectors will be removed.', name=name), action=_('Delete')
        ):
            await guarded(
                lambda: services.knowledge.delete_document(user.id, doc_id), success=_('"{name}" deleted.', name=name)
            )
            documents.refresh()
            await show_stats()

    ui.label(_('Documents')).classes('text-lg font-semibold mt-2')
    with ui.column().classes('w-full gap-0'):
        await documents()
    await _preview(services, user, kb)
    if kb.can_edit:
        await _settings(services, user, kb, databases)
    await show_stats()


async def _preview(services: Services, user: UserInfo, kb: KBInfo) -> None:
    """A live preview of the chunks a splitter setting produces on a chosen document."""
    docs = await services.knowledge.list_documents(user.id, kb.id)
    with ui.expansion(_('Chunk preview'), icon='content_cut').classes('w-full').mark('preview'):
        if not docs:
            ui.label(_('Upload a document to preview its chunks.')).classes(MUTED)
            return
        with ui.row().classes('items-center w-full'):
            doc = ui.select({d.id: d.name for d in docs}, value=docs[0].id, label=_('Document')).classes('w-64')
            splitter = ui.select(translated(SPLITTERS), value=kb.splitter, label=_('Splitter')).classes('w-48')
            size = ui.number(_('Size'), value=kb.chunk_size, min=32, max=8192).classes('w-24').mark('preview-size')
            overlap = ui.number(_('Overlap'), value=kb.chunk_overlap, min=0).classes('w-24')
            summary = ui.label().classes('text-sm').props('aria-live=polite').mark('preview-summary')
        result = ui.column().classes('w-full gap-1')

        async def refresh() -> None:
            found = await guarded(
                lambda: services.knowledge.preview_chunks(
                    user.id,
                    doc.value,
                    splitter=splitter.value,
                    size=int(size.value or 0),
                    overlap=int(overlap.value or 0),
                )
            )
            result.clear()
            if found is None:
                summary.set_text('')
                return
            total, chunks = found
            if total > len(chunks):
                summary.set_text(_n('{count} chunk(s), first {shown} shown', '{count} chunk(s), first {shown} shown',
                                    total, count=i18n.number(total), shown=len(chunks)))  # fmt: skip
            else:
                summary.set_text(_n('{count} chunk(s)', '{count} chunk(s)', total, count=i18n.number(total)))
            with result:
                for c in chunks:
                    with ui.card().props('flat bordered').classes('w-full py-1'):
                        meta = f' · {c.metadata["section"]}' if c.metadata.get('section') else ''
                        characters = _('#{index} · {length} characters', index=c.index, length=i18n.number(len(c.text)))
                        ui.label(characters + meta).classes(f'text-xs {MUTED}')
                        ui.label(c.text).classes('text-sm whitespace-pre-wrap')

        for element in (doc, splitter, size, overlap):
            element.on_value_change(refresh)
        await refresh()


async def _settings(services: Services, user: UserInfo, kb: KBInfo, databases: dict[int, str]) -> None:
    models = await model_names(services, user.id, 'embedding')
    if kb.embedding_model not in models:
        models.insert(0, kb.embedding_model)
    with ui.expansion(_('Settings'), icon='settings').classes('w-full'):
        name = ui.input(_('Name'), value=kb.name).classes('w-full')
        visibility = ui.select(translated(VISIBILITY), value=kb.visibility, label=_('Visibility')).classes('w-full')
        workshop = ui.number(_('Workshop id'), value=kb.workshop_id, format='%d').classes('w-full')
        workshop.bind_visibility_from(visibility, 'value', value='workshop')
        model = ui.select(models, value=kb.embedding_model, label=_('Embedding model'), new_value_mode='add-unique')
        model.classes('w-full').mark('kb-settings-model')
        with ui.row():
            splitter = ui.select(translated(SPLITTERS), value=kb.splitter, label=_('Splitter')).classes('w-48')
            size = ui.number(_('Chunk size'), value=kb.chunk_size).classes('w-28')
            overlap = ui.number(_('Overlap'), value=kb.chunk_overlap).classes('w-28')
        database = ui.select(databases, value=kb.vector_db_id or BUILTIN, label=_('Vector database'))
        database.classes('w-full')
        database.mark('kb-settings-vector-db')

        async def save() -> None:
            changes = {
                'name': name.value,
                'visibility': visibility.value,
                'workshop_id': int(workshop.value) if workshop.value is not None else None,
                'embedding_model': model.value,
                'splitter': splitter.value,
                'chunk_size': int(size.value or 0),
                'chunk_overlap': int(overlap.value or 0),
                'vector_db_id': database.value or None,
            }
            with loading(save_button):
                result = await guarded(lambda: services.knowledge.update_kb(user.id, kb.id, **changes))
            if result is None:
                return
            info, rebuild = result
            if info.vector_db_id != kb.vector_db_id:  # the old collection is gone: re-embed into the new store now
                if await guarded(lambda: services.ingest.start(user.id, kb.id, rebuild=True)):
                    ui.notify(_('Moved: re-embedding into the new vector database.'), type='positive')
            elif rebuild and await confirm(
                _('Re-embed now?'),
                _('The embedding model or chunking changed: the knowledge base must be re-embedded.'),
                action=_('Re-embed'), color='primary',
            ):  # fmt: skip
                await guarded(lambda: services.ingest.start(user.id, kb.id, rebuild=info.dimension is None))
            ui.navigate.reload()

        save_button = ui.button(_('Save settings'), on_click=save).mark('kb-save')

        async def delete() -> None:
            if await confirm(
                _('Delete knowledge base?'),
                _('"{name}" with all documents and vectors will be removed.', name=kb.name),
                action=_('Delete'),
            ):

                async def go() -> bool:
                    await services.knowledge.delete_kb(user.id, kb.id)
                    return True

                if await guarded(go, success=_('Deleted.')):
                    ui.navigate.to('/knowledge')

        ui.button(_('Delete knowledge base'), on_click=delete).props('outline color=negative')
