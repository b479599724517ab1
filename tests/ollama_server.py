"""An Ollama-compatible HTTP test server (standard library only).

It speaks the wire protocol of `ollama serve` (see shared/reference/ollama-api.md) well enough that the official
`ollama` Python client, sync and async, accepts it: NDJSON streaming with chunked encoding, Go-like error messages,
thinking, tool calls, JSON formats, embeddings, pull progress, create/copy/delete and `/api/ps` with keep_alive.
The server runs in a daemon thread, so it works with any event loop.

Use in tests::

    server = OllamaTestServer().start()          # or: with OllamaTestServer() as server: ...
    client = ollama.Client(host=server.url)
    server.token_delay = 0.05                     # switches may be flipped at any time, from any thread
    server.go_down(); server.come_up()            # connection refused / listen again on the same port
    server.stop()

Another process can steer it: `POST /__control` with `{"busy": true}`, `GET /__control` for switches and counters,
`POST /__control/reset`. Requests to `/__control` are not added to `requests`.

Try the platform without Ollama: `python -m tests.ollama_server --port 11434 --token-delay 0.05`.
"""

from __future__ import annotations

import argparse
import copy
import functools
import hashlib
import json
import math
import random
import re
import select
import socket
import socketserver
import string
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

VERSION = '0.32.15'
BUSY_MESSAGE = 'server busy, please try again.  maximum pending requests exceeded'
FAIL_MESSAGE = 'an error was encountered while running the model: unexpected EOF'
PULL_MISSING = 'pull model manifest: file does not exist'
SWITCHES: dict[str, Any] = {
    'token_delay': 0.0,
    'first_token_delay': 0.0,
    'response_tokens': 12,
    'fail_after_tokens': None,
    'stall_after_tokens': None,  # a hung Ollama: after N parts it sends nothing more but keeps the connection open
    'busy': False,
    'pull_delay': 0.02,
    'embed_delay': 0.0,
    'always_call_tools': False,
}
FILLER = (
    'Ollama runs open language models on your own computer and this deterministic reply comes from the workshop '
    'test server so every run looks the same'
).split()
THOUGHT = ['Let ', 'me ', 'think ', 'about ', 'this. ']
LAYER_SIZES = (50_000_000, 10_240, 500)
DEFAULT_HOST, DEFAULT_NAMESPACE = 'registry.ollama.ai', 'library'
FOREVER = timedelta(days=365 * 290)
_WORD = re.compile(r'\w+')
_NAME_PART = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}')
_NAMESPACE = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_-]{0,79}')
_HOST = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}')
_DURATION_PART = r'(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)'
_DURATION_UNITS = {'ns': 1e-9, 'us': 1e-6, 'µs': 1e-6, 'μs': 1e-6, 'ms': 1e-3, 's': 1.0, 'm': 60.0, 'h': 3600.0}


@dataclass
class FakeModel:
    name: str
    family: str = 'llama'
    parameter_size: str = '3.2B'
    quantization_level: str = 'Q4_K_M'
    size: int = 2019393189
    capabilities: list[str] = field(default_factory=lambda: ['completion', 'tools'])
    embedding_length: int = 0
    context_length: int = 4096
    template: str = '{{ .Prompt }}'
    system: str = ''
    parameters: dict = field(default_factory=dict)
    license: str = 'MIT'
    parent: str = ''
    modified_at: datetime = field(default_factory=lambda: datetime.now().astimezone())
    digest: str = ''

    def __post_init__(self) -> None:
        if not self.digest:
            self.digest = hashlib.sha256(self.name.encode()).hexdigest()


def DEFAULT_MODELS() -> list[FakeModel]:
    now = datetime.now().astimezone()
    embed = ['embedding']
    return [
        FakeModel('llama3.2:latest', modified_at=now - timedelta(hours=1), parameters={'stop': ['<|eot_id|>']}),
        FakeModel('qwen3:0.6b', family='qwen3', parameter_size='751.63M', size=522653767,
                  capabilities=['completion', 'tools', 'thinking'], context_length=40960,
                  modified_at=now - timedelta(hours=2), parameters={'temperature': 0.6, 'top_k': 20}),
        FakeModel('llava:7b', parameter_size='7B', quantization_level='Q4_0', size=4733363377,
                  capabilities=['completion', 'vision'], modified_at=now - timedelta(hours=3)),
        FakeModel('nomic-embed-text:latest', family='nomic-bert', parameter_size='137M', quantization_level='F16',
                  size=274302450, capabilities=embed, embedding_length=768, context_length=2048,
                  modified_at=now - timedelta(hours=4), template=''),
        FakeModel('all-minilm:latest', family='bert', parameter_size='23M', quantization_level='F16', size=45960996,
                  capabilities=embed, embedding_length=384, context_length=512,
                  modified_at=now - timedelta(hours=5), template=''),
    ]  # fmt: skip


def PULLABLE_MODELS() -> dict[str, FakeModel]:
    models = [
        FakeModel('tinyllama:latest', parameter_size='1B', quantization_level='Q4_0', size=637700138,
                  capabilities=['completion']),
        FakeModel('smollm2:135m', parameter_size='135M', quantization_level='F16', size=270898672),
        FakeModel('mxbai-embed-large:latest', family='bert', parameter_size='334M', quantization_level='F16',
                  size=669615493, capabilities=['embedding'], embedding_length=1024, context_length=512, template=''),
        FakeModel('phi3:mini', family='phi3', parameter_size='3.8B', size=2176178913, capabilities=['completion']),
    ]  # fmt: skip
    return {m.name: m for m in models}


# ---------------------------------------------------------------- names, durations, small helpers


def parse_name(name: str) -> tuple[str, str, str, str] | None:
    """Split `[host/][namespace/]model[:tag][@digest]` into its four parts with defaults, or None if invalid."""
    name = (name or '').split('@', 1)[0]
    head, sep, tag = name.rpartition(':')
    if not sep or '/' in tag:
        head, tag = name, 'latest'
    parts = head.split('/')
    if len(parts) > 3:
        return None
    host, namespace, model = [DEFAULT_HOST, DEFAULT_NAMESPACE][: 3 - len(parts)] + parts
    checks = ((_HOST, host), (_NAMESPACE, namespace), (_NAME_PART, model), (_NAME_PART, tag))
    return (host, namespace, model, tag) if all(rx.fullmatch(value) for rx, value in checks) else None


def display_name(name: str) -> str | None:
    """The shortest display form (`llama3.2` -> `llama3.2:latest`), or None if the name is invalid."""
    parts = parse_name(name)
    if parts is None:
        return None
    host, namespace, model, tag = parts
    if host != DEFAULT_HOST:
        return f'{host}/{namespace}/{model}:{tag}'
    return f'{model}:{tag}' if namespace == DEFAULT_NAMESPACE else f'{namespace}/{model}:{tag}'


def full_name(name: str) -> str:
    host, namespace, model, tag = parse_name(name) or (DEFAULT_HOST, DEFAULT_NAMESPACE, name, 'latest')
    return f'{host}/{namespace}/{model}:{tag}'


def parse_keep_alive(value: Any) -> float:
    """keep_alive in seconds (default 5m, negative = forever) from a number or a Go duration string."""
    if value is None:
        return 300.0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        raise ApiError(400, 'invalid keep_alive')
    text = value.strip()
    if text in ('0', '+0', '-0'):
        return 0.0
    match = re.fullmatch(rf'([-+]?)((?:{_DURATION_PART})+)', text)
    if match is None:
        missing = re.fullmatch(r'[-+]?(\d+\.?\d*|\.\d+)', text)
        raise ApiError(400, f'time: {"missing unit in" if missing else "invalid"} duration {json.dumps(value)}')
    seconds = sum(float(num) * _DURATION_UNITS[unit] for num, unit in re.findall(_DURATION_PART, match.group(2)))
    return -seconds if match.group(1) == '-' else seconds


def now_utc() -> str:
    return datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def words_of(text: str) -> list[str]:
    return [f'{word} ' for word in text.split()]


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class ClientGone(Exception):
    """The client closed the connection (or the server went down) while we were answering."""


# ---------------------------------------------------------------- embeddings


def _add_feature(features: dict[int, float], token: str, weight: float, dim: int) -> None:
    h = zlib.crc32(token.encode())
    features[h % dim] = features.get(h % dim, 0.0) + (weight if h & 0x80000000 else -weight)


@functools.lru_cache(maxsize=8192)
def embed_text(text: str, dim: int) -> tuple[float, ...]:
    """Deterministic, L2-normalised feature-hashing vector: texts that share words (or trigrams) are similar."""
    words = _WORD.findall(text.lower()) or ([text.strip()] if text.strip() else [])
    features: dict[int, float] = {}
    for word in words:
        _add_feature(features, word, 1.0, dim)
        padded = f'#{word}#'
        for i in range(len(padded) - 2):
            _add_feature(features, padded[i : i + 3], 0.3, dim)
    return _normalise(features, dim)


def _normalise(features: dict[int, float], dim: int) -> tuple[float, ...]:
    norm = math.sqrt(sum(v * v for v in features.values()))
    vector = [0.0] * dim
    if norm == 0:
        vector[0] = 1.0
    else:
        for index, value in features.items():
            vector[index] = value / norm
    return tuple(vector)


def embedding(text: str, dim: int, dimensions: Any = None) -> tuple[float, ...]:
    vector = embed_text(text, dim)
    if isinstance(dimensions, int) and 0 < dimensions < dim:
        vector = _normalise({i: v for i, v in enumerate(vector[:dimensions]) if v}, dimensions)
    return vector


@functools.lru_cache(maxsize=8192)
def embedding_json(text: str, dim: int, dimensions: Any = None) -> str:
    """One /api/embed vector as JSON text. Ollama's Go server holds embeddings as []float32 and writes each with the
    fewest digits that round-trip a float32 (at most 9 significant digits); so does this. Kept in a cache, so a text
    embedded again is answered at once (the benchmarks' "instant embeddings")."""
    return '[' + ','.join([f'{value:.9g}' for value in embedding(text, dim, dimensions)]) + ']'


# ---------------------------------------------------------------- replies


@dataclass
class Reply:
    thinking: list[str]
    content: list[str]
    tool_calls: list[dict]
    done_reason: str
    prompt_count: int

    def events(self) -> list[tuple[str, Any]]:
        tools = [('tools', self.tool_calls)] if self.tool_calls else []
        return [('thinking', t) for t in self.thinking] + tools + [('content', t) for t in self.content]


def example_value(schema: Any, defs: dict, text: str = 'example') -> Any:
    """A value matching a JSON schema: string -> text, number/integer -> 1, boolean -> true, array -> [], object."""
    if not isinstance(schema, dict):
        return text
    if '$ref' in schema:
        schema = defs.get(str(schema['$ref']).rsplit('/', 1)[-1], {})
    if schema.get('enum'):
        return schema['enum'][0]
    options = schema.get('anyOf') or schema.get('oneOf')
    if options:
        return example_value(next((o for o in options if o.get('type') != 'null'), options[0]), defs, text)
    kind = schema.get('type')
    if isinstance(kind, list):
        kind = next((k for k in kind if k != 'null'), 'string')
    if kind == 'object' or 'properties' in schema:
        return {key: example_value(sub, defs, text) for key, sub in (schema.get('properties') or {}).items()}
    return {'number': 1, 'integer': 1, 'boolean': True, 'array': [], 'null': None}.get(kind, text)


def default_arguments(tool: dict) -> dict:
    params = (tool.get('function') or {}).get('parameters') or {}
    props = params.get('properties') or {}
    defs = params.get('$defs') or params.get('defs') or {}
    return {
        key: example_value(props.get(key, {'type': 'string'}), defs, 'test') for key in params.get('required') or []
    }


def tool_calls_for(tools: list[dict], text: str) -> list[dict]:
    """`call NAME {json}` in the user text calls NAME; otherwise the first tool with generated arguments."""
    by_name = {(t.get('function') or {}).get('name'): t for t in tools}
    calls: list[tuple[str, dict]] = []
    for match in re.finditer(r'call (\w+)\s*', text):
        name, rest, args = match.group(1), text[match.end() :], None
        if rest.startswith('{'):
            try:
                args, _ = json.JSONDecoder().raw_decode(rest)
            except ValueError:
                args = None
        if isinstance(args, dict) or name in by_name:
            calls.append((name, args if isinstance(args, dict) else default_arguments(by_name[name])))
    if not calls:
        first = tools[0]
        calls = [((first.get('function') or {}).get('name', 'tool'), default_arguments(first))]
    alphabet = string.ascii_lowercase + string.digits
    return [
        {'id': f'call_{"".join(random.choices(alphabet, k=8))}', 'function': {'index': i, 'name': n, 'arguments': a}}
        for i, (n, a) in enumerate(calls)
    ]


def apply_stop(tokens: list[str], stop: Any) -> tuple[list[str], bool]:
    stops = [stop] if isinstance(stop, str) else [s for s in stop or [] if isinstance(s, str)]
    text = ''.join(tokens)
    cut = min((text.find(s) for s in stops if s and s in text), default=-1)
    if cut < 0:
        return tokens, False
    out, size = [], 0
    for token in tokens:
        if size + len(token) >= cut:
            if cut > size:
                out.append(token[: cut - size])
            break
        out.append(token)
        size += len(token)
    return out, True


def build_reply(
    body: dict, text: str, *, think: bool, response_tokens: int, images: int = 0, tool_messages: list[dict] = (),
    tools: list[dict] = (), call_tools: bool = False, vision: bool = False, prompt_count: int = 1,
) -> Reply:  # fmt: skip
    """Plan a deterministic reply: optional thinking, tool calls or text tokens (one word + space per token)."""
    thinking = list(THOUGHT) if think else []
    if call_tools:
        return Reply(thinking, [], tool_calls_for(list(tools), text), 'stop', prompt_count)
    if tool_messages:
        intro = [w for m in tool_messages for w in words_of(f'The tool {m.get("tool_name") or "tool"} returned: '
                                                            f'{m.get("content") or ""}')]  # fmt: skip
        size = max(response_tokens, len(intro))
    else:
        said = words_of(' '.join(text.split()[:6])) or ['nothing ']
        said[-1] = said[-1].rstrip().rstrip('.!?,;:') + '. '
        seen = ['I ', 'see ', f'{images} ', f'image{"s" if images > 1 else ""}. '] if images and vision else []
        intro, size = [*seen, 'You ', 'said: ', *said], response_tokens
    tokens = (intro + [f'{FILLER[i % len(FILLER)]} ' for i in range(max(0, size - len(intro)))])[: max(0, size)]
    fmt = body.get('format')
    if fmt:
        value = example_value(fmt, fmt.get('$defs') or {}) if isinstance(fmt, dict) else {'reply': ''.join(tokens)}
        tokens = re.findall(r'\S+\s*', json.dumps(value))
    options = body.get('options') or {}
    reason, limit = 'stop', options.get('num_predict')
    if isinstance(limit, int) and 0 <= limit < len(tokens):
        tokens, reason = tokens[:limit], 'length'
    tokens, stopped = apply_stop(tokens, options.get('stop'))
    return Reply(thinking, tokens, [], 'stop' if stopped else reason, prompt_count)


def shape(api: str, model: str, content: str = '', thinking: str = '', tool_calls: Any = None, done=False) -> dict:
    obj: dict[str, Any] = {'model': model, 'created_at': now_utc()}
    if api == 'chat':
        message = {'role': 'assistant', 'content': content}
        if thinking:
            message['thinking'] = thinking
        if tool_calls:
            message['tool_calls'] = tool_calls
        obj['message'] = message
    else:
        obj['response'] = content
        if thinking:
            obj['thinking'] = thinking
    obj['done'] = done
    return obj


def details(model: FakeModel) -> dict:
    return {
        'parent_model': model.parent,
        'format': 'gguf',
        'family': model.family,
        'families': [model.family],
        'parameter_size': model.parameter_size,
        'quantization_level': model.quantization_level,
    }


def parameters_text(model: FakeModel) -> str:
    lines = []
    for key, value in model.parameters.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f'{key:<30} {json.dumps(item) if isinstance(item, str) else item}')
    return '\n'.join(lines)


def modelfile_text(model: FakeModel) -> str:
    lines = ['# Modelfile generated by "ollama show"', '# To build a new Modelfile based on this, replace FROM with:',
             f'# FROM {model.name}', '', f'FROM /root/.ollama/models/blobs/sha256-{model.digest}']  # fmt: skip
    if model.template:
        lines.append(f'TEMPLATE """{model.template}"""')
    if model.system:
        lines.append(f'SYSTEM """{model.system}"""')
    lines += [f'PARAMETER {line}' for line in parameters_text(model).splitlines()]
    return '\n'.join([*lines, f'LICENSE """{model.license}"""', ''])


def pull_updates(name: str) -> Iterator[dict]:
    for i, size in enumerate(LAYER_SIZES):
        digest = hashlib.sha256(f'{name}/layer{i}'.encode()).hexdigest()
        base = {'status': f'pulling {digest[:12]}', 'digest': f'sha256:{digest}', 'total': size}
        steps = 10 if size > 1_000_000 else 1
        if steps > 1:
            yield dict(base)
        for k in range(1, steps + 1):
            yield {**base, 'completed': size * k // steps}
    yield {'status': 'verifying sha256 digest'}
    yield {'status': 'writing manifest'}


def parse_body(raw: bytes) -> dict:
    text = raw.decode('utf-8', errors='replace')
    if not text.strip():
        raise ApiError(400, 'missing request body')
    try:
        body = json.loads(text)
    except json.JSONDecodeError as e:
        if e.pos >= len(text):
            raise ApiError(400, 'unexpected EOF') from None
        raise ApiError(400, f"invalid character '{text[e.pos]}' looking for beginning of value") from None
    if not isinstance(body, dict):
        raise ApiError(400, f'json: cannot unmarshal {type(body).__name__} into Go value of type api.Request')
    return body


# ---------------------------------------------------------------- HTTP layer

ROUTES = {
    '/': {'GET': 'root', 'HEAD': 'root'},
    '/api/version': {'GET': 'version', 'HEAD': 'version'},
    '/api/tags': {'GET': 'tags', 'HEAD': 'tags'},
    '/api/ps': {'GET': 'ps'},
    '/api/show': {'POST': 'show'},
    '/api/chat': {'POST': 'chat'},
    '/api/generate': {'POST': 'generate'},
    '/api/embed': {'POST': 'embed'},
    '/api/embeddings': {'POST': 'embeddings'},
    '/api/pull': {'POST': 'pull'},
    '/api/create': {'POST': 'create'},
    '/api/copy': {'POST': 'copy'},
    '/api/delete': {'DELETE': 'delete'},
    '/__control': {'GET': 'control_get', 'POST': 'control_set'},
    '/__control/reset': {'POST': 'control_reset'},
}
BODYLESS = {'root', 'version', 'tags', 'ps', 'control_get', 'control_reset'}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    owner: OllamaTestServer

    def server_bind(self) -> None:  # skip HTTPServer's slow getfqdn() lookup
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up (a cancelled stream, a closed pool) is normal here, not worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def owner(self) -> OllamaTestServer:
        return self.server.owner

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle delay between small writes
        self.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.owner._track(self.connection, add=False)

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = do_GET

    # -- plumbing

    def _dispatch(self) -> None:
        if self.server is not self.owner._httpd:
            self.close_connection = True
            return
        path, raw, self._streaming = urlsplit(self.path).path, self._read_body(), False
        if not path.startswith('/__control'):
            try:
                logged = json.loads(raw) if raw.strip() else None
            except ValueError:
                logged = None
            self.owner._log({'method': self.command, 'path': path, 'body': logged})
        try:
            routes = ROUTES.get(path)
            if routes is None:
                return self._send(404, b'404 page not found', 'text/plain')
            name = routes.get(self.command)
            if name is None:
                return self._send(405, b'405 method not allowed', 'text/plain')
            getattr(self, f'_api_{name}')(*(() if name in BODYLESS else (parse_body(raw),)))
        except ApiError as e:
            self._send_json(e.status, {'error': e.message})
        except (ClientGone, OSError):
            self.close_connection = True
            self.owner._note_disconnect(self.server)
        except Exception as e:  # a bug in the test server: make it visible to the client
            if self._streaming:
                self.close_connection = True
            else:
                self._send_json(500, {'error': f'test server error: {e!r}'})

    def _read_body(self) -> bytes:
        if 'chunked' not in self.headers.get('Transfer-Encoding', '').lower():
            return self.rfile.read(int(self.headers.get('Content-Length') or 0))
        parts = []
        while size := int(self.rfile.readline().split(b';')[0].strip() or b'0', 16):
            parts.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b'\r\n', b'\n', b''):
            pass
        return b''.join(parts)

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)

    def _send_json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj, separators=(',', ':')).encode(), 'application/json; charset=utf-8')

    def _stream(self, produce: Callable[[], None]) -> None:
        """Send a chunked NDJSON reply; `produce` calls `_emit` and `_pause`."""
        owner = self.owner
        owner._stream_delta(+1)
        self._streaming = True
        try:
            self.send_response(200)
            self.send_header('Content-Type', 'application/x-ndjson')
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            produce()
            self._write(b'0\r\n\r\n')
        except ClientGone:
            self.close_connection = True
            owner._note_disconnect(self.server)
        finally:
            owner._stream_delta(-1)

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
        except OSError:
            raise ClientGone from None

    def _emit(self, obj: dict) -> None:
        data = json.dumps(obj, separators=(',', ':')).encode() + b'\n'
        self._write(b'%x\r\n%s\r\n' % (len(data), data))

    def _pause(self, delay: float) -> None:
        """Wait `delay` seconds, raising ClientGone as soon as the client closes the connection."""
        end = time.monotonic() + max(0.0, delay)
        while True:
            remaining = end - time.monotonic()
            if self.server is not self.owner._httpd:
                raise ClientGone
            try:
                readable, _, _ = select.select([self.connection], [], [], max(0.0, min(remaining, 0.05)))
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    raise ClientGone
            except (OSError, ValueError):
                raise ClientGone from None
            if readable:  # pipelined data, not a close: just wait
                time.sleep(max(0.0, end - time.monotonic()))
                return
            if remaining <= 0:
                return

    # -- simple endpoints

    def _api_root(self) -> None:
        self._send(200, b'Ollama is running', 'text/plain; charset=utf-8')

    def _api_version(self) -> None:
        self._send_json(200, {'version': VERSION})

    def _api_tags(self) -> None:
        models = sorted(self.owner._all_models(), key=lambda m: m.modified_at, reverse=True)
        self._send_json(200, {'models': [self.owner._tag_entry(m) for m in models]})

    def _api_ps(self) -> None:
        self._send_json(200, {'models': self.owner._ps_entries()})

    def _api_show(self, body: dict) -> None:
        given = body.get('model') or body.get('name') or ''
        model = self.owner.find(given)
        if model is None:
            raise ApiError(404, f"model '{display_name(given) or given}' not found")
        arch = model.family
        info = {'general.architecture': arch, 'general.file_type': 15, 'general.parameter_count': model.size // 2,
                f'{arch}.context_length': model.context_length,
                f'{arch}.embedding_length': model.embedding_length or 3072}  # fmt: skip
        self._send_json(200, {
            'license': model.license, 'modelfile': modelfile_text(model), 'parameters': parameters_text(model),
            'template': model.template, 'system': model.system, 'details': details(model), 'model_info': info,
            'capabilities': list(model.capabilities), 'modified_at': model.modified_at.isoformat(),
        })  # fmt: skip

    # -- chat and generate

    def _completion_model(self, body: dict, api: str) -> tuple[FakeModel, str]:
        self._check_busy()
        given = body.get('model') or ''
        if not given:
            raise ApiError(400, 'model is required')
        model = self.owner.find(given)
        if model is None:
            raise ApiError(404, f"model '{given}' not found")
        if 'completion' not in model.capabilities:
            raise ApiError(400, f'{json.dumps(given)} does not support {api}')
        return model, given

    def _check_busy(self) -> None:
        if self.owner.busy:
            raise ApiError(503, BUSY_MESSAGE)

    @staticmethod
    def _think(body: dict, model: FakeModel, given: str) -> bool:
        think = body.get('think')
        if isinstance(think, str) and think not in ('high', 'medium', 'low', 'max'):
            raise ApiError(400, f'invalid think value: {json.dumps(think)} '
                                '(must be "high", "medium", "low", "max", true, or false)')  # fmt: skip
        can_think = 'thinking' in model.capabilities
        if think not in (None, False) and not can_think:
            raise ApiError(400, f'{json.dumps(given)} does not support thinking')
        return can_think and think is not False

    def _api_chat(self, body: dict) -> None:
        model, given = self._completion_model(body, 'chat')
        keep, think = parse_keep_alive(body.get('keep_alive')), self._think(body, model, given)
        tools = [t for t in body.get('tools') or [] if isinstance(t, dict)]
        if tools and 'tools' not in model.capabilities:
            raise ApiError(400, f'{full_name(model.name)} does not support tools')
        messages = [m for m in body.get('messages') or [] if isinstance(m, dict)]
        if not messages:
            return self._load_reply('chat', given, model, keep)
        last_role = str(messages[-1].get('role', '')).lower()
        users = [m for m in messages if str(m.get('role', '')).lower() == 'user']
        trailing_tools = []
        for message in reversed(messages):
            if str(message.get('role', '')).lower() != 'tool':
                break
            trailing_tools.insert(0, message)
        reply = build_reply(
            body, (users[-1].get('content') or '') if users else '', think=think,
            response_tokens=self.owner.response_tokens, images=len(messages[-1].get('images') or []),
            tool_messages=trailing_tools, tools=tools, vision='vision' in model.capabilities,
            call_tools=bool(tools) and (last_role == 'user' or self.owner.always_call_tools),
            prompt_count=max(1, sum(len(str(m.get('content') or '').split()) for m in messages)),
        )  # fmt: skip
        self._deliver('chat', given, model, keep, reply, body)

    def _api_generate(self, body: dict) -> None:
        model, given = self._completion_model(body, 'generate')
        keep, think = parse_keep_alive(body.get('keep_alive')), self._think(body, model, given)
        if body.get('raw') and (body.get('template') or body.get('system') or body.get('context')):
            raise ApiError(400, 'raw mode does not support template, system, or context')
        prompt = str(body.get('prompt') or '')
        if not prompt:
            return self._load_reply('generate', given, model, keep)
        reply = build_reply(
            body, prompt, think=think, response_tokens=self.owner.response_tokens,
            images=len(body.get('images') or []), vision='vision' in model.capabilities,
            prompt_count=max(1, len(prompt.split()) + len(str(body.get('system') or '').split())),
        )  # fmt: skip
        self._deliver('generate', given, model, keep, reply, body)

    def _load_reply(self, api: str, given: str, model: FakeModel, keep: float) -> None:
        self.owner._mark_loaded(model, keep)
        reason = 'unload' if keep == 0 else 'load'
        if keep == 0:
            self.owner._unload(model.name)
        self._send_json(200, {**shape(api, given, done=True), 'done_reason': reason})

    def _deliver(self, api: str, given: str, model: FakeModel, keep: float, reply: Reply, body: dict) -> None:
        owner, started = self.owner, time.monotonic_ns()
        was_loaded = owner._mark_loaded(model, keep)
        try:
            final = functools.partial(self._final, api, given, reply, body, started, was_loaded)
            if body.get('stream') is not False:
                self._stream(lambda: self._stream_reply(api, given, reply, final))
                return
            events = reply.events()
            delay = (owner.first_token_delay + owner.token_delay * (len(events) - 1)) if events else 0.0
            self._pause(delay)
            fail = owner.fail_after_tokens
            if fail is not None and fail < len(events):
                raise ApiError(500, FAIL_MESSAGE)
            owner._count_tokens(len(events))
            self._send_json(200, final(''.join(reply.content), ''.join(reply.thinking), reply.tool_calls or None))
        finally:
            owner._mark_loaded(model, keep, finished=True)

    def _stream_reply(self, api: str, given: str, reply: Reply, final: Callable[..., dict]) -> None:
        owner = self.owner
        for emitted, (kind, value) in enumerate(reply.events()):
            fail = owner.fail_after_tokens
            if fail is not None and emitted >= fail:
                self._emit({'error': FAIL_MESSAGE})
                return
            stall = owner.stall_after_tokens
            if stall is not None and emitted >= stall:
                self._pause(3600)  # until the client gives up (ClientGone) or the server stops
                return
            self._pause(owner.first_token_delay if emitted == 0 else owner.token_delay)
            if kind == 'tools':
                self._emit(shape(api, given, tool_calls=value))
            else:
                self._emit(shape(api, given, **{'content' if kind == 'content' else 'thinking': value}))
            owner._count_tokens(1)
        self._emit(final())

    def _final(self, api, given, reply, body, started, was_loaded, content='', thinking='', tools=None) -> dict:
        load = 50_000 if was_loaded else 1_500_000
        total = max(time.monotonic_ns() - started, 1_000) + load
        count = max(1, len(reply.events()))
        obj = {**shape(api, given, content, thinking, tools, done=True), 'done_reason': reply.done_reason,
               'total_duration': total, 'load_duration': load, 'prompt_eval_count': reply.prompt_count,
               'prompt_eval_duration': reply.prompt_count * 20_000, 'eval_count': count,
               'eval_duration': max(total - load - reply.prompt_count * 20_000, count * 1_000)}  # fmt: skip
        if api == 'generate' and not body.get('raw'):
            text = f'{body.get("prompt") or ""} {"".join(reply.content)}'
            obj['context'] = [zlib.crc32(word.encode()) % 128_000 for word in text.split()]
        return obj

    # -- embeddings

    def _embed_model(self, body: dict) -> tuple[FakeModel, str]:
        self._check_busy()
        given = body.get('model') or ''
        model = self.owner.find(given)
        if model is None:
            raise ApiError(404, f'model {json.dumps(given)} not found, try pulling it first')
        return model, given

    def _api_embed(self, body: dict) -> None:
        model, given = self._embed_model(body)
        keep, raw = parse_keep_alive(body.get('keep_alive')), body.get('input')
        if raw is None or raw == '':
            texts = []
        elif isinstance(raw, str):
            texts = [raw]
        elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            texts = raw
        else:
            raise ApiError(400, 'invalid input type')
        if not texts:
            return self._send_json(200, {'model': given, 'embeddings': []})
        started, was_loaded = time.monotonic_ns(), self.owner._mark_loaded(model, keep)
        self._pause(self.owner.embed_delay)
        dim = model.embedding_length or 3072
        dimensions = body.get('dimensions')
        vectors = ','.join(
            [embedding_json(text, dim, dimensions if isinstance(dimensions, int) else None) for text in texts]
        )
        self.owner._mark_loaded(model, keep, finished=True)
        load = 50_000 if was_loaded else 1_500_000
        rest = json.dumps({
            'total_duration': time.monotonic_ns() - started + load, 'load_duration': load,
            'prompt_eval_count': sum(max(1, len(t.split())) for t in texts),
        }, separators=(',', ':'))  # fmt: skip
        head = json.dumps({'model': given}, separators=(',', ':'))[:-1]
        self._send(200, f'{head},"embeddings":[{vectors}],{rest[1:]}'.encode(), 'application/json; charset=utf-8')

    def _api_embeddings(self, body: dict) -> None:
        model, _ = self._embed_model(body)
        keep, prompt = parse_keep_alive(body.get('keep_alive')), str(body.get('prompt') or '')
        if not prompt:
            return self._send_json(200, {'embedding': []})
        self.owner._mark_loaded(model, keep)
        vector = [value * 10.0 for value in embed_text(prompt, model.embedding_length or 3072)]
        self.owner._mark_loaded(model, keep, finished=True)
        self._send_json(200, {'embedding': vector})

    # -- model management

    def _api_pull(self, body: dict) -> None:
        self._check_busy()
        name = display_name(body.get('model') or body.get('name') or '')
        if name is None:
            raise ApiError(400, 'invalid model name')
        owner = self.owner
        source = owner._pullable_model(name) or owner.find(name)

        def install() -> None:
            assert source is not None
            owner.add_model(replace(copy.deepcopy(source), name=name, modified_at=datetime.now().astimezone()))

        if body.get('stream') is False:
            self._pause(owner.pull_delay * (1 + len(list(pull_updates(name)))))
            if source is None:
                raise ApiError(500, PULL_MISSING)
            install()
            return self._send_json(200, {'status': 'success'})

        def produce() -> None:
            self._emit({'status': 'pulling manifest'})
            self._pause(owner.pull_delay)
            if source is None:
                return self._emit({'error': PULL_MISSING})
            for update in pull_updates(name):
                self._emit(update)
                self._pause(owner.pull_delay)
            install()
            self._emit({'status': 'success'})

        self._stream(produce)

    def _api_create(self, body: dict) -> None:
        name = display_name(body.get('model') or body.get('name') or '')
        if name is None:
            raise ApiError(400, 'invalid model name')
        base_name = body.get('from') or ''
        if not base_name:
            raise ApiError(400, "neither 'from' or 'files' was specified")
        base = self.owner.find(base_name)
        if base is None:
            raise ApiError(404, f'model {json.dumps(base_name)} not found')
        license_ = body.get('license', base.license)
        new = replace(
            copy.deepcopy(base), name=name, digest='', parent=base.name, modified_at=datetime.now().astimezone(),
            system=body.get('system', base.system), template=body.get('template') or base.template,
            parameters={**base.parameters, **(body.get('parameters') or {})},
            license='\n'.join(license_) if isinstance(license_, list) else str(license_),
        )  # fmt: skip
        statuses = ['reading model metadata']
        statuses += [f'creating {key} layer' for key in ('system', 'template', 'parameters', 'license') if key in body]
        statuses += [f'using already created layer sha256:{base.digest}', 'writing manifest']
        if body.get('stream') is False:
            self.owner.add_model(new)
            return self._send_json(200, {'status': 'success'})

        def produce() -> None:
            for status in statuses:
                self._emit({'status': status})
                self._pause(0.0)
            self.owner.add_model(new)
            self._emit({'status': 'success'})

        self._stream(produce)

    def _api_copy(self, body: dict) -> None:
        source = self.owner.find(body.get('source') or '')
        if source is None:
            raise ApiError(404, f'model {json.dumps(body.get("source") or "")} not found')
        destination = display_name(body.get('destination') or '')
        if destination is None:
            raise ApiError(400, 'invalid model name')
        now = datetime.now().astimezone()
        self.owner.add_model(replace(copy.deepcopy(source), name=destination, digest=source.digest, modified_at=now))
        self._send(200, b'', 'application/json; charset=utf-8')

    def _api_delete(self, body: dict) -> None:
        given = body.get('model') or body.get('name') or ''
        if self.owner.find(given) is None:
            raise ApiError(404, f"model '{given}' not found")
        self.owner.remove_model(given)
        self._send(200, b'', 'application/json; charset=utf-8')

    # -- control

    def _api_control_get(self) -> None:
        self._send_json(200, self.owner.control_state())

    def _api_control_set(self, body: dict) -> None:
        self.owner.apply_switches(body)
        self._send_json(200, self.owner.control_state())

    def _api_control_reset(self) -> None:
        self.owner.reset()
        self._send_json(200, self.owner.control_state())


# ---------------------------------------------------------------- the server object


class OllamaTestServer:
    """A fake `ollama serve` on a loopback port; see the module docstring."""

    token_delay: float
    first_token_delay: float
    response_tokens: int
    fail_after_tokens: int | None
    stall_after_tokens: int | None
    busy: bool
    pull_delay: float
    embed_delay: float
    always_call_tools: bool

    def __init__(
        self,
        host: str = '127.0.0.1',
        port: int = 0,
        models: list[FakeModel] | None = None,
        pullable: dict[str, FakeModel] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self._initial_models = copy.deepcopy(models) if models is not None else None
        self._initial_pullable = copy.deepcopy(pullable) if pullable is not None else None
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._httpd: _HTTPServer | None = None
        self._connections: set[socket.socket] = set()
        self._loaded: dict[str, tuple[FakeModel, datetime]] = {}
        self.active_streams = 0
        self.reset()

    def __enter__(self) -> OllamaTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f'http://{self.host}:{self.port}'

    # -- lifecycle

    def start(self) -> OllamaTestServer:
        if self._httpd is None:
            httpd = _HTTPServer((self.host, self.port), _Handler)
            httpd.owner = self
            self.port = httpd.server_address[1]
            self._httpd = httpd
            threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.02}, daemon=True,
                             name=f'ollama-test-server-{self.port}').start()  # fmt: skip
        return self

    def stop(self) -> None:
        self.go_down()

    def go_down(self) -> None:
        """Stop listening and cut every open connection (in-flight streams end abruptly)."""
        with self._lock:
            httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def come_up(self) -> None:
        self.start()

    def reset(self) -> None:
        """Restore models and switches to their defaults and clear the log and counters."""
        with self._lock:
            models = copy.deepcopy(self._initial_models) if self._initial_models is not None else DEFAULT_MODELS()
            self._models = {m.name.lower(): m for m in models}
            pullable = self._initial_pullable if self._initial_pullable is not None else PULLABLE_MODELS()
            self._pullable = {(display_name(k) or k).lower(): m for k, m in copy.deepcopy(pullable).items()}
            self._loaded.clear()
            for key, value in SWITCHES.items():
                setattr(self, key, value)
            self.requests: list[dict] = []
            self.disconnects = 0
            self.streamed_tokens = 0
            self.peak_streams = 0  # the most streams active at once since the reset

    # -- models

    def find(self, name: str) -> FakeModel | None:
        key = display_name(name or '')
        with self._lock:
            return self._models.get(key.lower()) if key else None

    def add_model(self, model: FakeModel) -> None:
        model.name = display_name(model.name) or model.name
        with self._lock:
            self._models[model.name.lower()] = model

    def remove_model(self, name: str) -> None:
        key = (display_name(name) or name).lower()
        with self._lock:
            self._models.pop(key, None)
            self._loaded.pop(key, None)

    def _all_models(self) -> list[FakeModel]:
        with self._lock:
            return list(self._models.values())

    def _pullable_model(self, name: str) -> FakeModel | None:
        with self._lock:
            return self._pullable.get(name.lower())

    @staticmethod
    def _tag_entry(model: FakeModel) -> dict:
        return {'name': model.name, 'model': model.name, 'modified_at': model.modified_at.isoformat(),
                'size': model.size, 'digest': model.digest, 'details': details(model)}  # fmt: skip

    # -- loaded models (/api/ps)

    def _mark_loaded(self, model: FakeModel, keep: float, finished: bool = False) -> bool:
        """Load (or refresh) a model; when a request finishes with keep_alive 0 it is unloaded. Returns was-loaded."""
        now = datetime.now().astimezone()
        key = model.name.lower()
        with self._lock:
            was_loaded = key in self._loaded and self._loaded[key][1] > now
            if finished and keep == 0:
                self._loaded.pop(key, None)
            elif key in self._models:
                self._loaded[key] = (model, now + (FOREVER if keep < 0 else timedelta(seconds=max(keep, 1.0))))
            return was_loaded

    def _unload(self, name: str) -> None:
        with self._lock:
            self._loaded.pop(name.lower(), None)

    def _ps_entries(self) -> list[dict]:
        now = datetime.now().astimezone()
        with self._lock:
            live = sorted((item for item in self._loaded.values() if item[1] > now), key=lambda i: i[1], reverse=True)
        return [
            {**self._tag_entry(m), 'expires_at': expires.isoformat(), 'size_vram': m.size,
             'context_length': m.context_length}
            for m, expires in live
        ]  # fmt: skip

    # -- switches, observability

    def apply_switches(self, values: dict) -> None:
        checked = {}
        for key, value in values.items():
            if key not in SWITCHES:
                raise ApiError(400, f'unknown switch {key!r}')
            default, number = SWITCHES[key], isinstance(value, (int, float)) and not isinstance(value, bool)
            if key in ('fail_after_tokens', 'stall_after_tokens') and (value is None or number):
                checked[key] = None if value is None else int(value)
            elif isinstance(default, bool) and isinstance(value, bool):
                checked[key] = value
            elif number and not isinstance(default, bool) and default is not None:
                checked[key] = type(default)(value)
            else:
                raise ApiError(400, f'invalid value for {key!r}: {value!r}')
        for key, value in checked.items():
            setattr(self, key, value)

    def control_state(self) -> dict:
        with self._lock:
            return {**{key: getattr(self, key) for key in SWITCHES}, 'disconnects': self.disconnects,
                    'active_streams': self.active_streams, 'peak_streams': self.peak_streams,
                    'request_count': len(self.requests), 'streamed_tokens': self.streamed_tokens,
                    'models': sorted(self._models)}  # fmt: skip

    def wait_for_disconnect(self, count: int = 1, timeout: float = 5.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.disconnects >= count, timeout)

    def wait_for_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no stream is active."""
        with self._changed:
            return self._changed.wait_for(lambda: self.active_streams == 0, timeout)

    def _log(self, entry: dict) -> None:
        with self._lock:
            self.requests.append(entry)

    def _track(self, sock: socket.socket, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(sock)

    def _stream_delta(self, delta: int) -> None:
        with self._changed:
            self.active_streams += delta
            self.peak_streams = max(self.peak_streams, self.active_streams)
            self._changed.notify_all()

    def _count_tokens(self, count: int) -> None:
        with self._lock:
            self.streamed_tokens += count

    def _note_disconnect(self, httpd: _HTTPServer) -> None:
        """Count a client that went away; connections cut by go_down() are not counted."""
        with self._changed:
            if httpd is self._httpd:
                self.disconnects += 1
                self._changed.notify_all()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description='Run a fake Ollama server for trying the platform without Ollama.')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=11434)
    parser.add_argument('--token-delay', type=float, default=0.05, help='seconds between streamed tokens')
    parser.add_argument('--first-token-delay', type=float, default=0.0)
    parser.add_argument('--response-tokens', type=int, default=40)
    args = parser.parse_args(argv)
    server = OllamaTestServer(args.host, args.port).start()
    server.token_delay, server.first_token_delay = args.token_delay, args.first_token_delay
    server.response_tokens = args.response_tokens
    print(f'Fake Ollama listening on {server.url} (Ctrl+C to stop)', flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == '__main__':
    main()
