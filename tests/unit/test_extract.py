"""Type detection and text extraction for every supported format, and refusal of every kind of bad upload."""

from __future__ import annotations

import pytest

from services.core.errors import InvalidInput
from services.knowledge import chunking
from services.knowledge.extract import clean_name, extract
from tests import files

LIMIT = 20 * 1024 * 1024


@pytest.mark.parametrize(
    ('name', 'data', 'kind', 'needle'),
    [
        ('a.txt', b'Plain words about llamas.', 'text', 'llamas'),
        ('a.md', files.MARKDOWN, 'markdown', 'Llamas carry packs'),
        ('a.pdf', files.pdf_bytes(), 'pdf', 'Andes'),
        ('a.docx', files.docx_bytes(), 'docx', 'vicuna'),
        ('a.html', files.HTML, 'html', 'Wild camelids'),
        ('a.csv', files.CSV, 'csv', 'name: alpaca; habitat: Peru'),
        ('a.json', files.JSON, 'json', 'pack animal'),
    ],
)
def test_every_format_is_extracted(name: str, data: bytes, kind: str, needle: str) -> None:
    result = extract(name, data, LIMIT)
    assert result.kind == kind
    assert needle in result.text


def test_html_scripts_are_dropped() -> None:
    assert 'alert' not in extract('x.html', files.HTML, LIMIT).text


@pytest.mark.parametrize(
    ('name', 'data', 'message'),
    [
        ('empty.txt', b'', 'is empty'),
        ('blank.txt', b'  \n\n ', 'no extractable text'),
        ('big.txt', b'a' * 2000, 'the limit is'),
        ('broken.pdf', b'%PDF-1.4\n1 0 obj garbage', 'damaged PDF'),
        ('locked.pdf', files.encrypted_pdf_bytes(), 'password-protected'),
        ('bomb.docx', files.zip_bomb_docx(), 'zip bomb'),
        ('broken.docx', b'PK\x03\x04' + b'\x00' * 50, 'damaged'),
        ('archive.docx', files.plain_zip(), 'ZIP archive'),
        ('lying.txt', files.pdf_bytes(), 'content is a PDF'),
        ('lying.pdf', b'just some text', 'named like a PDF'),
        ('lying.md', files.docx_bytes(), 'Word document'),
        ('garbage.txt', bytes(range(256)) * 10, 'binary file'),
        ('latin1.txt', 'caf\xe9 cr\xe8me'.encode('latin-1') + b' more text here', 'not UTF-8'),
        ('bad.json', b'{"a": ', 'not valid JSON'),
        ('program.exe', b'MZ\x90\x00', 'unsupported type'),
        ('noext', b'hello', 'unsupported type'),
    ],
)
def test_bad_uploads_are_refused_with_a_clear_reason(name: str, data: bytes, message: str) -> None:
    limit = 1000 if name == 'big.txt' else LIMIT
    with pytest.raises(InvalidInput, match=message):
        extract(name, data, limit)


def test_zip_bomb_total_size_is_checked_against_the_limit() -> None:
    with pytest.raises(InvalidInput):
        extract('bomb.docx', files.zip_bomb_docx(), 1024 * 1024)


@pytest.mark.parametrize(
    ('raw', 'expected'),
    [
        ('../../app.py', 'app.py'),
        ('/etc/passwd', 'passwd'),
        ('..\\..\\win.ini', 'win.ini'),
        ('a\x00b.txt', 'ab.txt'),
        ('', 'unnamed'),
        ('..', 'unnamed'),
    ],
)
def test_display_names_lose_directories_and_control_characters(raw: str, expected: str) -> None:
    assert clean_name(raw) == expected


def test_very_long_names_are_shortened_keeping_the_extension() -> None:
    name = clean_name('x' * 500 + '.md')
    assert len(name) == 200 and name.endswith('.md')


@pytest.mark.parametrize('splitter', ['sentence', 'token', 'markdown'])
def test_splitters_respect_size_and_keep_all_text(splitter: str) -> None:
    text = '# Title\n\n' + ' '.join(f'Sentence number {i} is about llamas.' for i in range(200))
    chunks = chunking.split(text, splitter, 64, 8)
    assert len(chunks) > 5
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert 'Sentence number 199' in chunks[-1].text


def test_sentences_end_at_punctuation_not_inside_numbers_or_names() -> None:
    text = 'Llamas hum. Pi is 3.14, see example.org!  Really?\n"Yes." Wool\nkeeps warm… 你好。世界！tail'
    found = chunking.sentences(text)
    assert found == [
        'Llamas hum. ', 'Pi is 3.14, see example.org!  ', 'Really?\n', '"Yes." ', 'Wool\nkeeps warm… ',
        '你好。', '世界！', 'tail',
    ]  # fmt: skip
    assert ''.join(found) == text


def test_sentence_chunks_break_between_sentences() -> None:
    text = ' '.join(f'Sentence number {i} is about llamas and their wool.' for i in range(100))
    chunks = chunking.split(text, 'sentence', 64, 0)
    assert len(chunks) > 3
    assert all(c.text.endswith('wool.') and c.text.startswith('Sentence number') for c in chunks)


def test_markdown_splitter_records_sections() -> None:
    chunks = chunking.split(files.MARKDOWN.decode(), 'markdown', 128, 0)
    assert [c.metadata.get('section') for c in chunks] == ['Llamas', 'Llamas/Food']


@pytest.mark.parametrize(('size', 'overlap'), [(10, 0), (100, 100), (100, -1)])
def test_bad_chunk_settings_are_refused(size: int, overlap: int) -> None:
    with pytest.raises(InvalidInput):
        chunking.validate('sentence', size, overlap)
