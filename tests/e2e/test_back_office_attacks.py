"""Attacks on the back office and on monitoring from outside the money path (issue 16's second look)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from soberpay.adapters.clock import ManualClock
from soberpay.config import Settings
from tests.e2e.web_support import CASHIER, Venue, login, sqlite_container, venue


@pytest.fixture
def v(tmp_path: Path) -> Venue:
    return venue(sqlite_container(Settings(data_dir=tmp_path / "var", env="test"), ManualClock()))


@pytest.mark.parametrize(
    "params",
    [
        {"day": "9999-12-31"},  # the next day overflows
        {"day": "0001-01-01"},
        {"start": "0001-01-01T00:00:00+14:00", "end": "0001-01-02T00:00:00"},  # UTC is before year 1
        {"start": "9999-12-31T23:00:00-14:00", "end": "9999-12-31T23:59:00-14:00"},  # UTC is after 9999
        {"start": "2016-01-01T00:00:00", "end": "2026-01-01T00:00:00"},  # ten years
    ],
)
def test_report_ranges_out_of_bounds_are_a_clear_400(v: Venue, params: dict[str, str]) -> None:
    with v.client() as client, TestClient(v.app, raise_server_exceptions=False) as till:
        login(client)
        for url in ("/api/admin/report", "/api/admin/report.csv", "/staff/admin/reports"):
            r = client.get(url, params=params)
            assert r.status_code == 400, (url, r.status_code, r.text)
            assert r.json()["error"] == "invalid_input"
        # a cashier is refused before the report is computed (no 500, no work)
        login(till, CASHIER)
        assert till.get("/staff/admin/reports", params=params).status_code == 403
    year = {"start": "2025-01-01T00:00:00", "end": "2026-01-01T00:00:00"}
    with v.client() as client:
        login(client)
        assert client.get("/api/admin/report", params=year).status_code == 200  # a year's report still works


def test_invented_http_methods_add_no_metric_series(v: Venue) -> None:
    with v.client() as client:
        for i in range(20):
            assert client.request(f"X{i}", "/healthz").status_code == 405
            assert client.request(f"X{i}", f"/no/such/{i}").status_code == 404
        scrape = client.get("/metrics").text
    requests = [line for line in scrape.splitlines() if line.startswith("soberpay_http_request_seconds_count")]
    assert not [line for line in requests if 'method="X' in line]
    assert any('method="other",route="/healthz",status="405"' in line for line in requests)
    assert len(requests) <= 4  # other+405, other+404 (unmatched), GET /metrics has no count yet


def test_camera_passwords_reach_neither_cashiers_nor_the_audit_log(v: Venue) -> None:
    secret = "rtsp://viewer:S3cret-pw@192.168.1.64:554/user=admin_password=S3cret-pw_channel=1?password=S3cret-pw"
    with v.client() as client, TestClient(v.app) as till:
        csrf = login(client)
        body = {"name": "Room One", "camera_source": secret, "thermal_camera_source": secret}
        assert client.put("/api/admin/rooms/r1", json=body, headers=csrf).status_code == 200
        assert client.get("/api/admin/rooms").json()[0]["camera_source"] == secret  # the manager edits it
        assert next(r for r in client.get("/api/rooms").json() if r["room_id"] == "r1")["camera_source"] == secret
        login(till, CASHIER)
        rooms = till.get("/api/rooms")
        assert rooms.status_code == 200 and "S3cret" not in rooms.text
        r1 = next(r for r in rooms.json() if r["room_id"] == "r1")
        assert r1["camera_source"] == r1["thermal_camera_source"] == "rtsp://192.168.1.64:554/…"
        audit = till.get("/api/staff/audit", params={"action": "room."})
        assert audit.status_code == 200 and "room.changed" in audit.text and "S3cret" not in audit.text
        for url in ("/staff", "/api/staff/rooms/overview", "/metrics"):
            assert "S3cret" not in till.get(url).text, url
