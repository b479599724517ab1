"""Split extracted text into chunks with LlamaIndex's node parsers (sentence, token, markdown-aware).

Synchronous and CPU-bound: call `split` through `run.io_bound` for one document (the preview), and `split_files`
through the worker processes (`services.core.workers`) for many (ingestion). No LlamaIndex global Settings are involved.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.core.errors import InvalidInput, ServiceError
from services.core.i18n import N_

SPLITTERS = {'sentence': N_('Sentences'), 'token': N_('Tokens'), 'markdown': N_('Markdown sections')}  # shown: _()


@dataclass(kw_only=True, slots=True)
class ChunkText:
    index: int
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


def validate(splitter: str, size: int, overlap: int) -> None:
    if splitter not in SPLITTERS:
        raise InvalidInput(
            N_(
                'Unknown splitter "{splitter}". Choose one of: {SPLITTERS}.',
                splitter=splitter,
                SPLITTERS=', '.join(SPLITTERS),
            )
        )
    if not 32 <= size <= 8192:
        raise InvalidInput(N_('Chunk size must be between 32 and 8192 tokens.'))
    if not 0 <= overlap < size:
        raise InvalidInput(N_('Chunk overlap must be at least 0 and smaller than the chunk size.'))


# A sentence ends at . ! ? or … (with closing quotes or brackets) followed by whitespace, or at a CJK full stop; the
# whitespace after it stays with it, so the sentences join back into the text. "3.14" and "example.org" do not end
# one. This replaces nltk's Punkt model, which costs ten times as much (its regexes run under a ReDoS timer) and made
# sentence splitting most of an ingestion job's time.
_SENTENCE_END = re.compile(r'[.!?\u2026]+["\'\u201d\u2019)\]]*\s+|[\u3002\uff01\uff1f]+\s*')


def sentences(text: str) -> list[str]:
    out: list[str] = []
    start = 0
    for end in _SENTENCE_END.finditer(text):
        out.append(text[start : end.end()])
        start = end.end()
    if start < len(text):
        out.append(text[start:])
    return out


_WORD = re.compile(r'\S+\s*|\s+')


@functools.lru_cache(maxsize=1)
def _count():
    """Token counter: LlamaIndex's default tokenizer (tiktoken cl100k_base, from the copy LlamaIndex ships)."""
    from llama_index.core.utils import get_tokenizer

    encode = get_tokenizer()
    return lambda text: len(encode(text))


def sentence_chunks(text: str, size: int, overlap: int) -> list[str]:
    """Chunks of whole sentences, each at most `size` tokens, the next starting with up to `overlap` tokens of
    sentences from the end of the one before. A sentence longer than a chunk is cut between words (a word longer
    than a chunk, between characters).

    The same packing as LlamaIndex's SentenceSplitter, written directly: that class spends most of its time in
    per-split bookkeeping, and ingestion splits thousands of documents.
    """
    count = _count()
    units: list[tuple[str, int]] = []
    for sentence in sentences(text):
        tokens = count(sentence)
        units += [(sentence, tokens)] if tokens <= size else _cut(sentence, size, count)
    chunks: list[str] = []
    current: list[tuple[str, int]] = []
    total = 0
    for unit, tokens in units:
        if current and total + tokens > size:
            chunks.append(''.join(u for u, _ in current))
            carry: list[tuple[str, int]] = []
            kept = 0
            for previous, n in reversed(current):  # the overlap: whole sentences from the end, as many as fit
                if kept + n > overlap or kept + n + tokens > size:
                    break
                carry.append((previous, n))
                kept += n
            current, total = carry[::-1], kept
        current.append((unit, tokens))
        total += tokens
    if current:
        chunks.append(''.join(u for u, _ in current))
    return [c.strip() for c in chunks if c.strip()]


def _cut(text: str, size: int, count) -> list[tuple[str, int]]:
    pieces: list[tuple[str, int]] = []
    for word in _WORD.findall(text):
        tokens = count(word)
        if tokens <= size:
            pieces.append((word, tokens))
            continue
        step = max(1, len(word) * size // tokens)
        start = 0
        while start < len(word):
            piece = word[start : start + step]
            while len(piece) > 1 and count(piece) > size:
                piece = piece[: len(piece) // 2]
            pieces.append((piece, count(piece)))
            start += len(piece)
    return pieces


@functools.lru_cache(maxsize=32)
def _token_splitter(size: int, overlap: int):
    """Built once per setting (it loads the tokenizer)."""
    from llama_index.core.node_parser import TokenTextSplitter

    return TokenTextSplitter(chunk_size=size, chunk_overlap=overlap)


def split(text: str, splitter: str, size: int, overlap: int) -> list[ChunkText]:
    validate(splitter, size, overlap)
    if splitter == 'markdown':
        pieces = _markdown(text, size, overlap)
    elif splitter == 'token':
        pieces = [(t, {}) for t in _token_splitter(size, overlap).split_text(text)]
    else:
        pieces = [(t, {}) for t in sentence_chunks(text, size, overlap)]
    return [ChunkText(index=i, text=t, metadata=m) for i, (t, m) in enumerate(p for p in pieces if p[0].strip())]


def _markdown(text: str, size: int, overlap: int) -> list[tuple[str, dict[str, Any]]]:
    from llama_index.core import Document
    from llama_index.core.node_parser import MarkdownNodeParser

    out: list[tuple[str, dict[str, Any]]] = []
    for node in MarkdownNodeParser().get_nodes_from_documents([Document(text=text)]):
        section = node.get_content()
        heading = node.metadata.get('header_path', '/')
        title = section.split('\n', 1)[0].lstrip('#').strip() if section.startswith('#') else ''
        path = (heading.rstrip('/') + '/' + title).strip('/') if title else heading.strip('/')
        for piece in sentence_chunks(section, size, overlap):  # a long section still respects the chunk size
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
            out.append(
                N_('The extracted text could not be read ({name}). Upload the file again.', name=exc.__class__.__name__)
            )
            continue
        try:
            pieces = split(text, splitter, size, overlap)
        except ServiceError as exc:
            out.append(exc.message)
        except Exception as exc:  # a splitter bug must fail this document, not the whole job
            out.append(N_('Splitting failed ({name}: {exc}).', name=exc.__class__.__name__, exc=exc))
        else:
            out.append(pieces or 'The document produced no chunks (no text).')
    return out


def warm() -> None:
    """Load the splitting libraries (a worker process runs this once as it starts)."""
    split('Warm up. Two sentences.', 'sentence', 64, 0)
