"""Prometheus metrics (one registry per app, so tests can build many apps in one process).

Labels stay bounded: outcomes, rules, stages, alert kinds, audit actions, room ids, route templates and
known HTTP methods — never a guest id.
Room and camera figures come from ``RoomStatus`` at scrape time (live in process, or the heartbeat rows
of ``soberpay rooms``); tag/untag counts from the append-only audit log, so every process agrees.
``docs/operations.md`` lists the metrics; ``deploy/grafana/soberpay.json`` charts them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from soberpay.rooms.events import CameraState, RoomStatus
from soberpay.web.ports import PurchaseOutcome

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A stage (one search, one SQL statement) can take well under a millisecond.
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, *LATENCY_BUCKETS)

# Purchase outcomes that refuse the request (``soberpay.web.ports.PurchaseOutcome``); suspended and
# verification_required are not refusals: the request waits for staff or a second factor.
REFUSALS = frozenset({"refused", "password_rejected", "locked_out", "face_rejected"})


# The server passes any method token through (h11 does); the label keeps these and calls the rest "other",
# so a client inventing methods cannot grow the series without bound.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in HTTP_METHODS else "other"


class PoolLoad(Protocol):
    def load(self) -> tuple[int, int]: ...  # (running, waiting) model calls


class _Scraped(Collector):
    """Families computed from what ``Metrics.render`` was handed for this scrape."""

    def __init__(self) -> None:
        self.rooms: Mapping[str, RoomStatus] = {}
        self.risk_changes: Mapping[str, int] = {}
        self.pool: tuple[int, int] | None = None

    def collect(self) -> Iterator[Metric]:
        state = GaugeMetricFamily(
            "soberpay_camera_state", "Room camera state (1 for the current one)", labels=["room", "state"]
        )
        reconnects = CounterMetricFamily(
            "soberpay_camera_reconnects", "Camera reconnects since the rooms process started", labels=["room"]
        )
        age = GaugeMetricFamily(
            "soberpay_camera_frame_age_seconds", "Seconds since the camera's last frame", labels=["room"]
        )
        queued = GaugeMetricFamily(
            "soberpay_room_queue_frames", "Frames waiting for the room processor", labels=["room"]
        )
        stages = GaugeMetricFamily(
            "soberpay_room_stage_seconds",
            "Room model work per frame by stage (moving average; detect, identify, sobriety)",
            labels=["room", "stage"],
        )
        for room, status in sorted(self.rooms.items()):
            for s in CameraState:
                state.add_metric([room, s.value], 1.0 if status.state == s.value else 0.0)
            reconnects.add_metric([room], status.reconnects)
            if status.frame_age_s is not None:
                age.add_metric([room], status.frame_age_s)
            queued.add_metric([room], status.queued)
            for stage, seconds in sorted(status.stage_s.items()):
                stages.add_metric([room, stage], seconds)
        changes = CounterMetricFamily(
            "soberpay_risk_changes",
            "Tags and untags by audit action (risk.* by the monitor, staff.*)",
            labels=["action"],
        )
        for action, count in sorted(self.risk_changes.items()):
            changes.add_metric([action], count)
        yield from (state, reconnects, age, queued, stages, changes)
        if self.pool is not None:
            pool = GaugeMetricFamily("soberpay_model_pool_calls", "Model-pool calls by state", labels=["state"])
            pool.add_metric(["running"], self.pool[0])
            pool.add_metric(["waiting"], self.pool[1])
            yield pool


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.decisions = Counter(
            "soberpay_purchase_decisions", "Purchase decisions by outcome and rule", ["outcome", "rule"], registry=r
        )
        self.identifications = Counter(
            "soberpay_identifications", "Face identifications by status", ["status"], registry=r
        )
        self.alerts = Gauge(
            "soberpay_alerts_recent",
            "Staff alerts among the latest 1000, by kind (set at scrape time)",
            ["kind"],
            registry=r,
        )
        self.requests = Histogram(
            "soberpay_http_request_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.model_seconds = Histogram(
            "soberpay_model_seconds",
            "Model work per request by stage (identify, purchase, liveness, enrol, prove, quality; "
            "with in-process rooms also detect and sobriety per room frame)",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.decision_stages = Histogram(
            "soberpay_decision_stage_seconds",
            "Time per stage of a decision: decode, preselect, detect, quality, liveness, embed, search, database",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.room_fps = Gauge("soberpay_room_fps", "Processed frames per second per room", ["room"], registry=r)
        self.room_lag = Gauge("soberpay_room_lag_seconds", "Capture-to-processed lag per room", ["room"], registry=r)
        self.room_dropped = Gauge(
            "soberpay_room_dropped_frames", "Frames dropped under back-pressure per room", ["room"], registry=r
        )
        self.rate_limited = Counter("soberpay_rate_limited", "Requests refused by rate limits", ["bucket"], registry=r)
        self.purchase_fen = Counter(
            "soberpay_purchase_fen", "Amount of purchase decisions in fen, by outcome", ["outcome"], registry=r
        )
        self.refusals = Counter(
            "soberpay_purchase_refusals", "Refused purchases by reason (PaymentRule)", ["reason"], registry=r
        )
        self._scraped = _Scraped()
        r.register(self._scraped)
        self._render = threading.Lock()  # one scrape's inputs at a time

    def purchase(self, decision: PurchaseOutcome) -> None:
        """Count one (not replayed) purchase decision: by outcome and rule, its fen, and refusals by reason."""
        self.decisions.labels(decision.outcome, decision.rule).inc()
        self.purchase_fen.labels(decision.outcome).inc(decision.amount_fen)
        if decision.outcome in REFUSALS:
            self.refusals.labels(decision.rule).inc()

    def render(
        self,
        rooms: Mapping[str, RoomStatus],
        alert_kinds: dict[str, int] | None = None,
        *,
        risk_changes: Mapping[str, int] | None = None,
        pool: PoolLoad | None = None,
    ) -> bytes:
        with self._render:
            for kind, count in (alert_kinds or {}).items():
                self.alerts.labels(kind).set(count)
            for room_id, status in rooms.items():
                self.room_fps.labels(room_id).set(status.fps)
                self.room_lag.labels(room_id).set(status.lag_s)
                self.room_dropped.labels(room_id).set(status.dropped)
            self._scraped.rooms = rooms
            self._scraped.risk_changes = risk_changes or {}
            self._scraped.pool = None if pool is None else pool.load()
            return generate_latest(self.registry)
