"""Property-based requests from the OpenAPI document: no input makes the API fail with a 5xx.

Uses schemathesis' Python API (``schemathesis.openapi.from_asgi`` and each operation's Hypothesis
strategy) rather than its pytest plugin, so the app can come from a module fixture.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from .conftest import WebWorld


@pytest.mark.slow
def test_no_request_from_the_schema_gets_a_server_error(web: WebWorld) -> None:
    headers = web.bearer("admin")
    schema = schemathesis.openapi.from_asgi("/openapi.json", web.app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])

        run()
