"""'Show as Python' for a RAG system: a LlamaIndex + `ollama` script, and a zip with it and the documents' text.

The script is the RAG system in LlamaIndex's own terms: documents read from a folder (`SimpleDirectoryReader`), split
into nodes like the knowledge base (`SentenceSplitter`, `TokenTextSplitter`, `MarkdownNodeParser`, with its chunk
size and overlap), embedded with its embedding model (`OllamaEmbedding`) into a `VectorStoreIndex`, the top-k
retrieved (a retriever with the similarity threshold); the answer comes from the chat model through the `ollama`
client with the RAG system's prompt template, its `{context}` filled with numbered passages as the platform does.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath

from nicegui import run

from services.core.code_export import OLLAMA_HOST, Script, constants, script, slug
from services.knowledge.bases import KnowledgeService
from services.knowledge.rag import RagInfo, RagService

DOCUMENTS = 'documents'  # the folder next to the script in the zip
SPLITTERS = {
    'sentence': 'SentenceSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)',
    'token': 'TokenTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)',
    'markdown': 'MarkdownNodeParser(), SentenceSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)',
}
IMPORTS = {
    'sentence': ['SentenceSplitter'],
    'token': ['TokenTextSplitter'],
    'markdown': ['MarkdownNodeParser', 'SentenceSplitter'],
}
DOC = """
A RAG system exported from the Ollama Workshop Platform, rebuilt with LlamaIndex and Ollama.

It reads the documents in a folder, splits them into nodes as the knowledge base does, embeds them with the same
embedding model, retrieves the top-k passages for your question and lets the chat model answer from them with the
RAG system's prompt template. Everything runs against your own Ollama (OLLAMA_HOST, default http://localhost:11434).

Run it:
    pip install ollama llama-index-core llama-index-embeddings-ollama
    ollama pull <EMBEDDING_MODEL> && ollama pull <CHAT_MODEL>
    python {filename} "Your question" --documents path/to/your/documents

Without --documents it reads the folder "documents" next to the script (the zip from the platform has it).
"""
MAIN = """
def main() -> None:
    parser = argparse.ArgumentParser(description='Ask the RAG system a question.')
    parser.add_argument('question', nargs='?', default=EXAMPLE_QUESTION)
    parser.add_argument('--documents', default=str(Path(__file__).resolve().parent / 'documents'))
    args = parser.parse_args()

    # documents -> nodes (split as the knowledge base) -> vectors in an index
    documents = SimpleDirectoryReader(args.documents, recursive=True).load_data()
    embed_model = OllamaEmbedding(model_name=EMBEDDING_MODEL, base_url=OLLAMA_HOST)
    transformations = [{splitter}]
    index = VectorStoreIndex.from_documents(documents, transformations=transformations, embed_model=embed_model)

    # retrieve the top-k passages; keep those at or above the similarity threshold
    hits = index.as_retriever(similarity_top_k=TOP_K).retrieve(args.question)
    kept = [hit for hit in hits if (hit.score or 0.0) >= THRESHOLD]
    context = '\\n\\n'.join(
        f'[{{number}}] ({{hit.node.metadata.get("file_name", "")}}) {{hit.node.get_content()}}'
        for number, hit in enumerate(kept, 1)
    )
    prompt = PROMPT_TEMPLATE.replace('{{context}}', context or '(no context)').replace('{{question}}', args.question)

    # answer with the chat model, streamed
    client = ollama.Client(host=OLLAMA_HOST)
    for part in client.chat(model=CHAT_MODEL, messages=[{{'role': 'user', 'content': prompt}}], stream=True):
        print(part.message.content, end='', flush=True)
    print()
    for number, hit in enumerate(kept, 1):
        print(f'[{{number}}] {{hit.node.metadata.get("file_name", "")}} (score {{hit.score:.3f}})')
"""


def rag_script(rag: RagInfo, splitter: str, chunk_size: int, chunk_overlap: int) -> Script:
    """The script of a RAG system whose (first) knowledge base splits with `splitter`, `chunk_size` and overlap."""
    splitter = splitter if splitter in SPLITTERS else 'sentence'
    filename = f'rag_{slug(rag.name, str(rag.id))}.py'
    parsers = ', '.join(IMPORTS[splitter])
    return script(
        doc=DOC.replace('{filename}', filename),
        imports=[
            'import argparse',
            'import os',
            'from pathlib import Path',
            'import ollama',
            'from llama_index.core import SimpleDirectoryReader, VectorStoreIndex',
            f'from llama_index.core.node_parser import {parsers}',
            'from llama_index.embeddings.ollama import OllamaEmbedding',
        ],
        body=[
            OLLAMA_HOST
            + constants(
                EMBEDDING_MODEL=rag.embedding_model,
                CHAT_MODEL=rag.chat_model,
                CHUNK_SIZE=int(chunk_size),
                CHUNK_OVERLAP=int(chunk_overlap),
                TOP_K=int(rag.top_k),
                THRESHOLD=float(rag.threshold),
                EXAMPLE_QUESTION='What are these documents about?',
                PROMPT_TEMPLATE=rag.prompt_template,
            ),
            MAIN.format(splitter=SPLITTERS[splitter]),
        ],
        filename=filename,
        title=f'RAG system "{rag.name}"',
        bundle=filename.removesuffix('.py') + '.zip',
    )


def text_name(name: str, taken: set[str]) -> str:
    """A document's file name in the zip: its own name (no folders), ending in .txt or .md, never used twice."""
    stem = PurePath(name.replace('\\', '/')).name or 'document'
    stem = stem if stem.lower().endswith(('.txt', '.md')) else stem + '.txt'
    candidate, number = stem, 1
    while candidate.lower() in taken:
        number += 1
        candidate = f'{number}-{stem}'
    taken.add(candidate.lower())
    return candidate


class RagScripts:
    """A RAG system as a standalone script, for anyone who can read the RAG system and its knowledge bases."""

    def __init__(self, rag: RagService, knowledge: KnowledgeService) -> None:
        self.rag = rag
        self.knowledge = knowledge

    async def script(self, actor_id: int, rag_id: int) -> Script:
        rag = await self.rag.get(actor_id, rag_id)  # NotFound unless the actor may read it
        kb = await self.knowledge.get_kb(actor_id, rag.kb_ids[0])
        return rag_script(rag, kb.splitter, kb.chunk_size, kb.chunk_overlap)

    async def bundle(self, actor_id: int, rag_id: int) -> tuple[str, bytes]:
        """The zip's name and bytes: the script and, in `documents/`, the extracted text of the RAG system's documents
        (those it is restricted to, or all of its knowledge bases')."""
        made = await self.script(actor_id, rag_id)
        rag = await self.rag.get(actor_id, rag_id)
        files: list[tuple[str, str]] = [(made.filename, made.code)]
        taken: set[str] = set()
        for kb_id in rag.kb_ids:
            for doc in await self.knowledge.list_documents(actor_id, kb_id):
                if rag.document_ids and doc.id not in rag.document_ids:
                    continue
                text = await self.knowledge.document_text(actor_id, doc.id)
                if text.strip():
                    files.append((f'{DOCUMENTS}/{text_name(doc.name, taken)}', text))
        return made.bundle_name, await run.io_bound(_zip, files)


def _zip(files: list[tuple[str, str]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, text in files:
            archive.writestr(name, text)
    return buffer.getvalue()
