"""The OpenAPI document holds: schemathesis generates requests from it and checks every answer.

Through the WSGI app, as the office (who may see everything) with a bearer token, for every
operation and both kinds of data (valid by the schema, and deliberately invalid). No answer
may be a 5xx, and every answer must match the document: status, content type, headers, body;
invalid data must be refused.

``positive_data_acceptance`` is left out on purpose: a request can be well formed by the
schema and still be refused by a rule of the lifecycle (a reason that a guard requires, a
measure in the wrong state, an id that does not exist): those are 4xx by design.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

OPERATIONS = [
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/measures"),
    ("GET", "/api/v1/measures/{measure_id}"),
    ("GET", "/api/v1/measures/{measure_id}/events"),
    ("POST", "/api/v1/measures/{measure_id}/triggers/{trigger}"),
    ("GET", "/api/v1/evidence/{sha256}"),
    ("GET", "/api/v1/notifications"),
    ("POST", "/api/v1/notifications/{notification_id}/read"),
    ("POST", "/api/v1/notifications/read-all"),
    ("GET", "/api/v1/problems"),
    ("GET", "/api/v1/stats"),
]
EXAMPLES = 15


def test_the_operations_fuzzed_here_are_all_the_document_has(site):
    spec = site.client.get("/api/v1/openapi.json").get_json()
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m != "parameters"}
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("method,path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_generated_request_is_answered_as_the_document_says(site, method, path, mode):
    site.drive(site.ids["measures"][0], "submitted")  # evidence and an inbox message exist
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", site.app)
    operation = schema[path][method]
    headers = site.auth("office1")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    check()
