"""Schemathesis against the running app's own OpenAPI spec (issue 14 item 8): for every operation of the REST API
and the gateway, examples generated from the schema — and from its edges — are sent over real HTTP with an
attendee's token, and none may be answered with a server error. It finds what hand-written cases miss; keep the
example count small enough for CI (the sweep with more examples: SCHEMATHESIS_EXAMPLES=50)."""

from __future__ import annotations

import os
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.security.live import running_app

EXAMPLES = int(os.environ.get('SCHEMATHESIS_EXAMPLES', '6'))


def test_no_operation_answers_a_server_error(tmp_path: Path, ollama_server) -> None:
    with running_app(tmp_path, ollama_server, names=('admin', 'alice', 'bob')) as (live, accounts):
        schema = schemathesis.openapi.from_url(f'{live.url}/openapi.json')
        headers = accounts['alice'].headers
        failures: list[str] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 50, 'the spec should list the whole API'
        for operation in operations:

            @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def call(case) -> None:
                response = case.call(base_url=live.url, headers=headers, timeout=30)
                if response.status_code >= 500:
                    failures.append(
                        f'{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}'
                        f' (body: {str(case.body)[:300]})'
                    )

            call()
        assert not failures, f'{len(failures)} server errors:\n' + '\n'.join(sorted(set(failures))[:40])
