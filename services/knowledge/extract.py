"""Recognise an uploaded file by its content and extract its text. Synchronous: call through `run.io_bound`.

Supported: PDF (pypdf), DOCX (python-docx), HTML (BeautifulSoup), CSV, JSON, Markdown and plain text.
The type comes from the bytes (magic numbers, zip members, UTF-8 decoding), never from the name alone; a name whose
extension claims another type is refused, so a PDF renamed to .txt or an executable renamed to .md never gets in.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from services.core.errors import InvalidInput

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
MAX_UNZIPPED_FACTOR = 20  # a DOCX may unpack to at most 20 times the upload limit
MAX_ZIP_RATIO = 200  # and no member may compress better than 1:200 (zip bombs do 1:1000 and more)


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


def extract(name: str, data: bytes, max_bytes: int) -> Extracted:
    """Detect the type of `data` (named `name`) and extract its text; raise InvalidInput with a clear reason."""
    shown = clean_name(name)
    if not data:
        raise InvalidInput(f'"{shown}" is empty. Choose a file with some text in it.')
    if len(data) > max_bytes:
        raise InvalidInput(
            f'"{shown}" is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB. Split it up.'
        )
    claimed = extension_kind(name)
    if claimed is None:
        raise InvalidInput(f'"{shown}" has an unsupported type. Upload one of: {ACCEPTED}.')
    actual = _detect(shown, data)
    if actual in ('pdf', 'docx') or claimed in ('pdf', 'docx'):
        if actual != claimed:
            raise InvalidInput(
                f'"{shown}" is named like a {claimed.upper() if claimed in ("pdf", "docx") else claimed} file but its '
                f'content is {_describe(actual)}. Rename it to its real type or export it again.'
            )
    text = {'pdf': _pdf, 'docx': lambda n, d: _docx(n, d, max_bytes)}.get(actual, _text_kinds(claimed))(shown, data)
    text = _tidy(text)
    if not text.strip():
        raise InvalidInput(f'"{shown}" contains no extractable text (a scanned PDF needs OCR first).')
    kind = actual if actual in ('pdf', 'docx') else claimed
    return Extracted(kind=kind, mime=MIME[kind], text=text)


def _describe(kind: str) -> str:
    return {'pdf': 'a PDF', 'docx': 'a Word document', 'text': 'text'}.get(kind, kind)


def _detect(shown: str, data: bytes) -> str:
    if data.startswith(b'%PDF-'):
        return 'pdf'
    if data.startswith(b'PK\x03\x04'):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError) as exc:
            raise InvalidInput(f'"{shown}" looks like a damaged ZIP/DOCX file ({exc}).') from exc
        if 'word/document.xml' in names:
            return 'docx'
        raise InvalidInput(f'"{shown}" is a ZIP archive, not a document. Upload the files inside it instead.')
    sample = data[:65536]
    if b'\x00' in sample:
        raise InvalidInput(f'"{shown}" is a binary file, not text. Upload one of: {ACCEPTED}.')
    try:
        sample.decode('utf-8')
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # a cut multi-byte character at the end of the sample is fine
            raise InvalidInput(f'"{shown}" is not UTF-8 text. Save it as UTF-8 and upload it again.') from exc
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if controls > len(sample) * 0.01:
        raise InvalidInput(f'"{shown}" is a binary file, not text. Upload one of: {ACCEPTED}.')
    return 'text'


def _decode(shown: str, data: bytes) -> str:
    try:
        return data.decode('utf-8-sig')
    except UnicodeDecodeError as exc:
        raise InvalidInput(f'"{shown}" is not UTF-8 text. Save it as UTF-8 and upload it again.') from exc


def _text_kinds(claimed: str):
    def extract_text(shown: str, data: bytes) -> str:
        text = _decode(shown, data)
        if claimed == 'json':
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f'"{shown}" is not valid JSON (line {exc.lineno}: {exc.msg}).') from exc
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
        raise InvalidInput(f'"{shown}" is not valid CSV ({exc}).') from exc
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


def _pdf(shown: str, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InvalidInput(f'"{shown}" is password-protected. Remove the password and upload it again.')
        pages = [page.extract_text() or '' for page in reader.pages]
    except InvalidInput:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise InvalidInput(f'"{shown}" is a damaged PDF and could not be read ({type(exc).__name__}).') from exc
    return '\n\n'.join(pages)


def _docx(shown: str, data: bytes, max_bytes: int) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        total = 0
        for info in archive.infolist():
            total += info.file_size
            if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO and info.file_size > 1e6:
                raise InvalidInput(f'"{shown}" unpacks to far more than it stores (a zip bomb?) and was refused.')
        if total > max_bytes * MAX_UNZIPPED_FACTOR:
            raise InvalidInput(
                f'"{shown}" unpacks to {total / 1e6:.0f} MB, more than allowed. Save a smaller document and try again.'
            )
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InvalidInput(f'"{shown}" is a damaged Word document and could not be read.') from exc
    except Exception as exc:  # lxml errors and friends: the file is broken, say so
        raise InvalidInput(
            f'"{shown}" is a damaged Word document and could not be read ({type(exc).__name__}).'
        ) from exc
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(' | '.join(cell.text for cell in row.cells))
    return '\n'.join(parts)


def _tidy(text: str) -> str:
    text = text.replace('\r\n', '\n').replace('\x00', '')
    return re.sub(r'\n{3,}', '\n\n', text).strip()
