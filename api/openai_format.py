"""Translation between the OpenAI chat/embeddings wire format and Ollama's (no I/O here)."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import orjson

from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.models.options import BOUNDS


def new_id(prefix: str) -> str:
    return f'{prefix}{secrets.token_hex(12)}'


def _text_and_images(content: Any) -> tuple[str, list[str]]:
    if content is None:
        return '', []
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise InvalidInput(N_('Message content must be a string or a list of content parts.'))
    texts, images = [], []
    for part in content:
        kind = part.get('type') if isinstance(part, dict) else None
        if kind == 'text':
            texts.append(str(part.get('text', '')))
        elif kind == 'image_url':
            url = (part.get('image_url') or {}).get('url', '')
            if not url.startswith('data:') or ';base64,' not in url:
                raise InvalidInput(
                    N_('Images must be sent inline as data: URLs (base64); remote image URLs are refused.')
                )
            images.append(url.split(';base64,', 1)[1])
        else:
            raise InvalidInput(N_('Content parts of type "{kind}" are not supported.', kind=kind))
    return '\n'.join(texts), images


def _arguments(raw: Any) -> dict:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or '{}')
    except (TypeError, ValueError) as exc:
        raise InvalidInput(N_('Tool call arguments must be a JSON object encoded as a string.')) from exc
    if not isinstance(value, dict):
        raise InvalidInput(N_('Tool call arguments must be a JSON object encoded as a string.'))
    return value


def messages_to_ollama(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI messages -> Ollama messages (tool_calls arguments as objects; tool results named by tool_name)."""
    names: dict[str, str] = {}  # tool_call_id -> function name
    result = []
    for message in messages:
        role = message.get('role')
        text, images = _text_and_images(message.get('content'))
        if role in ('system', 'developer'):
            result.append({'role': 'system', 'content': text})
        elif role == 'user':
            result.append({'role': 'user', 'content': text, **({'images': images} if images else {})})
        elif role == 'assistant':
            out: dict[str, Any] = {'role': 'assistant', 'content': text}
            calls = []
            for call in message.get('tool_calls') or []:
                function = call.get('function') or {}
                names[call.get('id', '')] = function.get('name', '')
                calls.append(
                    {'function': {'name': function.get('name', ''), 'arguments': _arguments(function.get('arguments'))}}
                )
            if calls:
                out['tool_calls'] = calls
            result.append(out)
        elif role == 'tool':
            name = message.get('name') or names.get(message.get('tool_call_id', ''), '')
            result.append({'role': 'tool', 'content': text, **({'tool_name': name} if name else {})})
        else:
            raise InvalidInput(N_('Unknown message role "{role}".', role=role))
    return result


def tools_to_ollama(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if not tools:
        return None
    result = []
    for tool in tools:
        if tool.get('type') != 'function' or not isinstance(tool.get('function'), dict):
            raise InvalidInput(N_('Only tools of type "function" are supported.'))
        function = tool['function']
        result.append(
            {
                'type': 'function',
                'function': {
                    'name': function.get('name', ''),
                    'description': function.get('description', ''),
                    'parameters': function.get('parameters') or {'type': 'object', 'properties': {}},
                },
            }
        )
    return result


def options_from(body: Any) -> dict[str, Any] | None:
    """Ollama options of a chat completion request: its `options` object, then options of the table named at the top
    level (both sent with the SDK's extra_body), then the OpenAI parameters, which win. Checked on the model-call path
    like every call's (an attendee asking for a host-level option is refused, not ignored)."""
    options: dict[str, Any] = dict(body.options or {})
    options.update({k: v for k, v in (body.model_extra or {}).items() if k in BOUNDS})
    for name, key in (
        ('temperature', 'temperature'),
        ('top_p', 'top_p'),
        ('seed', 'seed'),
        ('presence_penalty', 'presence_penalty'),
        ('frequency_penalty', 'frequency_penalty'),
    ):
        value = getattr(body, name, None)
        if value is not None:
            options[key] = value
    limit = body.max_completion_tokens or body.max_tokens
    if limit is not None:
        options['num_predict'] = limit
    if body.stop:
        options['stop'] = [body.stop] if isinstance(body.stop, str) else list(body.stop)
    return options or None


def format_from(response_format: dict[str, Any] | None) -> Any:
    if not response_format:
        return None
    kind = response_format.get('type')
    if kind == 'json_object':
        return 'json'
    if kind == 'json_schema':
        return (response_format.get('json_schema') or {}).get('schema') or 'json'
    return None


def tool_calls_to_openai(calls: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if not calls:
        return None
    return [
        {
            'id': new_id('call_'),
            'type': 'function',
            'function': {'name': c['function']['name'], 'arguments': json.dumps(c['function'].get('arguments') or {})},
        }
        for c in calls
    ]


def finish_reason(done_reason: str | None, has_tools: bool) -> str:
    if has_tools:
        return 'tool_calls'
    return 'length' if done_reason == 'length' else 'stop'


def completion(model: str, message: dict[str, Any], done_reason: str, prompt: int, completion_tokens: int) -> dict:
    calls = tool_calls_to_openai(message.get('tool_calls'))
    out: dict[str, Any] = {'role': 'assistant', 'content': message.get('content') or (None if calls else '')}
    if calls:
        out['tool_calls'] = calls
    return {
        'id': new_id('chatcmpl-'),
        'object': 'chat.completion',
        'created': int(time.time()),
        'model': model,
        'system_fingerprint': 'fp_ollama',
        'choices': [
            {'index': 0, 'message': out, 'finish_reason': finish_reason(done_reason, bool(calls)), 'logprobs': None}
        ],
        'usage': {
            'prompt_tokens': prompt,
            'completion_tokens': completion_tokens,
            'total_tokens': prompt + completion_tokens,
        },
    }


def chunk(ident: str, model: str, delta: dict[str, Any], finish: str | None = None) -> dict:
    return {
        'id': ident,
        'object': 'chat.completion.chunk',
        'created': int(time.time()),
        'model': model,
        'system_fingerprint': 'fp_ollama',
        'choices': [{'index': 0, 'delta': delta, 'finish_reason': finish, 'logprobs': None}],
    }


def sse(data: dict | str) -> bytes:
    """One server-sent event (orjson: one event per token, the serialisation is on every stream's hot path)."""
    if isinstance(data, str):
        return f'data: {data}\n\n'.encode()
    return b'data: ' + orjson.dumps(data) + b'\n\n'
