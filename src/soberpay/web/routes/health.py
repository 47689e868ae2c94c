"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import func, or_, select

from soberpay.adapters.db.identity_tables import AuditRow
from soberpay.web.deps import Web

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a dependency is not ready; `checks` says which and why"}})
def readyz(web: Web) -> JSONResponse:
    """Database reachable and migrated, free disk under the data dir, model files present and loadable;
    reports the payment engine in use. 503 with the failing checks' reasons when not ready."""
    report = web.container.readiness.check()
    checks = {**report.checks, **report.notes, "payments": web.payments_kind}
    body = {"status": "ready" if report.ready else "not_ready", "checks": checks}
    return JSONResponse(body, status_code=200 if report.ready else 503)


def _require_ready(web: Web) -> None:
    web.container.readiness.require()


# Routes that write money refuse up front (503, nothing applied) while a dependency is down.
REQUIRE_READY = [Depends(_require_ready)]


def _risk_changes(web: Web) -> dict[str, int]:
    """Tags and untags so far, by audit action: the audit log is append-only, so these are true counters."""
    action = AuditRow.action
    stmt = (
        select(action, func.count())
        .where(or_(action.startswith("risk."), action.in_(("staff.tag", "staff.untag"))))
        .group_by(action)
    )
    with web.container.session_factory() as session:
        return {str(a): int(n) for a, n in session.execute(stmt)}


@router.get("/metrics", response_class=Response)
def metrics(web: Web) -> Response:
    """Prometheus text format: purchases and refusals, tags, latencies, alerts, model timings and queues,
    room fps/lag/drops and camera health. No credential: expose it to the monitoring network only."""
    kinds: dict[str, int] = {}
    for alert in web.payments.alerts(0, 1000):
        kinds[alert.kind] = kinds.get(alert.kind, 0) + 1
    body = web.metrics.render(web.rooms.statuses(), kinds, risk_changes=_risk_changes(web), pool=web.models)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
