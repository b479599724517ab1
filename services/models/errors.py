"""Typed failures of model calls. Each message is a user-facing sentence, shown as it is on pages and in the API.

`OllamaError` and its kinds come from Ollama (mapped from whatever the client or the network raised, in
`services.models.calls`); `ModelNotAllowed` is the platform's own refusal (a workshop's allowed models).
"""

from __future__ import annotations

from typing import Any

from services.core.errors import PermissionDenied
from services.core.i18n import N_


class OllamaError(Exception):
    """A failure talking to Ollama; `str(error)` is a user-facing sentence."""

    kind = 'error'

    def __init__(self, message: str, *, host: str = '', status: int | None = None, detail: str = '') -> None:
        super().__init__(message)
        self.message = message
        self.host = host
        self.status = status
        self.detail = detail


class OllamaUnreachable(OllamaError):
    kind = 'unreachable'


class ModelNotFound(OllamaError):
    kind = 'model_not_found'

    def __init__(self, message: str, *, model: str = '', **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.model = model


class OllamaBadRequest(OllamaError):
    kind = 'bad_request'


class OllamaBusy(OllamaError):
    kind = 'busy'


class OllamaTimeout(OllamaError):
    kind = 'timeout'


class OllamaStreamError(OllamaError):
    kind = 'stream_error'


class ModelNotAllowed(PermissionDenied):
    """An attendee asked for a model their workshop does not allow."""

    def __init__(self, model: str, allowed: list[str]) -> None:
        names = ', '.join(allowed)
        super().__init__(
            N_(
                'Your workshop allows only these models: {names}. "{model}" is not one of them; pick one of those.',
                names=names,
                model=model,
            )
        )
        self.model = model
        self.allowed = allowed


def unreachable_message(host: str) -> str:
    return N_(
        'Ollama at {host} is not reachable. Start it (`ollama serve`) or ask an admin to check the Ollama '
        'host setting.',
        host=host,
    )
