"""Recognise an uploaded file by its content and extract its text. Synchronous: call through `run.io_bound`.

Supported: PDF (pypdf), DOCX (python-docx), HTML (BeautifulSoup), CSV, JSON, Markdown and plain text.
The type comes from the bytes (magic numbers, zip members, UTF-8 decoding), never from the name alone; a name whose
extension claims another type is refused, so a PDF renamed to .txt or an executable renamed to .md never gets in.

Bombs: a document may unpack to at most `Limits.max_unpacked` bytes in all (every member of a DOCX, read from the zip
directory before anything is inflated; every content stream of a PDF, counted while pages are read) and a DOCX may hold
at most `Limits.max_members` files. Deeply nested JSON or HTML is refused, not a crash. The memory and CPU time of one
extraction are bounded by running it in a worker process (`services.core.workers.WorkerPool.run_budgeted`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from services.core.errors import InvalidInput
from services.core.i18n import N_

EXTENSIONS = {
    '.pdf': 'pdf',
    '.docx': 'docx',
    '.html': 'html',
    '.htm': 'html',
    '.md': 'markdown',
    '.markdown': 'markdown',
    '.txt': 'text',
    '.text': 'text',
    '.csv': 'csv',
    '.json': 'json',
}
MIME = {
    'pdf': 'application/pdf',
    'docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'html': 'text/html',
    'markdown': 'text/markdown',
    'text': 'text/plain',
    'csv': 'text/csv',
    'json': 'application/json',
}
TEXT_KINDS = {'html', 'markdown', 'text', 'csv', 'json'}
ACCEPTED = ', '.join(sorted({e.lstrip('.') for e in EXTENSIONS}))
MAX_ZIP_RATIO = 200  # no member may compress better than 1:200 (zip bombs do 1:1000 and more)
MB = 1024 * 1024


@dataclass(kw_only=True, slots=True, frozen=True)
class Limits:
    """What one document may cost: its size, what it unpacks to in all, and the files inside a zip-based one."""

    max_bytes: int
    max_unpacked: int = 100 * MB
    max_members: int = 2000


def warm() -> None:
    """Import the parsers ahead of the first upload (run once in each extraction worker as it starts)."""
    import bs4  # noqa: F401
    import docx  # noqa: F401
    import pypdf  # noqa: F401


def megabytes(size: int) -> str:
    """A size in MB (of 1024 * 1024 bytes, the unit of the settings), rounded up: never shown equal to a limit that
    it exceeds."""
    return f'{math.ceil(size * 10 / MB) / 10:.1f} MB'


def too_large(shown: str, size: int, max_bytes: int) -> str:
    return N_(
        '"{shown}" is {size}; the limit is {limit:g} MB. Split it up.',
        shown=shown,
        size=megabytes(size),
        limit=max_bytes / MB,
    )


@dataclass(kw_only=True, slots=True)
class Extracted:
    kind: str
    mime: str
    text: str


def clean_name(name: str) -> str:
    """A display name: no directories, no control characters, at most 200 characters (the extension kept)."""
    name = (name or '').replace('\\', '/').split('/')[-1]
    name = ''.join(ch for ch in name if unicodedata.category(ch)[0] != 'C').strip().lstrip('.')
    if len(name) > 200:
        suffix = PurePosixPath(name).suffix[:12]
        name = name[: 200 - len(suffix)] + suffix
    return name or 'unnamed'


def extension_kind(name: str) -> str | None:
    return EXTENSIONS.get(PurePosixPath(clean_name(name)).suffix.lower())


def extract(name: str, data: bytes, max_bytes: int | Limits) -> Extracted:
    """Detect the type of `data` (named `name`) and extract its text; raise InvalidInput with a clear reason."""
    limits = max_bytes if isinstance(max_bytes, Limits) else Limits(max_bytes=max_bytes)
    shown = clean_name(name)
    try:
        return _extract(shown, name, data, limits)
    except RecursionError as exc:
        raise InvalidInput(
            N_('"{shown}" is nested too deeply to be read. Flatten its structure and try again.', shown=shown)
        ) from exc


def _extract(shown: str, name: str, data: bytes, limits: Limits) -> Extracted:
    if not data:
        raise InvalidInput(N_('"{shown}" is empty. Choose a file with some text in it.', shown=shown))
    if len(data) > limits.max_bytes:
        raise InvalidInput(too_large(shown, len(data), limits.max_bytes))
    claimed = extension_kind(name)
    if claimed is None:
        raise InvalidInput(
            N_('"{shown}" has an unsupported type. Upload one of: {ACCEPTED}.', shown=shown, ACCEPTED=ACCEPTED)
        )
    actual = _detect(shown, data, limits)
    if actual in ('pdf', 'docx') or claimed in ('pdf', 'docx'):
        if actual != claimed:
            raise InvalidInput(
                N_(
                    '"{shown}" is named like a {upper} file but its content is {actual}. Rename it to its '
                    'real type or export it again.',
                    shown=shown,
                    upper=claimed.upper() if claimed in ('pdf', 'docx') else claimed,
                    actual=_describe(actual),
                )
            )
    readers = {'pdf': lambda n, d: _pdf(n, d, limits), 'docx': lambda n, d: _docx(n, d, limits)}
    text = readers.get(actual, _text_kinds(claimed))(shown, data)
    text = _tidy(text)
    if not text.strip():
        raise InvalidInput(N_('"{shown}" contains no extractable text (a scanned PDF needs OCR first).', shown=shown))
    kind = actual if actual in ('pdf', 'docx') else claimed
    return Extracted(kind=kind, mime=MIME[kind], text=text)


def _describe(kind: str) -> str:
    return {'pdf': 'a PDF', 'docx': 'a Word document', 'text': 'text'}.get(kind, kind)


def _detect(shown: str, data: bytes, limits: Limits) -> str:
    if data.startswith(b'%PDF-'):
        return 'pdf'
    if data.startswith(b'PK\x03\x04'):
        try:
            _check_member_count(shown, data, limits)  # before the directory is parsed: each entry costs memory
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
            raise InvalidInput(
                N_('"{shown}" looks like a damaged ZIP/DOCX file ({exc}).', shown=shown, exc=exc)
            ) from exc
        if 'word/document.xml' in names:
            return 'docx'
        raise InvalidInput(
            N_('"{shown}" is a ZIP archive, not a document. Upload the files inside it instead.', shown=shown)
        )
    sample = data[:65536]
    if b'\x00' in sample:
        raise InvalidInput(
            N_('"{shown}" is a binary file, not text. Upload one of: {ACCEPTED}.', shown=shown, ACCEPTED=ACCEPTED)
        )
    try:
        sample.decode('utf-8')
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # a cut multi-byte character at the end of the sample is fine
            raise InvalidInput(
                N_('"{shown}" is not UTF-8 text. Save it as UTF-8 and upload it again.', shown=shown)
            ) from exc
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if controls > len(sample) * 0.01:
        raise InvalidInput(
            N_('"{shown}" is a binary file, not text. Upload one of: {ACCEPTED}.', shown=shown, ACCEPTED=ACCEPTED)
        )
    return 'text'


def _decode(shown: str, data: bytes) -> str:
    try:
        return data.decode('utf-8-sig')
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            N_('"{shown}" is not UTF-8 text. Save it as UTF-8 and upload it again.', shown=shown)
        ) from exc


def _text_kinds(claimed: str):
    def extract_text(shown: str, data: bytes) -> str:
        text = _decode(shown, data)
        if claimed == 'json':
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidInput(
                    N_(
                        '"{shown}" is not valid JSON (line {lineno}: {msg}).',
                        shown=shown,
                        lineno=exc.lineno,
                        msg=exc.msg,
                    )
                ) from exc
            return json.dumps(value, indent=2, ensure_ascii=False)
        if claimed == 'csv':
            return _csv(shown, text)
        if claimed == 'html':
            from bs4 import BeautifulSoup

            soup = BeautifulSoup(text, 'html.parser')
            for tag in soup(['script', 'style', 'noscript', 'template']):
                tag.decompose()
            return soup.get_text('\n')
        return text

    return extract_text


def _csv(shown: str, text: str) -> str:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InvalidInput(N_('"{shown}" is not valid CSV ({exc}).', shown=shown, exc=exc)) from exc
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        return ''
    header, body = rows[0], rows[1:]
    if not body:
        return ', '.join(header)
    lines = []
    for row in body:
        pairs = [
            f'{h.strip() or f"column {i + 1}"}: {v.strip()}' for i, (h, v) in enumerate(zip(header, row, strict=False))
        ]
        lines.append('; '.join(pairs))
    return '\n'.join(lines)


def _unpacks_too_much(shown: str, limits: Limits) -> InvalidInput:
    return InvalidInput(
        N_(
            '"{shown}" unpacks to more than {max_unpacked:g} MB (a decompression bomb?) and was '
            'refused. Save a smaller document and try again.',
            shown=shown,
            max_unpacked=limits.max_unpacked / MB,
        )
    )


def _pdf(shown: str, data: bytes, limits: Limits) -> str:
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import LimitReachedError, PyPdfError

    cap = limits.max_unpacked
    caps = {
        'maximum_declared_stream_length': cap,
        'array_based_stream_maximum_output_length': cap,
        'jbig2_maximum_output_length': cap,
        'lzw_maximum_output_length': cap,
        'run_length_maximum_output_length': cap,
        'zlib_maximum_output_length': cap,
    }
    try:
        with apply_configuration(**caps):
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                raise InvalidInput(
                    N_('"{shown}" is password-protected. Remove the password and upload it again.', shown=shown)
                )
            pages, unpacked = [], 0
            for page in reader.pages:
                contents = page.get_contents()
                unpacked += len(contents.get_data()) if contents is not None else 0
                if unpacked > cap:  # every page's content streams, in all: many small streams add up too
                    raise _unpacks_too_much(shown, limits)
                pages.append(page.extract_text() or '')
    except InvalidInput:
        raise
    except LimitReachedError as exc:
        raise _unpacks_too_much(shown, limits) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise InvalidInput(
            N_('"{shown}" is a damaged PDF and could not be read ({name}).', shown=shown, name=type(exc).__name__)
        ) from exc
    return '\n\n'.join(pages)


def _check_member_count(shown: str, data: bytes, limits: Limits) -> None:
    """The number of files a zip says it holds, from its end record, before its directory is read."""
    end = zipfile._EndRecData(io.BytesIO(data))  # type: ignore[attr-defined]  # stable since Python 2
    if end is not None and end[zipfile._ECD_ENTRIES_TOTAL] > limits.max_members:  # type: ignore[attr-defined]
        raise InvalidInput(
            N_(
                '"{shown}" holds more than {max_members} files inside (a zip bomb?) and was refused. '
                'Save a simpler document and try again.',
                shown=shown,
                max_members=limits.max_members,
            )
        )


def _docx(shown: str, data: bytes, limits: Limits) -> str:
    """Check the whole zip before inflating anything. zipfile inflates a member to at most its declared size, so
    the declared sizes bound what python-docx can unpack."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        if len(members) > limits.max_members:
            raise InvalidInput(
                N_(
                    '"{shown}" holds more than {max_members} files inside (a zip bomb?) and was refused. '
                    'Save a simpler document and try again.',
                    shown=shown,
                    max_members=limits.max_members,
                )
            )
        total = 0
        for info in members:
            total += info.file_size
            if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO and info.file_size > 1e6:
                raise InvalidInput(
                    N_('"{shown}" unpacks to far more than it stores (a zip bomb?) and was refused.', shown=shown)
                )
        if total > limits.max_unpacked:
            raise _unpacks_too_much(shown, limits)
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InvalidInput(N_('"{shown}" is a damaged Word document and could not be read.', shown=shown)) from exc
    except Exception as exc:  # lxml errors and friends: the file is broken, say so
        raise InvalidInput(
            N_(
                '"{shown}" is a damaged Word document and could not be read ({name}).',
                shown=shown,
                name=type(exc).__name__,
            )
        ) from exc
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(' | '.join(cell.text for cell in row.cells))
    return '\n'.join(parts)


def _tidy(text: str) -> str:
    text = text.replace('\r\n', '\n').replace('\x00', '')
    return re.sub(r'\n{3,}', '\n\n', text).strip()
