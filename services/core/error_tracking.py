"""Optional error tracking with Sentry (or anything speaking its protocol, e.g. GlitchTip): off unless `SENTRY_DSN`
is set.

What is sent: unexpected errors (unhandled exceptions, `log.exception`/`log.error` lines) with the request id, the
user id and the workshop id as tags, the route and the stack trace. What is not sent unless the admin sets
`SENTRY_SEND_PII=true`: request bodies (prompts, documents, messages), cookies, the `Authorization` header, query
strings, email addresses and IP addresses. Log lines a browser supplied (the `client` logger) are never sent: a
visitor must not be able to fill the error tracker. Local variables of stack frames are never sent (they can hold
prompts and secrets).
"""

from __future__ import annotations

import logging
from typing import Any

from services.core import logs

log = logging.getLogger(__name__)

SENSITIVE_HEADERS = {'authorization', 'cookie', 'x-api-key', 'proxy-authorization', 'set-cookie'}


def start(dsn: str, *, environment: str, send_pii: bool, release: str = '') -> bool:
    """Initialise the Sentry SDK when a DSN is configured; returns whether error tracking is on."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.logging import ignore_logger

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        send_default_pii=send_pii,
        include_local_variables=False,
        max_request_body_size='always' if send_pii else 'never',
        traces_sample_rate=0.0,
        before_send=lambda event, hint: scrub(event, send_pii=send_pii),
    )
    ignore_logger(logs.client_log.name)  # browser-supplied text never becomes an event or a breadcrumb
    log.info('error tracking is on (environment %s, personal data %s)', environment, 'sent' if send_pii else 'not sent')
    return True


def scrub(event: dict[str, Any], *, send_pii: bool) -> dict[str, Any]:
    """Tag the event with who and where, and drop what may be personal unless the admin allowed it."""
    tags = event.setdefault('tags', {})
    tags['request_id'] = logs.request_id_var.get()
    user_id, workshop_id = logs.actor_ids()
    if user_id is not None:
        tags['user_id'] = str(user_id)
        event['user'] = {'id': str(user_id)} if not send_pii else {**event.get('user', {}), 'id': str(user_id)}
    elif not send_pii:
        event.pop('user', None)
    if workshop_id is not None:
        tags['workshop_id'] = str(workshop_id)
    if send_pii:
        return event
    request = event.get('request')
    if isinstance(request, dict):
        for key in ('data', 'cookies', 'query_string', 'env'):
            request.pop(key, None)
        headers = request.get('headers')
        if isinstance(headers, dict):
            request['headers'] = {k: v for k, v in headers.items() if k.lower() not in SENSITIVE_HEADERS}
    return event
