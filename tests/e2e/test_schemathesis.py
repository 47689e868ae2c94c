"""Property-based API test: schemathesis generates requests from the app's OpenAPI schema and runs ALL
its checks on every response: no 5xx, documented status codes, headers and bodies, schema-violating
requests rejected and schema-valid ones accepted (the schema states every constraint the server enforces).
Runs signed in as a manager, with room r1's device token and a valid guest token for r1, so generated
requests reach deep into the handlers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from soberpay.adapters.clock import ManualClock
from soberpay.config import Settings
from tests.e2e.web_support import enrol, identify, login, register, sqlite_container, topup, venue


@pytest.fixture(scope="module")
def api_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    container = sqlite_container(Settings(data_dir=tmp / "var", env="test"), ManualClock())
    v = venue(container)
    # Generous limits: the property test must exercise handlers, not the rate limiter.
    limits = v.app.state.web.limits
    limits.limits = dict.fromkeys(limits.limits, 10_000)
    with v.client() as client:
        csrf = login(client)
        guest = register(client)
        enrol(client, guest, "alice")
        topup(client, csrf, guest["guest_id"])
        who = identify(client, v, "r1", "alice")
        session_cookie = client.cookies.get("sp_session")
    headers = {**v.room("r1"), **csrf, "X-Guest-Token": who["guest_token"]}
    yield {"app": v.app, "headers": headers, "cookies": {"sp_session": session_cookie}}
    container.close()


SKIP_PATHS = {"/api/staff/alerts/stream"}  # an endless event stream by design
ENDS_SESSION = {"/api/auth/logout", "/api/staff/sessions/{session_id}"}
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
    "/api/rooms/{room_id}/purchases",
    "/api/rooms/{room_id}/pending/{pending_id}/confirm",
    # multipart file lists (face captures, clip frames): OpenAPI cannot say "these must be files"
    "/api/guests/{guest_id}",
    "/api/guests/{guest_id}/faces",
    "/api/guests/{guest_id}/consents/{purpose}",
    "/api/rooms/{room_id}/identify/clip",
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
