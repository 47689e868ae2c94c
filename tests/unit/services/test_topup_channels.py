"""The top-up use case on the in-memory unit of work, with an in-process provider (no SDK, no HTTP):
one credit per provider transaction, refusals change nothing but an audit row, reconciliation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from soberpay.adapters.catalogue_file import load_catalogue
from soberpay.adapters.clock import ManualClock
from soberpay.config import PaymentSettings
from soberpay.domain.ledger import trial_balance
from soberpay.errors import Conflict, InvalidInput, NotFound, Unavailable
from soberpay.services.payments import PaymentService
from soberpay.services.payments.topup_channels import ProviderPayment, ProviderState, TopupChannels
from tests.payment_fakes import FakeIdentity
from tests.uow_fakes import FakeDatabase, uow_factory


@dataclass
class InProcessProvider:
    """Says what the test tells it; a notification is the ``ProviderPayment`` itself (already "verified")."""

    channel: str = "wechat"
    states: dict[str, ProviderPayment] = field(default_factory=dict)
    closed: list[str] = field(default_factory=list)
    refuse_close: bool = False

    def create_qr(self, topup_id: str, amount_fen: int, subject: str, guest_id: str) -> str:
        self.states[topup_id] = ProviderPayment(topup_id, ProviderState.PENDING)
        return f"weixin://fake/{topup_id}"

    def verify_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> ProviderPayment:
        tid, txn, amount, guest = body.decode().split(",")
        return ProviderPayment(tid, ProviderState.PAID, txn, int(amount), guest)

    def query(self, topup_id: str) -> ProviderPayment:
        return self.states[topup_id]

    def close(self, topup_id: str) -> None:
        if self.refuse_close:
            raise Unavailable("just paid")
        self.closed.append(topup_id)


@dataclass
class World:
    top: TopupChannels
    pay: PaymentService
    db: FakeDatabase
    provider: InProcessProvider
    clock: ManualClock
    guest: str


@pytest.fixture
def w() -> World:
    db, ident, clock = FakeDatabase(), FakeIdentity(), ManualClock()
    pay = PaymentService(
        uow=uow_factory(db), identity=ident, clock=clock, settings=PaymentSettings(), catalogue=load_catalogue()
    )
    provider = InProcessProvider()
    top = TopupChannels(pay.context, {"wechat": provider}, 100, 500_000)
    return World(top, pay, db, provider, clock, ident.add().id)


def _notify(w: World, tid: str, txn: str = "txn-1", amount: int = 5_000, guest: str | None = None) -> None:
    w.top.notified("wechat", {}, f"{tid},{txn},{amount},{guest or w.guest}".encode())


def test_a_paid_order_credits_once_per_transaction(w: World) -> None:
    order = w.top.create(w.guest, "wechat", 5_000, "guest")
    assert order.state == "created" and order.code_url.startswith("weixin://")
    _notify(w, order.id)
    _notify(w, order.id)  # the provider retries
    assert w.pay.balance(w.guest) == 5_000
    assert w.top.status(order.id, w.guest).state == "paid"
    assert trial_balance(p for p, _ in w.db.postings) == 0
    with pytest.raises(Conflict):  # another transaction for the same order: refused, audited
        _notify(w, order.id, txn="txn-2")
    assert w.pay.balance(w.guest) == 5_000


def test_refusals_change_nothing_but_an_audit_row(w: World) -> None:
    order = w.top.create(w.guest, "wechat", 5_000, "guest")
    with pytest.raises(InvalidInput):
        _notify(w, order.id, amount=50_000)
    with pytest.raises(NotFound):
        _notify(w, "0" * 32)
    assert w.pay.balance(w.guest) == 0 and w.db.topups[order.id].state == "created"
    reasons = [e.details.get("reason") for e in w.pay.audit(None, 50, "topup.rejected")]
    assert sorted(reasons) == ["amount_mismatch", "unknown_order"]


def test_amount_bounds(w: World) -> None:
    for bad in (99, 500_001, True):
        with pytest.raises(InvalidInput):
            w.top.create(w.guest, "wechat", bad, "guest")
    with pytest.raises(NotFound):
        w.top.create(w.guest, "alipay", 1_000, "guest")


def test_reconcile_settles_paid_closes_unpaid_and_leaves_just_paid_for_the_next_run(w: World) -> None:
    paid = w.top.create(w.guest, "wechat", 1_000, "guest")
    unpaid = w.top.create(w.guest, "wechat", 2_000, "guest")
    w.provider.states[paid.id] = ProviderPayment(paid.id, ProviderState.PAID, "txn-9", 1_000, w.guest)
    w.clock.advance(minutes=11)
    report = w.top.reconcile(timedelta(minutes=10))
    assert (report.settled, report.closed, report.errors) == (1, 1, 0)
    assert w.provider.closed == [unpaid.id] and w.db.topups[unpaid.id].state == "closed"
    assert w.pay.balance(w.guest) == 1_000
    late = w.top.create(w.guest, "wechat", 3_000, "guest")
    w.provider.refuse_close = True  # the guest paid between our query and our close
    w.clock.advance(minutes=11)
    assert w.top.reconcile(timedelta(minutes=10)).errors == 1
    assert w.db.topups[late.id].state == "created"
