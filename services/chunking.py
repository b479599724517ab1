"""Split extracted text into chunks with LlamaIndex's node parsers (sentence, token, markdown-aware).

Synchronous and CPU-bound: call `split` through `run.io_bound` for one document (the preview), and `split_files`
through the worker processes (`services.workers`) for many (ingestion). No LlamaIndex global Settings are involved.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.errors import InvalidInput, ServiceError

SPLITTERS = {'sentence': 'Sentences', 'token': 'Tokens', 'markdown': 'Markdown sections'}


@dataclass(kw_only=True, slots=True)
class ChunkText:
    index: int
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


def validate(splitter: str, size: int, overlap: int) -> None:
    if splitter not in SPLITTERS:
        raise InvalidInput(f'Unknown splitter "{splitter}". Choose one of: {", ".join(SPLITTERS)}.')
    if not 32 <= size <= 8192:
        raise InvalidInput('Chunk size must be between 32 and 8192 tokens.')
    if not 0 <= overlap < size:
        raise InvalidInput('Chunk overlap must be at least 0 and smaller than the chunk size.')


# A sentence ends at . ! ? or … (with closing quotes or brackets) followed by whitespace, or at a CJK full stop; the
# whitespace after it stays with it, so the sentences join back into the text. "3.14" and "example.org" do not end
# one. This replaces nltk's Punkt model, which costs ten times as much (its regexes run under a ReDoS timer) and made
# sentence splitting most of an ingestion job's time.
_SENTENCE = re.compile(r'.*?(?:[.!?\u2026]+["\'\u201d\u2019)\]]*(?=\s|$)|[\u3002\uff01\uff1f]+|$)\s*', re.S)


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.findall(text) if s]


@functools.lru_cache(maxsize=32)
def _splitter(kind: str, size: int, overlap: int):
    """Splitters are costly to build (tokenizer) and stateless to use: build each setting once."""
    from llama_index.core.node_parser import SentenceSplitter, TokenTextSplitter

    if kind == 'token':
        return TokenTextSplitter(chunk_size=size, chunk_overlap=overlap)
    return SentenceSplitter(chunk_size=size, chunk_overlap=overlap, chunking_tokenizer_fn=sentences)


def split(text: str, splitter: str, size: int, overlap: int) -> list[ChunkText]:
    validate(splitter, size, overlap)
    if splitter == 'markdown':
        pieces = _markdown(text, _splitter('sentence', size, overlap))
    else:
        pieces = [(t, {}) for t in _splitter(splitter, size, overlap).split_text(text)]
    return [ChunkText(index=i, text=t, metadata=m) for i, (t, m) in enumerate(p for p in pieces if p[0].strip())]


def _markdown(text: str, sizer) -> list[tuple[str, dict[str, Any]]]:
    from llama_index.core import Document
    from llama_index.core.node_parser import MarkdownNodeParser

    out: list[tuple[str, dict[str, Any]]] = []
    for node in MarkdownNodeParser().get_nodes_from_documents([Document(text=text)]):
        section = node.get_content()
        heading = node.metadata.get('header_path', '/')
        title = section.split('\n', 1)[0].lstrip('#').strip() if section.startswith('#') else ''
        path = (heading.rstrip('/') + '/' + title).strip('/') if title else heading.strip('/')
        for piece in sizer.split_text(section):  # a long section still respects the chunk size
            out.append((piece, {'section': path} if path else {}))
    return out


def split_files(paths: list[str], splitter: str, size: int, overlap: int) -> list[list[ChunkText] | str]:
    """Read and split extracted-text files, one result per file: its chunks, or why it produced none.

    Runs in a worker process: everything it takes and returns is plain and picklable.
    """
    out: list[list[ChunkText] | str] = []
    for name in paths:
        path = Path(name)
        try:
            text = path.read_text(encoding='utf-8') if path.is_file() else ''
        except (OSError, UnicodeDecodeError) as exc:
            out.append(f'The extracted text could not be read ({exc.__class__.__name__}). Upload the file again.')
            continue
        try:
            pieces = split(text, splitter, size, overlap)
        except ServiceError as exc:
            out.append(exc.message)
        except Exception as exc:  # a splitter bug must fail this document, not the whole job
            out.append(f'Splitting failed ({exc.__class__.__name__}: {exc}).')
        else:
            out.append(pieces or 'The document produced no chunks (no text).')
    return out


def warm() -> None:
    """Load the splitting libraries (a worker process runs this once as it starts)."""
    split('Warm up. Two sentences.', 'sentence', 64, 0)
