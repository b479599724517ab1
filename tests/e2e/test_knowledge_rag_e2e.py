"""In real Chromium: create a knowledge base, upload two documents, watch the ingestion progress bar finish, then
build a RAG system on it, ask a question and open the cited passage. Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveApp, screenshot

LLAMAS = 'Llamas graze in the Andes and carry packs for farmers in the high valleys.'
MILVUS = 'Milvus stores vectors in collections and answers similarity searches over them.'


def shot(page: Page, name: str) -> None:
    screenshot(page, f'knowledge-rag-{name}')


def pick(page: Page, label: str, option: str) -> None:
    """Choose one option in a Quasar select by its visible text."""
    page.get_by_label(label, exact=True).click()
    page.get_by_role('option', name=option, exact=True).click()


def test_upload_ingest_then_ask_a_rag_system_with_citations(live_app: LiveApp, signed_in_page, tmp_path: Path) -> None:
    page = signed_in_page('attendee', 'Ada')
    llamas, milvus = tmp_path / 'llamas.md', tmp_path / 'milvus.txt'
    llamas.write_text(f'# Llamas\n\n{LLAMAS}\n')
    milvus.write_text(f'{MILVUS}\n')

    page.goto(f'{live_app.url}/knowledge')
    expect(page.get_by_text('No knowledge bases yet.')).to_be_visible()
    page.get_by_role('button', name='New knowledge base').click()
    page.get_by_label('Name', exact=True).fill('Animals and databases')
    pick(page, 'Embedding model', 'nomic-embed-text:latest')
    page.get_by_role('button', name='Create', exact=True).click()
    expect(page.get_by_text('No documents yet.')).to_be_visible()
    expect(page.get_by_text('Not ingested yet')).to_be_visible()

    page.locator('.q-uploader input[type=file]').set_input_files([llamas, milvus])
    expect(page.get_by_text('"llamas.md" uploaded.')).to_be_visible()
    expect(page.get_by_text('"milvus.txt" uploaded.')).to_be_visible()
    expect(page.get_by_role('button', name='llamas.md', exact=True)).to_be_visible()
    expect(page.get_by_role('button', name='milvus.txt', exact=True)).to_be_visible()
    expect(page.get_by_text('parsed', exact=True)).to_have_count(2)  # both documents' state badges: text extracted
    bar = page.locator('.q-linear-progress >> visible=true')  # the ingestion bar (the keyword card's is hidden)
    expect(bar).to_be_visible()
    shot(page, 'uploaded')

    live_app.ollama.embed_delay = 1.5  # slow each embedding call down enough to see the job under way
    page.get_by_role('button', name='Ingest').click()
    expect(page.get_by_role('button', name='Cancel')).to_be_visible()
    running = page.get_by_text('running: 0 embedded, 0 unchanged, 0 failed of 2 documents · 0 chunks · 0%')
    expect(running).to_be_visible()
    expect(bar).to_have_attribute('aria-valuenow', '0')  # an empty bar, not a full one, while nothing is embedded
    shot(page, 'ingesting')
    expect(page.get_by_text('done: 2 embedded, 0 unchanged, 0 failed of 2 documents')).to_be_visible()
    expect(bar).to_have_attribute('aria-valuenow', '1')  # the bar has filled up
    expect(page.get_by_text('embedded', exact=True)).to_have_count(2)  # both badges reached their final state
    expect(page.get_by_text('2 vectors · 768-d · COSINE')).to_be_visible()  # nomic-embed-text's dimension
    shot(page, 'ingested')
    live_app.ollama.embed_delay = 0.0

    page.goto(f'{live_app.url}/rag')
    page.get_by_text('New RAG system').click()
    page.get_by_label('Name', exact=True).fill('Field guide')
    expect(page.get_by_label('Knowledge bases')).to_be_visible()
    pick(page, 'Chat model', 'llama3.2:latest')
    # the test server echoes the start of the prompt, so put the numbered context first: the answer then cites [1]
    page.get_by_label('Prompt template ({context} and {question})').fill('{context}\n\nQuestion: {question}')
    page.get_by_role('button', name='Create', exact=True).click()
    expect(page.get_by_text('llama3.2:latest answering from 1 knowledge base(s) with nomic-embed-text')).to_be_visible()

    page.get_by_label('Question', exact=True).fill('Where do llamas graze?')
    page.get_by_role('button', name='Ask', exact=True).click()
    answer = page.locator('.nicegui-markdown').filter(has_text='You said:')
    expect(answer).to_contain_text('You said: [1] (llamas.md)')  # the answer cites passage [1]
    expect(answer).to_contain_text('Ollama runs open language')  # ... and has streamed to its end
    citation = page.get_by_role('button', name='[1] llamas.md', exact=True)
    expect(citation).to_be_visible()
    expect(page.get_by_role('button', name='[2] milvus.txt (not cited)', exact=True)).to_be_visible()
    expect(page.get_by_text('rank 1 of top-k 4')).to_be_visible()  # the retrieval panel explains the ranking
    shot(page, 'answer')

    citation.click()
    dialog = page.get_by_role('dialog')
    expect(dialog.get_by_text('llamas.md', exact=True)).to_be_visible()
    expect(dialog.get_by_text(LLAMAS)).to_be_visible()  # the cited chunk
    expect(page.locator('.q-dialog__inner--animating')).to_have_count(0)  # opened fully before the screenshot
    shot(page, 'cited-chunk')
