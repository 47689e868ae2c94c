"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from soberpay.web.deps import Web

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a dependency is not ready"}})
def readyz(web: Web) -> JSONResponse:
    """Database reachable and migrated (the web tables exist); reports the payment engine in use."""
    checks: dict[str, str] = {}
    try:
        with web.container.engine.connect() as conn:
            conn.execute(text("SELECT 1 FROM staff_accounts LIMIT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any DB problem means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    checks["payments"] = web.payments_kind
    ok = checks["database"] == "ok"
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response)
def metrics(web: Web) -> Response:
    """Prometheus text format: decisions, latencies, alerts, model timings, room fps/lag/drops."""
    kinds: dict[str, int] = {}
    for alert in web.payments.alerts(0, 1000):
        kinds[alert.kind] = kinds.get(alert.kind, 0) + 1
    return Response(web.metrics.render(web.rooms.statuses(), kinds), media_type=CONTENT_TYPE_LATEST)
