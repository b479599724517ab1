"""Structured logging: JSON lines carry the request id."""

from __future__ import annotations

import json
import logging

from services.core.logs import JsonFormatter, RequestIdFilter, request_id_var


def test_json_lines_carry_the_request_id() -> None:
    record = logging.LogRecord('app', logging.WARNING, __file__, 1, 'hello %s', ('world',), None)
    token = request_id_var.set('abc123')
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line['message'] == 'hello world' and line['request_id'] == 'abc123' and line['level'] == 'WARNING'
