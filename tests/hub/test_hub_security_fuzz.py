"""Fuzzing the whole API: schemathesis' stateful run (links inferred from the OpenAPI schema, so a
created case's id feeds the calls that read, patch and extend it) and hand-written hostile bodies
against every operation that takes one. Whatever arrives: no 5xx, and a refused request (4xx)
commits nothing — the database's fingerprint (rows per table, summed versions, the audit head)
is the same after it as before. Runs on SQLite and PostgreSQL."""

import datetime as dt
import os
import re

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from sqlalchemy import func, select

from saferhub.hub.models import Base

from .test_hub_security_hygiene import HOSTILE

STEPS = int(os.environ.get("SAFERHUB_FUZZ_EXAMPLES", "12"))
# what a refused request may still change: its own sign-in bookkeeping
BOOKKEEPING = {"login_attempts", "api_tokens"}


def fingerprint(engine) -> dict:
    """One round trip: per table, the row count (and summed versions; the audit head's seq)."""
    names, cols = [], []
    for table in Base.metadata.sorted_tables:
        if table.name in BOOKKEEPING:
            continue
        parts = [func.count()]
        if "version" in table.c:
            parts.append(func.coalesce(func.sum(table.c.version), 0))
        if table.name == "audit_head":
            parts.append(func.max(table.c.seq))
        for i, part in enumerate(parts):
            names.append((table.name, i))
            cols.append(select(part).select_from(table).scalar_subquery())
    with engine.connect() as conn:
        row = conn.execute(select(*cols)).one()
    out: dict = {}
    for (name, _), value in zip(names, row):
        out[name] = out.get(name, ()) + (value,)
    return out


def _seed(hub):
    h = hub.headers("coordinator.police@test.invalid")
    case = hub.client.post("/cases", json={"kind": "asb", "title": "Seeded"}, headers=h).json()
    person = hub.client.post(f"/cases/{case['id']}/people", json={"role": "victim", "given_name": "S",
                                                                    "family_name": "T"}, headers=h).json()
    action = hub.client.post(f"/cases/{case['id']}/actions", json={"title": "a", "due_on": str(dt.date.today())},
                             headers=h).json()
    plan = hub.client.post("/plans", json={"title": "p", "objective": "o", "case_id": case["id"]}, headers=h).json()
    return h, {"case_id": case["id"], "person_id": person.get("id", 1), "action_id": action.get("id", 1),
               "plan_id": plan["id"]}


class Watch:
    """Records 5xx answers and refused requests that changed the database."""

    def __init__(self, engine):
        self.engine, self.failures, self.statuses, self.calls = engine, [], set(), 0

    def check(self, label: str, status: int, text: str, before: dict) -> None:
        self.calls += 1
        self.statuses.add(status)
        if status >= 500:
            self.failures.append(f"{label}: {status} {text[:200]}")
        elif status >= 400:
            after = fingerprint(self.engine)
            changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
            if changed:
                self.failures.append(f"{label}: refused with {status} but committed {changed}")


@pytest.mark.slow
def test_stateful_fuzz_no_5xx_and_no_partial_writes(hub, partnership):
    h, _ = _seed(hub)
    auth = {"Authorization": h["Authorization"], "X-Purpose": "fuzzing the hub"}
    watch = Watch(hub.engine)
    schema = schemathesis.openapi.from_asgi("/openapi.json", hub.client.app).exclude(path="/auth/logout")
    base = schema.as_state_machine()  # infers links between operations (ids in bodies -> path params)
    assert schema.statistic.transitions.total >= 50, schema.statistic.transitions

    class Machine(base):
        def get_call_kwargs(self, case):
            return {"headers": auth}

        def call(self, case, **kwargs):
            self._before = fingerprint(hub.engine)
            return case.call(**kwargs)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            watch.check(f"{case.method} {case.formatted_path} {case.body!r:.150}", response.status_code,
                        response.text, self._before)

    Machine.run(settings=hypothesis.settings(
        max_examples=STEPS, stateful_step_count=10, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate]))
    assert watch.calls >= STEPS * 3, watch.calls
    assert {201, 422} <= watch.statuses, watch.statuses  # it created records and met validation
    assert watch.failures == [], "\n".join(watch.failures[:20])


@pytest.mark.slow
def test_hostile_bodies_on_every_operation(hub, partnership):
    h, ids = _seed(hub)
    h = h | {"X-Purpose": "fuzzing the hub", "content-type": "application/json"}
    watch = Watch(hub.engine)
    spec = hub.client.app.openapi()
    n_ops = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if "requestBody" not in op or path == "/auth/logout":
                continue
            n_ops += 1
            url = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), path)
            for name, body in HOSTILE.items():
                before = fingerprint(hub.engine)
                r = hub.client.request(method.upper(), url, content=body, headers=h)
                watch.check(f"{method.upper()} {url} [{name}]", r.status_code, r.text, before)
                if r.status_code != 422:
                    watch.failures.append(f"{method.upper()} {url} [{name}]: {r.status_code}, not 422")
    assert n_ops >= 20
    assert watch.failures == [], "\n".join(watch.failures[:20])
