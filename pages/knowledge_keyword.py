"""The keyword-search card of a knowledge base page: whether it has keyword (BM25) search, and re-indexing an older
knowledge base for it (a background job with a progress bar everyone watching sees; no re-embedding)."""

from __future__ import annotations

from nicegui import ui

from components.forms import guarded
from components.knowledge_parts import PRIMARY_TEXT
from services.core import i18n
from services.core.auth import UserInfo
from services.core.i18n import _
from services.knowledge.bases import KBInfo
from services.knowledge.reindex import ReindexProgress
from services.wiring import Services


async def keyword_card(services: Services, user: UserInfo, kb: KBInfo) -> None:
    with ui.card().props('flat bordered').classes('w-full').mark('keyword-card'):
        with ui.row().classes('items-center w-full'):
            ui.label(_('Keyword search')).classes('font-semibold')
            status = ui.label().classes('text-sm').props('role=status aria-live=polite').mark('keyword-status')
            ui.space()
            button = None
            if kb.can_edit:
                button = ui.button(_('Re-index for keyword search'), icon='manage_search').props('outline')
                button.classes(PRIMARY_TEXT)
                button.mark('reindex-start')
        bar = ui.linear_progress(value=0, show_value=False).props('size=12px rounded').mark('reindex-progress')
        bar._props['aria-label'] = _('Re-indexing progress')
        bar.set_visibility(False)

    def show_state(has_keyword: bool) -> None:
        if kb.dimension is None and not has_keyword:
            status.set_text(_('Ingested documents get BM25 keyword search as well as vectors.'))
        elif has_keyword:
            status.set_text(_('BM25 keyword search is on: RAG systems can search by keyword or hybrid.'))
        else:
            status.set_text(
                _(
                    'Not yet: this knowledge base was indexed before keyword search. Re-indexing copies its vectors '
                    'and texts into a new collection with BM25 (no re-embedding); searches keep working meanwhile.'
                )
            )
        if button is not None:
            button.set_visibility(not has_keyword and kb.dimension is not None)

    def show(progress: ReindexProgress) -> None:
        bar.set_visibility(not progress.finished or progress.state != 'done')
        bar.set_value(progress.percent / 100)
        if progress.finished and progress.state == 'done':
            show_state(True)
            return
        text = _('{state}: {done} of {total} vectors copied · {percent}%', state=_(progress.state),
                 done=i18n.number(progress.rows_done), total=i18n.number(progress.rows_total),
                 percent=i18n.number(progress.percent, 0))  # fmt: skip
        if progress.error:
            text += ' · ' + _(progress.error)
        status.set_text(text)
        if button is not None:
            button.set_enabled(progress.finished)

    def on_progress(progress: ReindexProgress) -> None:
        if progress.kb_id == kb.id:
            show(progress)

    show_state(kb.keyword_index)
    services.reindex.progress.subscribe(on_progress)
    latest = await services.reindex.latest(user.id, kb.id)
    if latest is not None and (not latest.finished or latest.state == 'failed'):
        show(latest)

    if button is not None:

        async def start() -> None:
            progress = await guarded(lambda: services.reindex.start(user.id, kb.id))
            if progress:
                show(progress)

        button.on_click(start)
