"""Builders for test documents of every supported format (and broken ones)."""

from __future__ import annotations

import io
import zipfile


def pdf_bytes(text: str = 'Llamas live in the Andes mountains.') -> bytes:
    """A minimal one-page PDF with `text` in a Helvetica text object (valid xref table)."""
    stream = f'BT /F1 12 Tf 72 720 Td ({text}) Tj ET'.encode()
    objects = [
        b'<< /Type /Catalog /Pages 2 0 R >>',
        b'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R '
        b'/Resources << /Font << /F1 5 0 R >> >> >>',
        b'<< /Length ' + str(len(stream)).encode() + b' >>\nstream\n' + stream + b'\nendstream',
        b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    ]
    out = io.BytesIO()
    out.write(b'%PDF-1.4\n')
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f'{number} 0 obj\n'.encode() + body + b'\nendobj\n')
    xref = out.tell()
    out.write(f'xref\n0 {len(objects) + 1}\n0000000000 65535 f \n'.encode())
    for offset in offsets:
        out.write(f'{offset:010d} 00000 n \n'.encode())
    out.write(f'trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n'.encode())
    return out.getvalue()


def encrypted_pdf_bytes() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(pdf_bytes())).pages:
        writer.add_page(page)
    writer.encrypt('secret')
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(text: str = 'Alpacas are smaller than llamas.') -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = 'animal'
    table.rows[0].cells[1].text = 'vicuna'
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bomb_docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as archive:
        archive.writestr('[Content_Types].xml', '<Types/>')
        archive.writestr('word/document.xml', '<w:document/>')
        archive.writestr('word/media/bomb.bin', b'\0' * (60 * 1024 * 1024))
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w') as archive:
        archive.writestr('notes.txt', 'hello')
    return out.getvalue()


HTML = (
    b'<html><head><style>p{}</style><script>alert(1)</script></head>'
    b'<body><h1>Guanaco</h1><p>Wild camelids.</p></body></html>'
)
CSV = b'name,habitat\nllama,Andes\nalpaca,Peru\n'
JSON = b'{"animal": "llama", "facts": ["wool", "pack animal"]}'
MARKDOWN = b'# Llamas\n\nLlamas carry packs.\n\n## Food\n\nThey eat grass.\n'
