"""Read models for the staff pages and the CLI: ledger, running bill, alerts, audit log."""

from __future__ import annotations

from soberpay.domain.ledger import Bill
from soberpay.errors import NotFound
from soberpay.ports import Alert, AuditEntry
from soberpay.services.payments.context import PaymentContext
from soberpay.services.payments.counter import bill_line
from soberpay.services.payments.results import LedgerView


class PaymentQueries:
    def __init__(self, ctx: PaymentContext) -> None:
        self._ctx = ctx

    def ledger(self, guest_id: str | None, limit: int) -> LedgerView:
        with self._ctx.uow() as uow:
            lines = tuple(uow.payments.ledger_lines(guest_id, limit))
            sums = uow.payments.account_sums()
        guests = {a.split(":", 1)[1]: -v for a, v in sums.items() if a.startswith("guest:")}
        if guest_id is not None:
            guests = {k: v for k, v in guests.items() if k == guest_id}
        return LedgerView(lines, sums, sum(sums.values()), guests)

    def bill(self, guest_id: str) -> Bill:
        """The running (not yet closed) bill of the open visit."""
        return self._visit_bill(guest_id, latest_closed=False)

    def receipt_bill(self, guest_id: str) -> Bill:
        """The bill a receipt prints: the open visit's, else the last closed one's (a reprint after checkout),
        with refunds made since."""
        return self._visit_bill(guest_id, latest_closed=True)

    def _visit_bill(self, guest_id: str, latest_closed: bool) -> Bill:
        self._ctx.guest(guest_id)
        with self._ctx.uow() as uow:
            visit = uow.payments.last_visit(guest_id) if latest_closed else uow.payments.open_visit(guest_id)
            if visit is None and latest_closed:
                raise NotFound("the guest has no visit yet", guest_id=guest_id)
            if visit is None:
                raise NotFound("the guest has no open visit", guest_id=guest_id)
            orders = uow.payments.orders(guest_id, visit.id)
        lines = tuple(bill_line(o) for o in orders)
        return Bill(guest_id, visit.id, visit.opened_at, visit.closed_at, lines, sum(o.refunded_fen for o in orders))

    def alerts(self, include_acknowledged: bool, limit: int) -> list[Alert]:
        with self._ctx.uow() as uow:
            return uow.notifications.alerts(include_acknowledged, limit)

    def audit(self, guest_id: str | None, limit: int, prefix: str | None) -> list[AuditEntry]:
        with self._ctx.uow() as uow:
            return uow.audit.entries(guest_id, limit, prefix)
