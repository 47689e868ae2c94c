"""Prometheus metrics (one registry per app, so tests can build many apps in one process)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from soberpay.rooms.events import RoomStatus

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A stage (one search, one SQL statement) can take well under a millisecond.
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, *LATENCY_BUCKETS)


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
            "Model stage timings (detect, identify, enrol, sobriety)",
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

    def render(self, rooms: Mapping[str, RoomStatus], alert_kinds: dict[str, int] | None = None) -> bytes:
        for kind, count in (alert_kinds or {}).items():
            self.alerts.labels(kind).set(count)
        for room_id, status in rooms.items():
            self.room_fps.labels(room_id).set(status.fps)
            self.room_lag.labels(room_id).set(status.lag_s)
            self.room_dropped.labels(room_id).set(status.dropped)
        return generate_latest(self.registry)
