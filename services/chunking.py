"""Split extracted text into chunks with LlamaIndex's node parsers (sentence, token, markdown-aware).

Synchronous and CPU-bound: call through `run.io_bound`. No LlamaIndex global Settings are involved.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from services.errors import InvalidInput

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


@functools.lru_cache(maxsize=32)
def _splitter(kind: str, size: int, overlap: int):
    """Splitters are costly to build (tokenizer, sentence model) and stateless to use: build each setting once."""
    from llama_index.core.node_parser import SentenceSplitter, TokenTextSplitter

    cls = TokenTextSplitter if kind == 'token' else SentenceSplitter
    return cls(chunk_size=size, chunk_overlap=overlap)


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
