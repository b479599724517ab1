"""One TLS context for every outgoing HTTP client.

Building an `httpx` client without a context loads the whole CA bundle (`SSL_CERT_FILE`, certifi) on the event loop:
25 ms on a quiet 2-core machine, 60–75 ms on a busy one, a pause for every request in the process. A health check
every few seconds per Ollama host was the noisy neighbour's p95 outlier. Clients get this context instead, built once.
"""

from __future__ import annotations

import functools
import os
import ssl

import httpx


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """The default verifying context (honours `SSL_CERT_FILE` / `SSL_CERT_DIR` like httpx), created on first use."""
    try:
        return httpx.create_ssl_context()
    except (OSError, ssl.SSLError) as exc:
        named = [f'{name}={os.environ[name]}' for name in ('SSL_CERT_FILE', 'SSL_CERT_DIR') if os.environ.get(name)]
        where = ', '.join(named) or 'the bundled CA certificates'
        raise RuntimeError(f'the CA certificates could not be loaded from {where}: {exc}') from exc
