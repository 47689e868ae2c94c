"""Payment use cases on the in-memory unit of work: no database, so each test runs in milliseconds.
The same flows run against SQLite and PostgreSQL in tests/integration/test_payments_db.py."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from soberpay.adapters.catalogue_file import load_catalogue
from soberpay.adapters.clock import ManualClock
from soberpay.config import PaymentSettings
from soberpay.domain.identity import ConsentPurpose, ConsentRecord
from soberpay.domain.purchase import Outcome, PaymentRule, PendingStatus
from soberpay.errors import Conflict, InvalidInput, NotFound
from soberpay.services.payments import PaymentService
from tests.payment_fakes import FakeBehaviour, FakeIdentity, FakeSobriety, face
from tests.uow_fakes import FakeDatabase, uow_factory


class Crash(RuntimeError):
    pass


@dataclass
class World:
    pay: PaymentService
    db: FakeDatabase
    ident: FakeIdentity
    sob: FakeSobriety
    clock: ManualClock
    faults: set[str]
    behaviour: FakeBehaviour


@pytest.fixture
def w() -> World:
    db, ident, sob, clock, faults = FakeDatabase(), FakeIdentity(), FakeSobriety(), ManualClock(), set[str]()
    behaviour = FakeBehaviour(0.0)

    def fault(point: str) -> None:
        if point in faults:
            raise Crash(point)

    pay = PaymentService(
        uow=uow_factory(db),
        identity=ident,
        clock=clock,
        settings=PaymentSettings(),
        catalogue=load_catalogue(),
        sobriety=sob,
        behaviour=behaviour,
        fault=fault,
    )
    ident.lockout_in(uow_factory(db), clock, pay.password_policy)
    return World(pay, db, ident, sob, clock, faults, behaviour)


def _tagged_with_pending(w: World) -> tuple[str, str]:
    g = w.ident.add()
    w.pay.topup(g.id, 100_000, "topup-00001")
    w.pay.staff_tag(g.id, "staff judgement", "amy")
    r = w.pay.purchase(g.id, "whisky-jw-red", 1, "suspend-0001")
    assert r.outcome is Outcome.SUSPENDED and r.pending_id is not None
    return g.id, r.pending_id


def test_purchase_by_face_charges_and_audits(w: World) -> None:
    g = w.ident.add()
    w.pay.topup(g.id, 10_000, "topup-00001")
    w.sob.sober(g.id)
    r = w.pay.pay_by_face(face(g.id), "beer-tsingtao", 2, "buy-0000001")
    assert r.outcome is Outcome.CHARGED and r.rule is PaymentRule.UNTAGGED
    assert r.balance_fen == 10_000 - 3_600 == w.pay.balance(g.id)
    assert r.to_dict()["outcome"] == "charged" and r.to_dict()["rule"] == "untagged"  # the API's strings
    assert {"visit.opened", "payment.charged"} <= set(w.db.actions())
    assert sum(w.pay.ledger().account_sums.values()) == 0


def test_refusal_is_typed_and_not_stored(w: World) -> None:
    g = w.ident.add()
    r = w.pay.purchase(g.id, "cola", 1, "broke-00001")
    assert (r.outcome, r.rule) == (Outcome.REFUSED, PaymentRule.INSUFFICIENT_BALANCE)
    assert "broke-00001" not in w.db.idempotency  # the client may retry the key after a top-up
    w.pay.topup(g.id, 1_000, "topup-00002")
    assert w.pay.purchase(g.id, "cola", 1, "broke-00001").outcome is Outcome.CHARGED


def test_same_key_replays_and_other_parameters_conflict(w: World) -> None:
    g = w.ident.add()
    w.pay.topup(g.id, 10_000, "topup-00001")
    first = w.pay.purchase(g.id, "cola", 1, "same-key-001")
    again = w.pay.purchase(g.id, "cola", 1, "same-key-001")
    assert again.replayed and again.posting_id == first.posting_id and again.outcome is Outcome.CHARGED
    assert w.pay.balance(g.id) == 9_000
    with pytest.raises(Conflict):
        w.pay.purchase(g.id, "cola", 2, "same-key-001")
    assert w.pay.topup(g.id, 10_000, "topup-00001").replayed


def test_crash_mid_decision_leaves_nothing(w: World) -> None:
    g = w.ident.add()
    w.pay.topup(g.id, 10_000, "topup-00001")
    audit = len(w.db.audit)
    for point in ("after_posting", "before_commit"):
        w.faults.add(point)
        with pytest.raises(Crash):
            w.pay.purchase(g.id, "cola", 1, "crash-key-01")
        w.faults.clear()
        assert w.pay.balance(g.id) == 10_000 and len(w.db.audit) == audit and not w.db.orders
    assert w.pay.purchase(g.id, "cola", 1, "crash-key-01").outcome is Outcome.CHARGED


def test_tagged_regular_item_needs_dual_verification(w: World) -> None:
    g = w.ident.add()
    w.pay.topup(g.id, 10_000, "topup-00001")
    w.pay.staff_tag(g.id, "staff judgement", "amy")
    r = w.pay.purchase(g.id, "cola", 1, "dual-000001")
    assert r.outcome is Outcome.VERIFICATION_REQUIRED and r.requires == ("face", "password")
    r = w.pay.purchase(g.id, "cola", 1, "dual-000001", password="123456", face_image=face(g.id))
    assert (r.outcome, r.rule) == (Outcome.CHARGED, PaymentRule.DUAL_VERIFIED)


def test_pending_confirm_after_recovery_charges_original_price(w: World) -> None:
    gid, pid = _tagged_with_pending(w)
    early = w.pay.confirm_pending(pid, "confirm-00001", password="123456")
    assert (early.outcome, early.rule) == (Outcome.REFUSED, PaymentRule.STILL_TAGGED)
    wrong = w.pay.confirm_pending(pid, "confirm-00001", password="000000")
    assert (wrong.outcome, wrong.rule) == (Outcome.PASSWORD_REJECTED, PaymentRule.WRONG_PASSWORD)
    assert w.db.guards[gid].failures == 1  # a counted failure commits although nothing is charged
    w.pay.staff_untag(gid, "recovered, checked in person", "amy")
    r = w.pay.confirm_pending(pid, "confirm-00001", face_image=face(gid))
    assert (r.outcome, r.rule) == (Outcome.CHARGED, PaymentRule.CONFIRMED_AFTER_RECOVERY)
    assert r.charged_fen == 38_800 and w.pay.balance(gid) == 100_000 - 38_800
    assert w.pay.confirm_pending(pid, "confirm-00001", face_image=face(gid)).replayed
    with pytest.raises(Conflict):  # another key cannot charge the request twice
        w.pay.confirm_pending(pid, "confirm-00002", face_image=face(gid))


def test_discard_is_idempotent_and_unknown_requests_are_not_found(w: World) -> None:
    gid, pid = _tagged_with_pending(w)
    done = w.pay.discard_pending(pid)
    assert done.status is PendingStatus.DISCARDED
    assert w.pay.discard_pending(pid).status is PendingStatus.DISCARDED
    assert w.pay.list_pending(gid) == []
    with pytest.raises(NotFound):
        w.pay.discard_pending("no-such-request")


def test_pending_requests_expire(w: World) -> None:
    gid, _ = _tagged_with_pending(w)
    w.clock.advance(minutes=31)
    assert w.pay.expire_pending() == 1
    assert [r.status for r in w.pay.list_pending(gid, include_closed=True)] == [PendingStatus.EXPIRED]


def test_topup_validates_amount(w: World) -> None:
    g = w.ident.add()
    with pytest.raises(InvalidInput):
        w.pay.topup(g.id, 0, "topup-00001")
    t = w.pay.topup(g.id, 5_000, "topup-00001", actor="cashier-li")
    assert t.balance_fen == 5_000 and not t.replayed
    assert w.db.audit[-1].actor == "cashier-li" and w.db.audit[-1].action == "payment.topup"


def test_checkout_discards_pending_settles_and_closes_the_visit(w: World) -> None:
    gid, pid = _tagged_with_pending(w)
    w.pay.staff_untag(gid, "recovered, checked in person", "amy")
    w.pay.purchase(gid, "beer-tsingtao", 1, "beer-000001")
    result = w.pay.checkout(gid, "checkout-0001", pay_out_balance=True)
    assert result.paid_out_fen == 100_000 - 1_800 and result.balance_fen == 0
    assert [line.sku for line in result.bill.lines] == ["beer-tsingtao"]
    assert result.bill.discarded and w.db.pending[pid].status is PendingStatus.DISCARDED
    assert w.pay.checkout(gid, "checkout-0001", pay_out_balance=True).replayed
    with pytest.raises(NotFound):
        w.pay.bill(gid)  # no open visit any more


def test_refund_returns_money_once_per_key(w: World) -> None:
    g = w.ident.add()
    w.pay.topup(g.id, 10_000, "topup-00001")
    order_id = w.pay.purchase(g.id, "beer-tsingtao", 2, "beer-000001").order_id
    assert order_id is not None
    assert w.pay.refund(order_id, 1_000, "flat beer", "amy", "refund-00001").balance_fen == 10_000 - 3_600 + 1_000
    assert w.pay.refund(order_id, 1_000, "flat beer", "amy", "refund-00001").balance_fen == 10_000 - 2_600  # replay
    with pytest.raises(InvalidInput):
        w.pay.refund(order_id, 5_000, "more than left", "amy", "refund-00002")
    assert w.pay.bill(g.id).refunds_fen == 1_000


def test_alerts_are_acknowledged_once(w: World) -> None:
    g = w.ident.add()
    w.sob.drunk(g.id)
    w.pay.topup(g.id, 10_000, "topup-00001")
    w.pay.purchase(g.id, "cola", 1, "buy-0000001")
    alert = w.pay.alerts()[0]
    w.pay.acknowledge(alert.id, "amy")
    w.pay.acknowledge(alert.id, "amy")
    assert w.db.actions().count("alert.acknowledged") == 1
    assert alert.id not in [a.id for a in w.pay.alerts()]


def test_purchase_audit_records_the_actor_and_the_room(w: World) -> None:
    g = w.ident.add()
    w.pay.topup(g.id, 10_000, "topup-00001")
    w.pay.purchase(g.id, "cola", 1, "room-buy-001", actor="staff:amy", room_id="room-7")
    charged = w.pay.audit(g.id, prefix="payment.charged")[0]
    assert charged.actor == "staff:amy" and charged.details["room_id"] == "room-7"
    assert w.pay.audit(g.id, prefix="visit.opened")[0].actor == "staff:amy"
    w.pay.pay_by_face(face(g.id), "cola", 1, "face-buy-001")
    assert w.pay.audit(g.id, prefix="payment.charged")[0].actor == "guest"  # default: the guest


def test_tagged_guest_cannot_buy_a_beer_bucket_without_staff(w: World) -> None:
    g = w.ident.add()
    w.pay.topup(g.id, 100_000, "topup-00001")
    w.pay.staff_tag(g.id, "staff judgement", "amy")
    r = w.pay.purchase(g.id, "beer-bucket-6", 1, "bucket-00001", password="123456", face_image=face(g.id))
    assert r.outcome is Outcome.SUSPENDED and r.charged_fen == 0  # ¥98 is under ¥100: only the alcohol rule
    assert r.pending_id is not None and w.db.pending[r.pending_id].status is PendingStatus.PENDING
    assert w.pay.balance(g.id) == 100_000 and not w.db.orders


def test_recovery_waits_for_the_bac_estimate(w: World) -> None:
    g = w.ident.add()  # sex and weight unknown: the conservative 55 kg, r 0.55 estimate
    w.pay.topup(g.id, 100_000, "topup-00001")
    w.sob.sober(g.id)
    w.pay.purchase(g.id, "beer-bucket-6", 1, "bucket-00001")  # 56 g cap → about 0.185 g/100 mL
    w.sob.drunk(g.id)
    assert w.pay.refresh_risk(g.id).state == "tagged"
    w.sob.sober(g.id)
    for _ in range(4):
        w.clock.advance(minutes=15)
        view = w.pay.refresh_risk(g.id)
        assert view.state == "tagged" and "estimated BAC" in view.explanation
    w.clock.advance(minutes=10 * 60)  # eliminated at 0.015 g/100 mL per hour
    assert w.pay.refresh_risk(g.id).state == "recovering"


def _history(w: World, guest_id: str) -> None:
    """Three earlier visits of two single songs (¥5): an own order threshold of ¥10 once profiling is allowed."""
    w.sob.sober(guest_id)
    for i in range(3):
        for j in range(2):
            w.pay.purchase(guest_id, "song-1", 1, f"past-{i}-{j}-0001")
        w.pay.checkout(guest_id, f"checkout-{i}-0001")
        w.clock.advance(minutes=7 * 24 * 60)


def test_without_the_profiling_consent_no_history_and_no_lstm(w: World) -> None:
    g = w.ident.add()
    w.pay.topup(g.id, 500_000, "topup-00001")
    _history(w, g.id)
    r = w.pay.purchase(g.id, "snack-platter", 1, "snack-000001")
    assert w.behaviour.calls == 0  # no behaviour model without the purpose
    assert r.outcome is Outcome.CHARGED and r.risk_level == "low"  # ¥68 is within the venue default (¥300)
    w.db.consents.append(ConsentRecord(g.id, ConsentPurpose.BEHAVIOUR_PROFILING, w.clock.now(), "v"))
    r = w.pay.purchase(g.id, "snack-platter", 1, "snack-000002")
    assert w.behaviour.calls > 0
    assert r.risk_level == "elevated" and any("own threshold ¥10.00" in line for line in r.signals)


# --- deliveries and voids -------------------------------------------------------------------------


def test_served_items_become_deliveries_in_the_charge_transaction(w: World) -> None:
    g = w.ident.add()
    w.pay.topup(g.id, 10_000, "topup-00001")
    beer = w.pay.purchase(g.id, "beer-tsingtao", 2, "beer-000001").order_id
    w.pay.purchase(g.id, "song-1", 1, "song-000001")  # not served
    assert [(d.order_id, d.quantity, d.state.value) for d in w.pay.deliveries()] == [(beer, 2, "new")]
    w.faults.add("before_commit")  # a crash after the order and its delivery were written
    with pytest.raises(Crash):
        w.pay.purchase(g.id, "cola", 1, "cola-000001")
    assert len(w.db.orders) == 2 and len(w.db.deliveries) == 1  # neither the order nor its delivery stayed


def test_a_pending_request_confirmed_after_recovery_is_delivered_too(w: World) -> None:
    gid, pid = _tagged_with_pending(w)
    w.pay.staff_untag(gid, "recovered, checked in person", "amy")
    r = w.pay.confirm_pending(pid, "confirm-00001", password="123456")
    assert r.outcome is Outcome.CHARGED
    assert [d.order_id for d in w.pay.deliveries()] == [r.order_id]


def test_void_refunds_what_is_left_and_cancels_the_delivery(w: World) -> None:
    g = w.ident.add()
    w.pay.topup(g.id, 10_000, "topup-00001")
    order = w.pay.purchase(g.id, "beer-tsingtao", 2, "beer-000001").order_id
    assert order is not None
    w.pay.refund(order, 1_000, "flat beer", "amy", "refund-00001")
    v = w.pay.void(order, "guest left", "boss", "void-000001")
    assert (v.amount_fen, v.refunded_fen, v.voided, v.balance_fen) == (2_600, 3_600, True, 10_000)
    assert w.pay.delivery(order).state.value == "cancelled"
    refunds = [e for e in w.db.audit if e.action == "payment.refund"]
    assert [e.details["order_id"] for e in refunds] == [order, order] and refunds[1].details["void"] is True
