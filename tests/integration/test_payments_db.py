"""PaymentService on a migrated database (SQLite always; PostgreSQL when SOBERPAY_TEST_PG_URL is set)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from soberpay.adapters.catalogue_file import load_catalogue
from soberpay.adapters.clock import ManualClock
from soberpay.adapters.db.base import make_engine, make_session_factory
from soberpay.adapters.db.identity_tables import AuditRow
from soberpay.adapters.db.payment_tables import (
    EntryRow,
    IdempotencyRow,
    OrderRow,
    PaymentAccountRow,
    PendingRequestRow,
    PostingRow,
    RiskStateRow,
)
from soberpay.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from soberpay.config import PaymentSettings
from soberpay.domain.ledger import guest_account
from soberpay.errors import Conflict, ConsentRequired, InvalidInput, NotFound
from soberpay.services.payments import PaymentService
from tests.payment_fakes import FakeBehaviour, FakeIdentity, FakeSobriety, face


class Crash(RuntimeError):
    pass


@dataclass
class Env:
    pay: PaymentService
    ident: FakeIdentity
    sob: FakeSobriety
    clock: ManualClock
    sessions: sessionmaker[Session]
    faults: set[str]

    def count(self, model: type) -> int:
        with self.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

    def invariants(self) -> None:
        """Ledger balances; cached guest balances equal the entries; no open pending without a visit."""
        with self.sessions() as s:
            total = s.scalar(select(func.coalesce(func.sum(EntryRow.amount_fen), 0)))
            assert total == 0
            for acct in s.scalars(select(PaymentAccountRow).where(PaymentAccountRow.kind == "guest")):
                summed = s.scalar(
                    select(func.coalesce(func.sum(EntryRow.amount_fen), 0)).where(EntryRow.account_id == acct.id)
                )
                assert acct.signed_fen == summed
            for p in s.scalars(select(PostingRow)):
                n = s.scalar(select(func.coalesce(func.sum(EntryRow.amount_fen), 0)).where(EntryRow.posting_id == p.id))
                assert n == 0


def make_env(url: str, **overrides: object) -> Iterator[Env]:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    ident = FakeIdentity(sessions)
    sob = FakeSobriety()
    clock = ManualClock()
    faults: set[str] = set()

    def fault(point: str) -> None:
        if point in faults:
            raise Crash(point)

    settings = PaymentSettings(**overrides)  # type: ignore[arg-type]
    pay = PaymentService(
        uow=lambda: SqlAlchemyUnitOfWork(sessions),
        identity=ident,
        clock=clock,
        settings=settings,
        catalogue=load_catalogue(),
        sobriety=sob,
        behaviour=FakeBehaviour(0.0),
        fault=fault,
    )
    ident.lockout_in(lambda: SqlAlchemyUnitOfWork(sessions), clock, pay.password_policy)
    yield Env(pay, ident, sob, clock, sessions, faults)
    engine.dispose()


@pytest.fixture
def env(db_url: str) -> Iterator[Env]:
    yield from make_env(db_url)


def test_full_flow_normal_tagged_suspended_recovered_confirmed(env: Env) -> None:
    # sex and weight given: two beers then estimate 0.041 g/100 mL, under the recovery BAC limit (0.05)
    g = env.ident.add("Li", sex="M", weight_kg=80)
    env.pay.topup(g.id, 200_000, "topup-0001")
    env.sob.sober(g.id)
    r = env.pay.pay_by_face(face(g.id), "beer-tsingtao", 2, "buy-000001")
    assert r.outcome == "charged" and r.balance_fen == 200_000 - 3_600
    env.sob.drunk(g.id)
    env.clock.advance(minutes=5)
    r = env.pay.pay_by_face(face(g.id), "whisky-chivas-12", 1, "buy-000002")
    assert r.outcome == "suspended" and r.charged_fen == 0 and r.risk_state == "tagged"
    pid = r.pending_id
    assert pid is not None
    # while tagged: regular item needs dual verification
    r = env.pay.pay_by_face(face(g.id), "cola", 1, "buy-000003")
    assert r.outcome == "verification_required" and r.requires == ("password",)
    r = env.pay.pay_by_face(face(g.id), "cola", 1, "buy-000003", password="123456")
    assert r.outcome == "charged" and r.rule == "dual_verified"
    # confirming too early is refused and changes nothing
    early = env.pay.confirm_pending(pid, "confirm-0001", password="123456")
    assert early.outcome == "refused" and early.rule == "still_tagged"
    # recovery: similarity back, dwell + min lock
    env.sob.sober(g.id)
    env.clock.advance(minutes=1)
    assert env.pay.refresh_risk(g.id).state == "recovering"
    env.clock.advance(minutes=10)
    view = env.pay.refresh_risk(g.id)
    assert view.state == "normal" and view.unlocked and [p.id for p in view.pending] == [pid]
    ok = env.pay.confirm_pending(pid, "confirm-0001", password="123456")
    assert ok.outcome == "charged" and ok.charged_fen == 68_800
    again = env.pay.confirm_pending(pid, "confirm-0001", password="123456")
    assert again.replayed and again.posting_id == ok.posting_id
    assert env.count(OrderRow) == 3
    kinds = {a.kind for a in env.pay.alerts()}
    assert {"tagged", "suspended", "recovered", "pending_ready"} <= kinds
    actions = [e.action for e in env.pay.audit(g.id, limit=200)]
    assert "payment.suspended" in actions and "pending.confirmed" in actions and "risk.drunk_judgement" in actions
    bill = env.pay.checkout(g.id, "checkout-01").bill
    assert bill.total_fen == 3_600 + 1_000 + 68_800
    env.invariants()


def test_same_key_replays_and_other_parameters_conflict(env: Env) -> None:
    g = env.ident.add()
    env.pay.topup(g.id, 10_000, "topup-0001")
    assert env.pay.topup(g.id, 10_000, "topup-0001").replayed
    with pytest.raises(Conflict):
        env.pay.topup(g.id, 20_000, "topup-0001")
    a = env.pay.purchase(g.id, "cola", 1, "key-000001")
    b = env.pay.purchase(g.id, "cola", 1, "key-000001")
    assert b.replayed and a.posting_id == b.posting_id and a.order_id == b.order_id
    with pytest.raises(Conflict):
        env.pay.purchase(g.id, "cola", 2, "key-000001")
    with pytest.raises(Conflict):
        env.pay.topup(g.id, 1_000, "key-000001")  # a purchase key reused for a top-up
    assert env.pay.balance(g.id) == 9_000
    env.invariants()


def test_refusals_are_not_stored_so_the_key_can_be_retried(env: Env) -> None:
    g = env.ident.add()
    r = env.pay.purchase(g.id, "cola", 1, "key-000002")
    assert r.outcome == "refused" and r.rule == "insufficient_balance"
    assert env.count(IdempotencyRow) == 0
    env.pay.topup(g.id, 1_000, "topup-0002")
    assert env.pay.purchase(g.id, "cola", 1, "key-000002").outcome == "charged"


def test_password_lockout_notifies_staff_and_staff_unlock(env: Env) -> None:
    g = env.ident.add()
    env.pay.topup(g.id, 10_000, "topup-0003")
    env.pay.staff_tag(g.id, "visibly drunk at the bar", "amy")
    outcomes = [
        env.pay.pay_by_face(face(g.id), "cola", 1, f"pw-key-{i:04d}", password="999999").outcome for i in range(5)
    ]
    assert outcomes == ["password_rejected"] * 4 + ["locked_out"]
    assert any(a.kind == "lockout" for a in env.pay.alerts())
    checks = env.ident.password_checks
    r = env.pay.pay_by_face(face(g.id), "cola", 1, "pw-key-0100", password="123456")
    assert r.outcome == "locked_out" and env.ident.password_checks == checks  # not even checked while locked
    env.clock.advance(minutes=15)
    assert env.pay.pay_by_face(face(g.id), "cola", 1, "pw-key-0101", password="123456").outcome == "charged"
    for i in range(5):
        env.pay.pay_by_face(face(g.id), "cola", 1, f"pw-key-02{i:02d}", password="999999")
    with pytest.raises(InvalidInput):
        env.pay.staff_unlock(g.id, "", "amy")
    env.pay.staff_unlock(g.id, "guest showed ID at the counter", "amy")
    assert env.pay.pay_by_face(face(g.id), "cola", 1, "pw-key-0300", password="123456").outcome == "charged"
    assert any(e.action == "staff.unlock" for e in env.pay.audit(g.id))


def test_pending_expires_after_30_minutes_and_is_never_charged(env: Env) -> None:
    g = env.ident.add()
    env.pay.topup(g.id, 100_000, "topup-0004")
    env.pay.staff_tag(g.id, "staff judgement", "amy")
    pid = env.pay.purchase(g.id, "whisky-jw-red", 1, "buy-exp-01").pending_id
    assert pid is not None
    env.pay.staff_untag(g.id, "sober after water and rest", "amy")
    env.clock.advance(minutes=31)
    r = env.pay.confirm_pending(pid, "conf-exp-01", password="123456")
    assert r.outcome == "refused" and r.rule == "expired" and r.charged_fen == 0
    assert env.pay.list_pending(g.id, include_closed=True)[0].status.value == "expired"
    assert env.pay.balance(g.id) == 100_000
    assert env.pay.confirm_pending(pid, "conf-exp-02", password="123456").rule == "expired"
    assert env.pay.balance(g.id) == 100_000


def test_discard_and_checkout_close_every_pending_request(env: Env) -> None:
    g = env.ident.add()
    env.pay.topup(g.id, 100_000, "topup-0005")
    env.pay.staff_tag(g.id, "staff judgement", "amy")
    p1 = env.pay.purchase(g.id, "whisky-jw-red", 1, "buy-dis-01").pending_id
    p2 = env.pay.purchase(g.id, "fruit-large", 1, "buy-dis-02").pending_id
    assert p1 and p2
    assert env.pay.discard_pending(p1).status.value == "discarded"
    assert env.pay.discard_pending(p1).status.value == "discarded"  # idempotent
    result = env.pay.checkout(g.id, "checkout-02", pay_out_balance=True)
    assert any("Fruit platter" in d for d in result.bill.discarded)
    assert result.paid_out_fen == 100_000 and result.balance_fen == 0
    statuses = {p.status.value for p in env.pay.list_pending(g.id, include_closed=True)}
    assert statuses == {"discarded"}
    assert env.pay.checkout(g.id, "checkout-02", pay_out_balance=True).replayed
    with pytest.raises(NotFound):
        env.pay.checkout(g.id, "checkout-03")
    env.invariants()


def test_tab_with_credit_limit_is_settled_at_checkout(db_url: str) -> None:
    for env in make_env(db_url, tab_credit_limit_fen=5_000):
        g = env.ident.add()
        assert env.pay.purchase(g.id, "beer-tsingtao", 2, "tab-key-01").outcome == "charged"
        assert env.pay.balance(g.id) == -3_600
        assert env.pay.purchase(g.id, "beer-tsingtao", 1, "tab-key-02").outcome == "refused"  # would pass −¥50
        result = env.pay.checkout(g.id, "tab-checkout")
        assert result.settled_fen == 3_600 and result.balance_fen == 0
        env.invariants()


def test_crash_mid_transaction_rolls_back_everything(env: Env) -> None:
    g = env.ident.add()
    env.pay.topup(g.id, 10_000, "topup-0006")
    env.sob.drunk(g.id)  # this decision would also tag the guest
    before = (env.count(PostingRow), env.count(OrderRow), env.count(AuditRow), env.count(RiskStateRow))
    for point in ("after_posting", "before_commit"):
        env.faults.clear()
        env.faults.add(point)
        with pytest.raises(Crash):
            env.pay.purchase(g.id, "cola", 1, "crash-key-01", password="123456", face_image=face(g.id))
        assert (env.count(PostingRow), env.count(OrderRow), env.count(AuditRow), env.count(RiskStateRow)) == before
        assert env.pay.balance(g.id) == 10_000 and env.count(IdempotencyRow) == 1  # only the top-up's
    env.faults.clear()
    r = env.pay.purchase(g.id, "cola", 1, "crash-key-01", password="123456", face_image=face(g.id))
    assert r.outcome == "charged" and r.risk_state == "tagged"
    env.invariants()


def test_bad_input_changes_nothing(env: Env) -> None:
    g = env.ident.add(face_consent=False)
    env.pay.topup(g.id, 10_000, "topup-0007")
    audit = env.count(AuditRow)
    with pytest.raises(NotFound):
        env.pay.purchase(g.id, "caviar", 1, "bad-key-001")
    with pytest.raises(InvalidInput):
        env.pay.purchase(g.id, "cola", 0, "bad-key-002")
    with pytest.raises(InvalidInput):
        env.pay.purchase(g.id, "cola", 1, "short")
    with pytest.raises(NotFound):
        env.pay.purchase("0" * 32, "cola", 1, "bad-key-003")
    with pytest.raises(InvalidInput):
        env.pay.topup(g.id, -5, "bad-key-004")
    with pytest.raises(InvalidInput):
        env.pay.staff_tag(g.id, " ", "amy")
    with pytest.raises(ConsentRequired):
        env.pay.purchase(g.id, "cola", 1, "bad-key-005", face_image=face(g.id))
    with pytest.raises(NotFound):
        env.pay.confirm_pending("nope", "bad-key-006")
    with pytest.raises(InvalidInput):
        env.pay.purchase(g.id, "cola", 1, "bad-key-007", password="12ab")
    assert env.count(AuditRow) == audit and env.pay.balance(g.id) == 10_000


def test_phone_payment_and_tagged_guest_without_face_consent(env: Env) -> None:
    g = env.ident.add(face_consent=False)
    env.pay.topup(g.id, 10_000, "topup-0008")
    r = env.pay.pay_by_phone(g.phone, "123456", "cola", 1, "phone-key-01")
    assert r.outcome == "charged"
    assert env.pay.pay_by_phone(g.phone, "000000", "cola", 1, "phone-key-02").outcome == "password_rejected"
    env.pay.staff_tag(g.id, "staff judgement", "amy")
    r = env.pay.pay_by_phone(g.phone, "123456", "cola", 1, "phone-key-03")
    assert r.outcome == "refused" and r.rule == "dual_verification_unavailable"
    assert any(a.kind == "staff_required" for a in env.pay.alerts())


def test_spend_spike_with_posture_tags_and_refund(env: Env) -> None:
    g = env.ident.add(sex="M", weight_kg=80)
    env.pay.topup(g.id, 100_000, "topup-0009")
    env.sob.set(g.id, 0.2, True, 0.7)  # abnormal posture alone only elevates
    r = env.pay.purchase(g.id, "cola", 1, "spike-key-01")
    assert r.outcome == "charged" and r.risk_level == "elevated" and r.risk_state == "normal"
    r = env.pay.purchase(g.id, "beer-tsingtao", 7, "spike-key-02")  # 7 beers > venue default 6 per visit
    assert r.risk_state == "tagged" and "drunk warning" in r.explanation
    assert any(a.kind == "drunk_warning" for a in env.pay.alerts())
    order = env.pay.purchase(g.id, "song-1", 1, "spike-key-03", password="123456", face_image=face(g.id))
    assert order.outcome == "charged" and order.order_id
    bal = env.pay.refund(order.order_id, None, "song skipped by mistake", "amy", "refund-key-1").balance_fen
    assert bal == env.pay.balance(g.id)
    with pytest.raises(InvalidInput):
        env.pay.refund(order.order_id, 1, "again", "amy", "refund-key-2")
    env.invariants()
    assert env.pay.ledger().account_sums.get("venue:refunds") == 500
    assert env.pay.ledger(g.id).guest_balances[g.id] == env.pay.balance(g.id)
    with env.sessions() as s:
        assert s.get(PaymentAccountRow, guest_account(g.id)) is not None
        assert s.scalar(select(func.count()).select_from(PendingRequestRow)) == 1
