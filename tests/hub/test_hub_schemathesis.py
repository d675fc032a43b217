"""Property-based API test against the OpenAPI schema (schemathesis): whatever the input, no 5xx,
and every answer conforms to the schema: its status code is documented, its content type too, and
its body validates against the response model /openapi.json declares for it.

Requests are signed in as a coordinator (who can reach most records), with a seeded case, person,
action and plan so path ids sometimes hit real rows. Every operation in the schema is fuzzed with
a bounded number of examples (hypothesis, derandomised) to keep the run near a minute.
(schemathesis' lazy pytest loader does not work with pytest 9 here, so operations are driven
directly with `operation.as_strategy()`.)"""

import datetime as dt
import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

MAX_EXAMPLES = int(os.environ.get("SAFERHUB_FUZZ_EXAMPLES", "12"))  # 50 passes too (about a minute)


def test_no_server_errors(hub, partnership):
    h = hub.headers("coordinator.police@test.invalid")
    case = hub.client.post("/cases", json={"kind": "asb", "title": "Seeded"}, headers=h).json()
    hub.client.post(f"/cases/{case['id']}/people", json={"role": "victim", "given_name": "S", "family_name": "T"}, headers=h)
    hub.client.post(f"/cases/{case['id']}/actions", json={"title": "a", "due_on": str(dt.date.today())}, headers=h)
    hub.client.post("/plans", json={"title": "p", "objective": "o", "case_id": case["id"]}, headers=h)
    hub.client.app.state.login_limit = False  # fuzzed logins must not lock the test user out
    auth = {"Authorization": h["Authorization"]}
    schema = schemathesis.openapi.from_asgi("/openapi.json", hub.client.app)
    failures, n_ops, statuses = [], 0, set()
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path == "/auth/logout":
            continue  # would revoke the token the rest of the run uses
        n_ops += 1

        @given(case=op.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)
        def run(case):
            response = case.call(headers=auth)
            statuses.add(response.status_code)
            try:
                case.validate_response(response, checks=CHECKS)
            except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis raises a group of failures
                failures.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200}: "
                                f"{response.status_code} {response.text[:200]} -- {str(exc)[:300]}")

        run()
    assert n_ops >= 30
    # the run really reached the app, signed in, and met both success and validation paths
    assert {200, 201, 404, 422} <= statuses, statuses
    assert failures == [], "\n".join(failures[:20])
