"""Ollama's model name grammar: `[host/][namespace/]model[:tag]` (what `ollama pull` accepts)."""

from __future__ import annotations

import re

from services.core.errors import InvalidInput
from services.core.i18n import N_

_PART = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}')
_NAMESPACE = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_-]{0,79}')
_HOST = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}')


def parse(name: str) -> tuple[str, str, str, str] | None:
    """(host, namespace, model, tag) with '' for missing host/namespace, or None when the name is invalid."""
    name = (name or '').strip()
    if not name or len(name) > 500 or '@' in name:
        return None
    head, sep, tag = name.rpartition(':')
    if not sep or '/' in tag:
        head, tag = name, 'latest'
    parts = head.split('/')
    if len(parts) > 3:
        return None
    host, namespace, model = ['', ''][: 3 - len(parts)] + parts
    if host and not _HOST.fullmatch(host):
        return None
    if namespace and not _NAMESPACE.fullmatch(namespace):
        return None
    if len(parts) >= 2 and not namespace:
        return None
    if not _PART.fullmatch(model) or not _PART.fullmatch(tag):
        return None
    return host, namespace, model, tag


def validate(name: str) -> str:
    """The canonical short form (`llama3.2` -> `llama3.2:latest`), or InvalidInput with an explanation."""
    parts = parse(name)
    if parts is None:
        raise InvalidInput(
            N_(
                '"{strip}" is not a valid model name. Use the form model[:tag] or '
                'namespace/model[:tag], e.g. llama3.2:1b (letters, digits, "_", "-" and "."; no '
                'spaces).',
                strip=(name or '').strip()[:80],
            )
        )
    host, namespace, model, tag = parts
    prefix = '/'.join(p for p in (host, namespace) if p)
    return f'{prefix}/{model}:{tag}' if prefix else f'{model}:{tag}'
