"""``create_app(container)``: the FastAPI application factory (composition happens in ``bootstrap``).

One exception handler maps ``soberpay.errors.*`` to HTTP by each error's ``http_status`` with a JSON body
``{"error": code, "message": text}``; request validation errors become 422 with the same shape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from soberpay import errors
from soberpay.adapters.printer import EscposPrinter
from soberpay.rooms.events import RoomObservation, RoomStatus
from soberpay.rooms.status import SqlRoomStatus
from soberpay.web.admission import BodyLimit, ModelPool
from soberpay.web.auth import AuthStore, RateLimits, Signer, load_or_create_secret
from soberpay.web.context import WebContext
from soberpay.web.i18n import error_message, install_i18n, lang_of
from soberpay.web.metrics import Metrics, method_label
from soberpay.web.ports import PaymentsPort
from soberpay.web.schemas import ErrorOut

if TYPE_CHECKING:
    from soberpay.bootstrap import Container
    from soberpay.rooms.host import RoomHost

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent

# Pages load only their own script, stylesheet and images; camera frames are blob: URLs in memory.
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


# Every route can answer these (body caps, bad input, the model pool); route-specific ones are on the routes.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "invalid input (one-line reason)"},
    413: {"model": ErrorOut, "description": "request body over its cap"},
    422: {"model": ErrorOut, "description": "request does not match this schema"},
    503: {"model": ErrorOut, "description": "busy (Retry-After) or a dependency is not ready"},
}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message}
    body.update({k: v for k, v in extra.items() if isinstance(v, str | int | float | bool | list) or v is None})
    return body


def build_payments(container: Container) -> tuple[PaymentsPort, str]:
    from soberpay.web.engine import ServicePayments

    return ServicePayments.from_container(container), "service"


class WebRoomEvents:
    """The web's subscriber when the rooms run in its process (``web.run_rooms``, one venue, one process).

    Judgements go through the payments port, which steps the risk state and keeps the staff dashboard's
    sobriety plot; stage timings feed ``/metrics``. Status is read live from the host, so no heartbeat rows.
    """

    def __init__(self, web: WebContext) -> None:
        self.web = web

    def observed(self, room_id: str, observation: RoomObservation) -> None:
        for stage, seconds in observation.timings.items():
            self.web.metrics.model_seconds.labels(stage).observe(seconds)
        for j in observation.judgements:
            o = j.observation
            self.web.payments.apply_sobriety(
                j.guest_id,
                p_drunk=o.p_drunk,
                similarity=o.similarity_to_normal,
                posture_abnormal=o.posture_abnormal,
                judged_drunk=o.judged_drunk,
                evidence=o.reason,
                room_id=room_id,
                abstained=o.abstained,
            )

    def heartbeat(self, statuses: Sequence[RoomStatus], at: datetime) -> None:
        pass  # routes read the host's workers directly


def start_rooms_in_process(web: WebContext) -> RoomHost:
    """Run the room workers inside this (single) web process; their live status replaces the heartbeat rows."""
    from soberpay.rooms.host import RoomHost

    rooms = web.auth.rooms()
    cameras = [(r.id, r.camera_source) for r in rooms if r.camera_source]
    thermal = [(r.id, r.thermal_camera_source) for r in rooms if r.thermal_camera_source]
    host = RoomHost.for_rooms(web.container, cameras, WebRoomEvents(web), thermal=thermal)
    web.rooms = host
    host.start()
    return host


def create_app(container: Container, *, payments: PaymentsPort | None = None, run_rooms: bool | None = None) -> FastAPI:
    settings = container.settings
    if payments is None:
        payments, kind = build_payments(container)
    else:
        kind = "injected"
    secret = load_or_create_secret(settings.web.secret_key, settings.resolved_key_dir)
    web = WebContext(
        container=container,
        payments=payments,
        auth=AuthStore(container.session_factory, container.hasher, container.clock),
        signer=Signer(secret),
        limits=RateLimits(
            container.session_factory,
            container.clock,
            secret,
            {
                "login": settings.web.login_rate_per_min,
                "identify": settings.web.identify_rate_per_min,
                "password": settings.web.password_rate_per_min,
                "phone_digits": settings.web.phone_digits_rate_per_min,
                "register": settings.web.register_rate_per_min,
                "public": settings.web.public_rate_per_min,
                "notify": settings.topup.notify_rate_per_min,
            },
        ),
        metrics=Metrics(),
        models=ModelPool(settings.web.model_workers, settings.web.model_queue, settings.identity.max_upload_bytes),
        rooms=SqlRoomStatus(container.session_factory, container.clock.now),
        payments_kind=kind,
        printer=EscposPrinter(settings.printer.url, settings.printer.timeout_s) if settings.printer.url else None,
    )
    container.stage_observers.append(lambda stage, s: web.metrics.decision_stages.labels(stage).observe(s))
    if settings.env == "prod":
        from soberpay.web.demo import refuse_demo_in_prod

        refuse_demo_in_prod(web.auth, container.identity)
    start_rooms = settings.web.run_rooms if run_rooms is None else run_rooms

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Without in-process rooms, room status comes from the heartbeat rows of `soberpay rooms`.
        host = start_rooms_in_process(web) if start_rooms else None
        try:
            yield
        finally:
            if host is not None:
                host.stop()

    # Swagger UI / ReDoc assets come from the fastapi-offline wheel, so /docs and /redoc work offline.
    app = FastAPIOffline(
        static_url="/static-docs",
        title="soberpay venue service",
        version="0.1.0",
        description="Face payment for KTV venues with a consent-based sobriety guard. "
        "Errors are JSON {error, message}; messages and explanations follow Accept-Language (zh-CN, en).",
        lifespan=lifespan,
    )
    app.state.web = web
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    install_i18n(templates, settings.venue.zone)
    web.templates = templates
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(errors.SoberpayError)
    async def _domain_error(request: Request, exc: errors.SoberpayError) -> JSONResponse:
        status = exc.http_status
        if isinstance(exc, errors.RateLimited):
            web.metrics.rate_limited.labels(request.url.path.rsplit("/", 1)[-1]).inc()
        retry = status in (429, 503) and "retry_after" in exc.context
        headers = {"Retry-After": str(int(exc.context["retry_after"]) + 1)} if retry else None
        message = error_message(exc.code, exc.message, lang_of(request))
        return JSONResponse(error_body(exc.code, message, **exc.context), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems, fields = [], []
        for e in exc.errors()[:5]:
            loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            fields.append(loc)
            problems.append(f"{loc}: {e.get('msg', 'invalid')}" if loc else str(e.get("msg", "invalid")))
        lang = lang_of(request)
        # pydantic's own wording is English: other languages get the code's message, the fields stay named.
        text = "; ".join(problems) if lang == "en" else error_message("invalid_input", "", lang)
        return JSONResponse(error_body("invalid_input", text or "invalid request", fields=fields), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "http_error")
        message = error_message(code, str(exc.detail), lang_of(request))
        return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = error_message("internal", "internal error; the request was not applied", lang_of(request))
        return JSONResponse(error_body("internal", message), status_code=500)

    # Added first, so it runs inside the metrics middleware: refusals are counted too.
    app.add_middleware(BodyLimit, pool=web.models, upload_bytes=settings.identity.max_upload_bytes)

    @app.middleware("http")
    async def _metrics_and_headers(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        web.metrics.requests.labels(method_label(request.method), path, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.headers.get("content-type", "").startswith("text/html") and not request.url.path.startswith(
            ("/docs", "/redoc")
        ):
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    from soberpay.web.routes import guests, health, liveness, orders, pages, purchases, rooms, staff, topups

    for module in (health, guests, purchases, liveness, rooms, staff, orders, topups, pages):
        app.include_router(module.router, responses=COMMON_RESPONSES)
    from soberpay.web.routes import admin

    app.include_router(admin.api, responses=COMMON_RESPONSES)
    app.include_router(admin.pages)
    return app
