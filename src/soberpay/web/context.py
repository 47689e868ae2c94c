"""The web layer's runtime objects, built once per app from the container (hung on ``app.state.web``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from soberpay.ports import Printer
from soberpay.rooms.events import RoomStatusSource
from soberpay.web.admission import ModelPool
from soberpay.web.auth import AuthStore, RateLimits, Signer
from soberpay.web.metrics import Metrics
from soberpay.web.ports import PaymentsPort

if TYPE_CHECKING:
    from soberpay.bootstrap import Container
    from soberpay.config import WebSettings


@dataclass
class WebContext:
    container: Container
    payments: PaymentsPort
    auth: AuthStore
    signer: Signer
    limits: RateLimits
    metrics: Metrics
    models: ModelPool  # every decode/detection/embedding call goes through it (bounded, see web.admission)
    rooms: RoomStatusSource  # the in-process room host, or the heartbeat rows of `soberpay rooms`
    payments_kind: str  # "service" (PaymentService) or "injected" (tests)
    templates: Any = None
    printer: Printer | None = None  # receipts and delivery tickets (printer.url); None: not configured

    @property
    def settings(self) -> WebSettings:
        return self.container.settings.web

    def guest_token(self, guest_id: str, scope: str) -> str:
        return self.signer.dumps({"guest_id": guest_id, "scope": scope}, salt="sp-guest")
