"""Property-based API test: schemathesis generates requests from the app's OpenAPI schema and runs ALL
its checks on every response: no 5xx, documented status codes, headers and bodies, schema-violating
requests rejected and schema-valid ones accepted (the schema states every constraint the server enforces).
Runs signed in as a manager, with room r1's device token and a valid guest token for r1, so generated
requests reach deep into the handlers."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
from sqlalchemy import Engine

from soberpay.adapters.clock import ManualClock
from soberpay.config import Settings
from tests.e2e.web_support import buy, enrol, identify, login, register, sqlite_container, topup, venue


@contextmanager
def signed_in_venue(tmp: Path, tagged: bool = False) -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    """A venue with a manager session, room r1 and guest alice (topped up, identified in r1). Tagged: with
    three held requests to confirm or discard. Yields (container, venue, state for the checks)."""
    container = sqlite_container(Settings(data_dir=tmp / "var", env="test"), ManualClock())
    v = venue(container)
    # Generous limits: the property tests must exercise handlers, not the rate limiter.
    limits = v.app.state.web.limits
    limits.limits = dict.fromkeys(limits.limits, 10_000)
    with v.client() as client:
        csrf = login(client)
        guest = register(client)
        enrol(client, guest, "alice")
        topup(client, csrf, guest["guest_id"])
        if tagged:
            r = client.post(
                f"/api/staff/guests/{guest['guest_id']}/override",
                json={"action": "tag", "reason": "staff observed"},
                headers=csrf,
            )
            assert r.status_code == 200, r.text
        token = identify(client, v, "r1", "alice")["guest_token"]
        if tagged:
            for n in range(3):
                held = buy(client, v, "r1", token, HELD_ITEM, f"held-{n:08d}").json()
                assert held["outcome"] == "suspended", held
        session_cookie = client.cookies.get("sp_session")
    headers = {**v.room("r1"), **csrf, "X-Guest-Token": token}
    try:
        yield container, v, {"app": v.app, "headers": headers, "cookies": {"sp_session": session_cookie}}
    finally:
        container.close()


@pytest.fixture(scope="module")
def api_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with signed_in_venue(tmp_path_factory.mktemp("schemathesis")) as (_, _, state):
        yield state


SKIP_PATHS = {"/api/staff/alerts/stream", "/api/staff/deliveries/stream"}  # endless event streams by design
# A manager may also disable, or reset the password of, the test's own account (both end its sessions).
ENDS_SESSION = {
    "/api/auth/logout",
    "/api/staff/sessions/{session_id}",
    "/api/admin/staff/{staff_id}",
    "/api/admin/staff/{staff_id}/password",
}
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)  # schema-valid and schema-violating requests
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 6}
# Valid by the schema yet refused by meaning, which OpenAPI cannot state: the bytes of an image or video
# (a face must be in them), a PRC ID number's birth date and check digit, and "an Idempotency-Key header
# or an idempotency_key field" (one of two places; the schema can only mark each optional).
SEMANTIC_BODIES = {
    "/api/face/quality",
    "/api/guests",
    "/api/guests/{guest_id}/face",
    "/api/guests/{guest_id}/face/video",
    "/api/staff/guests/{guest_id}/topup",
    "/api/staff/orders/{order_id}/refund",
    "/api/staff/orders/{order_id}/void",
    "/api/rooms/{room_id}/purchases",
    "/api/rooms/{room_id}/pending/{pending_id}/confirm",
    # multipart file lists (face captures, clip frames): OpenAPI cannot say "these must be files"
    "/api/guests/{guest_id}",
    "/api/guests/{guest_id}/faces",
    "/api/guests/{guest_id}/consents/{purpose}",
    "/api/rooms/{room_id}/identify/clip",
    # a shift's start must come before its end
    "/api/admin/report",
    "/api/admin/report.csv",
}


def test_no_server_errors(api_state: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_state["app"])
    checked = []
    statuses: Counter[int] = Counter()
    operations = [r.ok() for r in schema.get_all_operations()]
    # Sessions are server-side: signing out or revoking a session ends the one this test uses, so those go last.
    operations.sort(key=lambda op: op.path in ENDS_SESSION)
    runs = [(op, mode) for op in operations if op.path not in SKIP_PATHS for mode in MODES]
    for operation, mode in runs:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            excluded = [positive_data_acceptance] if case.operation.path in SEMANTIC_BODIES else []
            response = case.call(headers=dict(api_state["headers"]), cookies=dict(api_state["cookies"]))
            case.validate_response(response, excluded_checks=excluded)
            where = f"{case.method} {case.formatted_path}"
            statuses[response.status_code] += 1
            assert response.status_code < 500, f"{where} → {response.status_code}: {response.text[:300]}"
            if response.status_code >= 400 and "json" in response.headers.get("content-type", [""])[0]:
                body = response.json()
                assert "error" in body and "message" in body, (where, body)

        try:
            check()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing to violate (e.g. no parameters)
            continue
        checked.append(f"{operation.method.upper()} {operation.path}")
    checked = sorted(set(checked))
    print(f"schemathesis: {len(checked)} operations, responses by status: {dict(sorted(statuses.items()))}")
    assert len(checked) >= 30, checked
    assert sum(n for code, n in statuses.items() if code < 300) > len(checked) // 2  # auth reached the handlers


# --- stateful: schemathesis follows the schema's OpenAPI links to chain real ids ------------------------

# Bounded: a few short derandomized scenarios keep this test well under a minute on the 2-core CI machine.
STATEFUL_SCENARIOS = 40
STATEFUL_STEPS = 6
HELD_ITEM = "whisky-chivas-12"  # high-price: a tagged guest's purchase of it is held, not charged


@pytest.fixture(scope="module")
def stateful_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A manager session, room r1 and a tagged guest identified in it with held requests to confirm or discard."""
    with signed_in_venue(tmp_path_factory.mktemp("stateful"), tagged=True) as (container, _, state):
        snapshot = sqlite3.connect(":memory:")
        _copy_database(container.engine, into=snapshot)

        def restore() -> None:
            container.engine.dispose()  # no pooled connection holds a stale view of the pages restored under it
            _copy_database(snapshot, into=container.engine)

        yield {**state, "restore": restore}
        snapshot.close()


def _copy_database(source: Engine | sqlite3.Connection, into: Engine | sqlite3.Connection) -> None:
    """SQLite's online backup, between an in-memory snapshot and the app's database."""
    connections = [e.raw_connection() if isinstance(e, Engine) else None for e in (source, into)]
    try:
        src, dst = (raw.driver_connection if raw else e for raw, e in zip(connections, (source, into), strict=True))
        src.backup(dst)
    finally:
        for raw in connections:
            if raw is not None:
                raw.close()


def test_stateful_links(stateful_state: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", stateful_state["app"])
    # Only the links the schema states: inferred ones would chain unrelated operations (and vary by version).
    schema.config.phases.stateful.inference.algorithms = []
    schema = schema.exclude(path=[*SKIP_PATHS, *ENDS_SESSION])
    defaults: dict[str, str] = stateful_state["headers"]
    followed: Counter[str] = Counter()

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        linked: frozenset[tuple[ParameterLocation, str]] = frozenset()

        def setup(self) -> None:
            # Every scenario starts from the same server state: Hypothesis replays scenarios and needs the
            # same answers to the same requests (links depend on them).
            stateful_state["restore"]()

        def step(self, input: StepInput) -> StepOutput:
            self.linked = frozenset((where, str(name).lower()) for where, name in input.applied_parameters)
            if input.transition is not None and input.is_applied:
                followed[input.transition.id] += 1
            path = input.case.path_parameters
            # A room the test's device token and guest token belong to, unless a link named another.
            if path and "room_id" in path and (ParameterLocation.PATH, "room_id") not in self.linked:
                path["room_id"] = "r1"
            return super().step(input)  # type: ignore[no-any-return]

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            # The session's headers, except one a link supplied (a new guest's token from registration).
            headers = {
                k: val for k, val in defaults.items() if (ParameterLocation.HEADER, k.lower()) not in self.linked
            }
            return {"headers": headers, "cookies": dict(stateful_state["cookies"])}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            excluded = [positive_data_acceptance] if case.operation.path in SEMANTIC_BODIES else []
            case.validate_response(
                response, excluded_checks=excluded, transport_kwargs=kwargs or None, recorder=self.recorder
            )
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{where} → {response.status_code}: {response.text[:300]}"

    Machine.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
    )
    print(f"stateful links followed: {dict(sorted(followed.items()))}")
    assert followed, "no link was followed"
    declared = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method, op in item.items()
        if any("links" in r for r in op.get("responses", {}).values())
    }
    # The main flows are stated in the schema for clients: registration, top-up, purchase/held request, rooms.
    assert {
        "POST /api/guests",
        "POST /api/staff/guests/{guest_id}/topup",
        "POST /api/rooms/{room_id}/purchases",
        "GET /api/rooms/{room_id}/pending",
        "POST /api/rooms",
        "POST /api/rooms/{room_id}/pairing",
    } <= declared
