"""The workshop template file: reading (size limits, JSON or a .zip with documents), checking and writing.

Pure functions, no database: `read` turns the uploaded bytes into a `Template` (everything checked, each refusal
naming the bad field, e.g. `steps[2].title`), `pack` writes one back (JSON, or a .zip holding workshop.json and the
documents). Keys this version does not know are not errors: they are collected in `Template.unknown` (top-level
sections, workshop fields and per-step fields such as `checks`) so the importer can report them as skipped, and a
newer platform can add sections without breaking older ones (see `services.workshops.templates.register_section`).

    {"format": "owp-workshop-template", "version": 1,
     "workshop": {"title", "description", "allowed_models", "stuck_minutes", "attendees_may_share"},
     "steps": [{"title", "instructions", "rule"}],
     "prompts": [{"key", "name", "description", "tags", "system_template", "user_template", "variables",
                  "default_model", "options", "share"}],
     "tools": [{"key", "name", "description", "kind", "parameters", "config", "share"}],
     "knowledge_bases": [{"key", "name", "description", "embedding_model", "metric", "splitter", "chunk_size",
                          "chunk_overlap", "share", "documents": [{"name", "text" | "base64" | "file"}]}],
     "rag_systems": [{"key", "name", "knowledge_bases": [kb keys], "chat_model", "embedding_model",
                      "prompt_template", "top_k", "threshold", "share"}]}

`share` (default true): listed under the workshop's shared resources; false: created for another entry (a knowledge
base a RAG system needs) but not shared. A document carries its content inline (`text` for UTF-8, `base64`) or names
a `file` inside the .zip; a document with none of them is listed only (exported without documents).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

from services.core.errors import InvalidInput
from services.core.i18n import N_

FORMAT = 'owp-workshop-template'
VERSION = 1
MAX_FILE_BYTES = 25 * 1024 * 1024  # the uploaded file
MAX_JSON_CHARS = 5 * 1024 * 1024  # workshop.json (inline documents included)
MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # everything inside a .zip
MAX_ZIP_MEMBERS = 500
MAX_ITEMS = 100  # steps, prompts, tools, knowledge bases, RAG systems each
MAX_DOCUMENTS = 200  # per knowledge base
JSON_NAME = 'workshop.json'

SECTIONS = ('workshop', 'steps', 'prompts', 'tools', 'knowledge_bases', 'rag_systems')
HEADER_KEYS = ('format', 'version', 'exported_at', 'generator', 'notes')
WORKSHOP_KEYS = ('title', 'description', 'allowed_models', 'stuck_minutes', 'attendees_may_share')
STEP_KEYS = ('title', 'instructions', 'rule', 'position')
PROMPT_KEYS = ('key', 'name', 'description', 'tags', 'system_template', 'user_template', 'variables',
               'default_model', 'options', 'share')  # fmt: skip
TOOL_KEYS = ('key', 'name', 'description', 'kind', 'parameters', 'config', 'share')
KB_KEYS = ('key', 'name', 'description', 'embedding_model', 'metric', 'splitter', 'chunk_size', 'chunk_overlap',
           'share', 'documents')  # fmt: skip
DOC_KEYS = ('name', 'text', 'base64', 'file', 'size', 'sha256', 'mime')
RAG_KEYS = ('key', 'name', 'knowledge_bases', 'chat_model', 'embedding_model', 'prompt_template', 'top_k',
            'threshold', 'share')  # fmt: skip


@dataclass(kw_only=True, slots=True)
class Template:
    """A checked template: plain dicts with every known field present and typed."""

    workshop: dict[str, Any]
    steps: list[dict[str, Any]]
    prompts: list[dict[str, Any]] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    knowledge_bases: list[dict[str, Any]] = field(default_factory=list)  # documents: {'name', 'data': bytes | None}
    rag_systems: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown top-level sections, as found
    step_extra: list[dict[str, Any]] = field(default_factory=list)  # per step: its unknown fields, as found
    unknown: list[str] = field(default_factory=list)  # paths of the unknown keys inside known objects


# ----- reading -------------------------------------------------------------------------------------------------------
def read(data: bytes) -> Template:
    """The template in an uploaded file (JSON or .zip), checked; InvalidInput names what is wrong."""
    if not data:
        raise InvalidInput(N_('The file is empty. Choose a workshop template (.json or .zip).'))
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(
            N_(
                'The file is too large for a workshop template (at most {MAX_FILE_BYTES} MB).',
                MAX_FILE_BYTES=MAX_FILE_BYTES // 2**20,
            )
        )
    files: dict[str, bytes] = {}
    if data[:4] == b'PK\x03\x04':
        text, files = _unzip(data)
    else:
        try:
            text = data.decode('utf-8-sig')
        except UnicodeDecodeError:
            raise InvalidInput(N_('The file is neither UTF-8 JSON nor a .zip. Choose a workshop template.')) from None
    if len(text) > MAX_JSON_CHARS:
        raise InvalidInput(
            N_(
                '{JSON_NAME} is too large (at most {MAX_JSON_CHARS} MB of JSON).',
                JSON_NAME=JSON_NAME,
                MAX_JSON_CHARS=MAX_JSON_CHARS // 2**20,
            )
        )
    try:
        raw = json.loads(text)
    except RecursionError:
        raise InvalidInput(N_('The JSON is nested too deeply to be a workshop template.')) from None
    except ValueError as exc:
        line = getattr(exc, 'lineno', '?')
        raise InvalidInput(
            N_('This is not valid JSON ({exc} at line {line}).', exc=getattr(exc, 'msg', exc), line=line)
        ) from None
    return check(raw, files)


def _unzip(data: bytes) -> tuple[str, dict[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, ValueError):
        raise InvalidInput(N_('The .zip file is damaged. Export the workshop again.')) from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise InvalidInput(N_('The .zip holds more than {MAX_ZIP_MEMBERS} files.', MAX_ZIP_MEMBERS=MAX_ZIP_MEMBERS))
    if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
        raise InvalidInput(
            N_('The .zip unpacks to more than {MAX_UNPACKED_BYTES} MB.', MAX_UNPACKED_BYTES=MAX_UNPACKED_BYTES // 2**20)
        )
    names = {m.filename for m in members}
    if JSON_NAME not in names:
        raise InvalidInput(
            N_(
                'The .zip has no {JSON_NAME}. Export the workshop again, or upload the .json alone.',
                JSON_NAME=JSON_NAME,
            )
        )
    files: dict[str, bytes] = {}
    total = 0
    for member in members:
        try:
            with archive.open(member) as handle:
                content = handle.read(MAX_UNPACKED_BYTES - total + 1)  # a lying size header cannot inflate further
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError):
            raise InvalidInput(
                N_('"{filename}" in the .zip cannot be read (damaged or encrypted).', filename=member.filename[:80])
            ) from None
        total += len(content)
        if total > MAX_UNPACKED_BYTES:
            raise InvalidInput(
                N_(
                    'The .zip unpacks to more than {MAX_UNPACKED_BYTES} MB.',
                    MAX_UNPACKED_BYTES=MAX_UNPACKED_BYTES // 2**20,
                )
            )
        files[member.filename] = content
    try:
        return files.pop(JSON_NAME).decode('utf-8-sig'), files
    except UnicodeDecodeError:
        raise InvalidInput(N_('{JSON_NAME} in the .zip is not UTF-8 text.', JSON_NAME=JSON_NAME)) from None


def check(raw: Any, files: dict[str, bytes] | None = None) -> Template:
    files = files or {}
    if not isinstance(raw, dict) or raw.get('format') != FORMAT:
        raise InvalidInput(N_('This is not a workshop template (expected "format": "{FORMAT}").', FORMAT=FORMAT))
    version = raw.get('version')
    if version != VERSION:
        raise InvalidInput(
            N_(
                'This template has version {version!r}; this platform reads version {VERSION}. Export '
                'it again from a platform of the same version.',
                version=version,
                VERSION=VERSION,
            )
        )
    unknown: list[str] = []
    ws = _object(raw.get('workshop'), 'workshop', WORKSHOP_KEYS, unknown)
    workshop = {
        'title': _text(ws, 'title', 'workshop', 200, required=True),
        'description': _text(ws, 'description', 'workshop', 20000),
        'allowed_models': _names(ws.get('allowed_models'), 'workshop.allowed_models'),
        'stuck_minutes': _int(ws, 'stuck_minutes', 'workshop', 1, 240, 10),
        'attendees_may_share': _bool(ws, 'attendees_may_share', 'workshop', False),
    }
    steps, step_extra = [], []
    for i, item in enumerate(_list(raw, 'steps')):
        path = f'steps[{i}]'
        step = _object(item, path, STEP_KEYS, None)
        steps.append({
            'title': _text(step, 'title', path, 200, required=True),
            'instructions': _text(step, 'instructions', path, 20000),
            'rule': _text(step, 'rule', path, 64) or None,
        })  # fmt: skip
        step_extra.append({k: v for k, v in step.items() if k not in STEP_KEYS})
    template = Template(workshop=workshop, steps=steps, step_extra=step_extra, unknown=unknown)
    template.prompts = [_prompt(x, f'prompts[{i}]', unknown) for i, x in enumerate(_list(raw, 'prompts'))]
    template.tools = [_tool(x, f'tools[{i}]', unknown) for i, x in enumerate(_list(raw, 'tools'))]
    template.knowledge_bases = [
        _kb(x, f'knowledge_bases[{i}]', unknown, files) for i, x in enumerate(_list(raw, 'knowledge_bases'))
    ]
    template.rag_systems = [_rag(x, f'rag_systems[{i}]', unknown) for i, x in enumerate(_list(raw, 'rag_systems'))]
    for section in ('prompts', 'tools', 'knowledge_bases', 'rag_systems'):
        keys = [x['key'] for x in getattr(template, section)]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise InvalidInput(
                N_(
                    '{section}: the key "{dupes}" is used twice; each entry needs its own key.',
                    section=section,
                    dupes=dupes[0],
                )
            )
    kb_keys = {kb['key'] for kb in template.knowledge_bases}
    for i, rag in enumerate(template.rag_systems):
        missing = [k for k in rag['knowledge_bases'] if k not in kb_keys]
        if missing:
            raise InvalidInput(
                N_(
                    'rag_systems[{i}].knowledge_bases: "{missing}" is not the key of an entry of knowledge_bases.',
                    i=i,
                    missing=missing[0],
                )
            )
    template.extra = {k: v for k, v in raw.items() if k not in SECTIONS and k not in HEADER_KEYS}
    return template


def _object(value: Any, path: str, known: tuple[str, ...], unknown: list[str] | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(N_('{path}: must be an object ({{...}}).', path=path))
    if unknown is not None:
        unknown += [f'{path}.{k}' for k in value if k not in known]
    return value


def _list(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(N_('{key}: must be a list ([...]).', key=key))
    if len(value) > MAX_ITEMS:
        raise InvalidInput(N_('{key}: at most {MAX_ITEMS} entries.', key=key, MAX_ITEMS=MAX_ITEMS))
    return value


def _text(obj: dict[str, Any], key: str, path: str, limit: int, *, required: bool = False) -> str:
    value = obj.get(key)
    if value is None:
        value = ''
    if not isinstance(value, str):
        raise InvalidInput(N_('{path}.{key}: must be text.', path=path, key=key))
    value = value.strip() if limit <= 200 else value
    if required and not value:
        raise InvalidInput(N_('{path}.{key}: is missing (1 to {limit} characters).', path=path, key=key, limit=limit))
    if len(value) > limit:
        raise InvalidInput(
            N_('{path}.{key}: is too long (at most {limit} characters).', path=path, key=key, limit=limit)
        )
    return value


def _int(obj: dict[str, Any], key: str, path: str, low: int, high: int, default: int) -> int:
    value = obj.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(
            N_('{path}.{key}: must be a whole number from {low} to {high}.', path=path, key=key, low=low, high=high)
        )
    return value


def _float(obj: dict[str, Any], key: str, path: str, low: float, high: float, default: float) -> float:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidInput(
            N_('{path}.{key}: must be a number from {low:g} to {high:g}.', path=path, key=key, low=low, high=high)
        )
    return float(value)


def _bool(obj: dict[str, Any], key: str, path: str, default: bool) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise InvalidInput(N_('{path}.{key}: must be true or false.', path=path, key=key))
    return value


def _names(value: Any, path: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v.strip()) <= 200 for v in value):
        raise InvalidInput(N_('{path}: must be a list of model names.', path=path))
    return [v.strip() for v in value][:MAX_ITEMS]


def _dict(obj: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = obj.get(key) or {}
    if not isinstance(value, dict):
        raise InvalidInput(N_('{path}.{key}: must be an object ({{...}}).', path=path, key=key))
    return value


def _key(obj: dict[str, Any], path: str, index: int, prefix: str) -> str:
    value = obj.get('key', f'{prefix}{index + 1}')
    if not isinstance(value, str | int) or not str(value).strip() or len(str(value)) > 64:
        raise InvalidInput(N_('{path}.key: must be a short text naming this entry.', path=path))
    return str(value).strip()


def _index(path: str) -> int:
    return int(path.rsplit('[', 1)[1].rstrip(']'))


def _prompt(value: Any, path: str, unknown: list[str]) -> dict[str, Any]:
    obj = _object(value, path, PROMPT_KEYS, unknown)
    variables = obj.get('variables') or []
    if not isinstance(variables, list):
        raise InvalidInput(N_('{path}.variables: must be a list of variables.', path=path))
    tags = obj.get('tags') or []
    if not isinstance(tags, list):
        raise InvalidInput(N_('{path}.tags: must be a list of words.', path=path))
    return {
        'key': _key(obj, path, _index(path), 'prompt'),
        'name': _text(obj, 'name', path, 120, required=True),
        'description': _text(obj, 'description', path, 2000),
        'tags': [str(t) for t in tags],
        'system_template': _text(obj, 'system_template', path, 20000),
        'user_template': _text(obj, 'user_template', path, 20000),
        'variables': variables,
        'default_model': _text(obj, 'default_model', path, 200),
        'options': _dict(obj, 'options', path),
        'share': _bool(obj, 'share', path, True),
    }


def _tool(value: Any, path: str, unknown: list[str]) -> dict[str, Any]:
    obj = _object(value, path, TOOL_KEYS, unknown)
    return {
        'key': _key(obj, path, _index(path), 'tool'),
        'name': _text(obj, 'name', path, 64, required=True),
        'description': _text(obj, 'description', path, 1000),
        'kind': _text(obj, 'kind', path, 32, required=True),
        'parameters': _dict(obj, 'parameters', path),
        'config': _dict(obj, 'config', path),
        'share': _bool(obj, 'share', path, True),
    }


def _kb(value: Any, path: str, unknown: list[str], files: dict[str, bytes]) -> dict[str, Any]:
    obj = _object(value, path, KB_KEYS, unknown)
    docs = obj.get('documents') or []
    if not isinstance(docs, list) or len(docs) > MAX_DOCUMENTS:
        raise InvalidInput(
            N_(
                '{path}.documents: must be a list of at most {MAX_DOCUMENTS} documents.',
                path=path,
                MAX_DOCUMENTS=MAX_DOCUMENTS,
            )
        )
    documents = []
    for j, item in enumerate(docs):
        doc_path = f'{path}.documents[{j}]'
        doc = _object(item, doc_path, DOC_KEYS, unknown)
        name = _text(doc, 'name', doc_path, 200, required=True)
        data: bytes | None = None
        if isinstance(doc.get('text'), str):
            data = doc['text'].encode('utf-8')
        elif isinstance(doc.get('base64'), str):
            try:
                data = base64.b64decode(doc['base64'], validate=True)
            except (binascii.Error, ValueError):
                raise InvalidInput(N_('{doc_path}.base64: is not valid base64.', doc_path=doc_path)) from None
        elif isinstance(doc.get('file'), str):
            if doc['file'] not in files:
                raise InvalidInput(
                    N_('{doc_path}.file: "{file}" is not in the .zip.', doc_path=doc_path, file=doc['file'][:80])
                )
            data = files[doc['file']]
        documents.append({'name': name, 'data': data})
    return {
        'key': _key(obj, path, _index(path), 'kb'),
        'name': _text(obj, 'name', path, 120, required=True),
        'description': _text(obj, 'description', path, 2000),
        'embedding_model': _text(obj, 'embedding_model', path, 200, required=True),
        'metric': _text(obj, 'metric', path, 16) or 'COSINE',
        'splitter': _text(obj, 'splitter', path, 32) or 'sentence',
        'chunk_size': _int(obj, 'chunk_size', path, 1, 100_000, 512),
        'chunk_overlap': _int(obj, 'chunk_overlap', path, 0, 100_000, 64),
        'share': _bool(obj, 'share', path, True),
        'documents': documents,
    }


def _rag(value: Any, path: str, unknown: list[str]) -> dict[str, Any]:
    obj = _object(value, path, RAG_KEYS, unknown)
    kbs = obj.get('knowledge_bases')
    if not isinstance(kbs, list) or not kbs or not all(isinstance(k, str | int) for k in kbs):
        raise InvalidInput(
            N_('{path}.knowledge_bases: must list the keys of one or more knowledge_bases entries.', path=path)
        )
    return {
        'key': _key(obj, path, _index(path), 'rag'),
        'name': _text(obj, 'name', path, 120, required=True),
        'knowledge_bases': [str(k) for k in kbs],
        'chat_model': _text(obj, 'chat_model', path, 200, required=True),
        'embedding_model': _text(obj, 'embedding_model', path, 200),
        'prompt_template': _text(obj, 'prompt_template', path, 20000),
        'top_k': _int(obj, 'top_k', path, 1, 50, 4),
        'threshold': _float(obj, 'threshold', path, -1.0, 1.0, 0.0),
        'share': _bool(obj, 'share', path, True),
    }


# ----- writing -------------------------------------------------------------------------------------------------------
def pack(data: dict[str, Any], documents: dict[str, bytes]) -> tuple[bytes, str]:
    """The file to download and its kind: JSON alone, or a .zip with the documents (paths as in `file` entries)."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if not documents:
        return text.encode('utf-8'), 'json'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(JSON_NAME, text)
        for path, content in documents.items():
            archive.writestr(path, content)
    return buffer.getvalue(), 'zip'
