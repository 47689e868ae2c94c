"""/metrics for an operator: purchases (count, fen) by outcome, refusals by reason, tags, camera health,
model-pool and room queues — with bounded labels (never a guest id) — and the example Grafana dashboard
queries only metrics a scrape really has (deploy/grafana/soberpay.json)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from soberpay.adapters.clock import ManualClock
from soberpay.bootstrap import Container
from soberpay.config import Settings
from soberpay.rooms.events import RoomStatus
from tests.e2e.web_support import Venue, buy, enrol, identify, login, register, sqlite_container, topup, venue

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "soberpay.json"
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created")}


class FixedRooms:
    """A ``RoomStatusSource`` with one stalled camera and per-stage timings."""

    def statuses(self) -> dict[str, RoomStatus]:
        status = RoomStatus(
            "r1", running=True, fps=4.0, state="stalled", frame_age_s=42.0, reconnects=3, queued=2,
            stage_s={"detect": 0.02, "identify": 0.01},
        )  # fmt: skip
        return {"r1": status}

    def stats(self, room_id: str) -> dict[str, Any] | None:
        status = self.statuses().get(room_id)
        return None if status is None else status.as_dict()


@pytest.fixture
def v(settings: Settings, clock: ManualClock) -> Iterator[Venue]:
    container: Container = sqlite_container(settings, clock)
    yield venue(container)
    container.close()


def _scrape(client: TestClient) -> tuple[str, set[str]]:
    """The scrape's text and every series name it declares (with the suffixes its types add)."""
    text = client.get("/metrics").text
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + s for s in SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return text, names


def _drive(client: TestClient, v: Venue) -> str:
    """A charged purchase, a wrong-password refusal and a staff tag; returns the guest id."""
    csrf = login(client)
    guest = register(client, "Mia", 41)
    enrol(client, guest, "mia")
    topup(client, csrf, guest["guest_id"])
    token = identify(client, v, "r1", "mia")["guest_token"]
    assert buy(client, v, "r1", token, "beer-tsingtao", "metric-key-1", quantity=2).json()["outcome"] == "charged"
    refused = buy(client, v, "r1", token, "beer-tsingtao", "metric-key-2", password="000000").json()
    assert refused["outcome"] == "password_rejected"
    r = client.post(
        f"/api/staff/guests/{guest['guest_id']}/override",
        json={"action": "tag", "reason": "staff observed"},
        headers=csrf,
    )
    assert r.status_code == 200, r.text
    return str(guest["guest_id"])


def test_operator_metrics_after_purchases_tags_and_a_stalled_camera(v: Venue) -> None:
    v.app.state.web.rooms = FixedRooms()
    with v.client() as client:
        guest_id = _drive(client, v)
        text, _ = _scrape(client)
    assert 'soberpay_purchase_decisions_total{outcome="charged",rule="untagged"} 1.0' in text
    charged_fen = re.search(r'soberpay_purchase_fen_total\{outcome="charged"\} (\d+)', text)
    assert charged_fen and int(float(charged_fen.group(1))) > 0
    assert 'soberpay_purchase_refusals_total{reason="wrong_password"} 1.0' in text
    assert 'soberpay_risk_changes_total{action="staff.tag"} 1.0' in text
    assert 'soberpay_camera_state{room="r1",state="stalled"} 1.0' in text
    assert 'soberpay_camera_state{room="r1",state="connected"} 0.0' in text
    assert 'soberpay_camera_reconnects_total{room="r1"} 3.0' in text
    assert 'soberpay_camera_frame_age_seconds{room="r1"} 42.0' in text
    assert 'soberpay_room_queue_frames{room="r1"} 2.0' in text
    assert 'soberpay_room_stage_seconds{room="r1",stage="detect"} 0.02' in text
    assert 'soberpay_model_pool_calls{state="waiting"} 0.0' in text
    assert 'soberpay_model_seconds_count{stage="identify"}' in text
    # Bounded labels: no guest id (nor its prefix used in alert messages) in any label.
    assert guest_id not in text and guest_id[:8] not in text


def test_the_dashboard_queries_only_metrics_a_scrape_has(v: Venue) -> None:
    """Renaming a metric without the dashboard (or the reverse) fails here."""
    v.app.state.web.rooms = FixedRooms()
    with v.client() as client:
        _, names = _scrape(client)
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    queried = {m for e in exprs for m in re.findall(r"\bsoberpay_[a-z0-9_]+", e)}
    assert len(queried) >= 15
    assert queried <= names, sorted(queried - names)
