"""Hypothesis state machine over the payment service: random purchases, sobriety readings, tags,
recoveries, confirmations, discards, overrides, checkouts and crashes (an exception mid-transaction).

Invariants checked after every step:
- the ledger balances (sum of all entries is 0, every posting is balanced) and the cached guest
  balance equals the sum of its entries; the balance never goes below the tab limit (0);
- the balance equals the model's expectation (top-ups − charges), so a crash or replay never moves money;
- no high-price item is charged while the guest is tagged/recovering;
- nothing is charged twice: one purchase posting per idempotency key, one order per pending request;
- every pending request ends confirmed, discarded or expired (checked at teardown after 31 minutes).

Uses a throwaway SQLite file per example (tables from the metadata; migrations are tested elsewhere).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select

from soberpay.adapters.catalogue_file import load_catalogue
from soberpay.adapters.clock import ManualClock
from soberpay.adapters.db.all_tables import load_all_tables
from soberpay.adapters.db.base import make_engine, make_session_factory
from soberpay.adapters.db.payment_tables import EntryRow, OrderRow, PaymentAccountRow, PostingRow
from soberpay.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from soberpay.config import PaymentSettings
from soberpay.domain.catalogue import Tier, TierPolicy, tier_of
from soberpay.errors import Conflict, PaymentRefused
from soberpay.services.payments import PaymentResult, PaymentService
from tests.payment_fakes import FakeBehaviour, FakeIdentity, FakeSobriety, face

SKUS = ["cola", "beer-tsingtao", "shot-tequila", "fruit-large", "whisky-jw-red", "beer-bucket-6"]
MENU = load_catalogue()
TIERS = TierPolicy(10_000, True)


class Crash(RuntimeError):
    pass


class PaymentMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._tmp = tempfile.TemporaryDirectory()
        self.engine = make_engine(f"sqlite:///{Path(self._tmp.name) / 'p.db'}")
        load_all_tables().metadata.create_all(self.engine)
        self.sessions = make_session_factory(self.engine)
        self.ident = FakeIdentity(self.sessions)
        self.sob = FakeSobriety()
        self.clock = ManualClock()
        self.crash_at: str | None = None
        self.pay = PaymentService(
            uow=lambda: SqlAlchemyUnitOfWork(self.sessions),
            identity=self.ident,
            clock=self.clock,
            settings=PaymentSettings(recovery_dwell_seconds=120, min_lock_seconds=300),
            catalogue=MENU,
            sobriety=self.sob,
            behaviour=FakeBehaviour(0.0),
            fault=self._fault,
        )
        self.ident.lockout_in(lambda: SqlAlchemyUnitOfWork(self.sessions), self.clock, self.pay.password_policy)
        self.guest = self.ident.add("Guest").id
        self.expected_balance = 0
        self.n = 0
        self.topup(150_000)
        self.keys: list[tuple[str, str, int]] = []  # stored purchase keys with their parameters
        self.pending: list[str] = []

    def _fault(self, point: str) -> None:
        if self.crash_at == point:
            raise Crash(point)

    def _key(self) -> str:
        self.n += 1
        return f"k-{self.n:06d}"

    def teardown(self) -> None:
        try:
            self.clock.advance(minutes=31)
            for p in self.pay.list_pending(include_closed=True):
                assert p.status.value in ("confirmed", "discarded", "expired"), p
        finally:
            self.engine.dispose()
            self._tmp.cleanup()

    # --- bookkeeping -------------------------------------------------------------------------

    def _account(self, r: PaymentResult) -> None:
        if r.outcome == "charged" and not r.replayed:
            self.expected_balance -= r.charged_fen
            if r.risk_state != "normal":
                item = MENU.get(r.sku)
                assert tier_of(item, TIERS, True, r.quantity).tier is Tier.REGULAR, r  # no high-price while tagged
                assert r.rule in ("dual_verified",), r
        if r.outcome == "suspended" and r.pending_id and not r.replayed:
            self.pending.append(r.pending_id)

    # --- rules -------------------------------------------------------------------------------

    @rule(amount=st.integers(1, 200_000))
    def topup(self, amount: int) -> None:
        r = self.pay.topup(self.guest, amount, self._key())
        self.expected_balance += amount
        assert r.balance_fen == self.expected_balance

    @rule(
        sku=st.sampled_from(SKUS),
        qty=st.integers(1, 3),
        password=st.sampled_from([None, "123456", "123456", "123456", "000000"]),
        with_face=st.booleans(),
    )
    def purchase(self, sku: str, qty: int, password: str | None, with_face: bool) -> None:
        key = self._key()
        r = self.pay.purchase(
            self.guest, sku, qty, key, password=password, face_image=face(self.guest) if with_face else None
        )
        self._account(r)
        event(f"purchase: {r.outcome} ({r.risk_state})")
        if r.outcome in ("charged", "suspended"):
            self.keys.append((key, sku, qty))

    @rule(sku=st.sampled_from(["whisky-jw-red", "fruit-large", "shot-tequila"]), drunk=st.booleans())
    def drunk_guest_tries_high_price(self, sku: str, drunk: bool) -> None:
        if drunk:
            self.sob.drunk(self.guest)
        else:
            self.staff("tag")
        self.purchase(sku, 1, None, True)

    @precondition(lambda self: bool(self.keys))
    @rule(data=st.data(), same=st.booleans())
    def retry_key(self, data: st.DataObject, same: bool) -> None:
        key, sku, qty = data.draw(st.sampled_from(self.keys))
        if same:
            r = self.pay.purchase(self.guest, sku, qty, key, password="123456", face_image=face(self.guest))
            assert r.replayed
            self._account(r)
        else:
            try:
                self.pay.purchase(self.guest, sku, qty + 1, key)
                raise AssertionError("reused key with other parameters must conflict")
            except Conflict:
                pass

    @rule(kind=st.sampled_from(["sober", "drunk", "posture", "middling", "none"]))
    def sobriety(self, kind: str) -> None:
        if kind == "sober":
            self.sob.sober(self.guest)
        elif kind == "drunk":
            self.sob.drunk(self.guest)
        elif kind == "posture":
            self.sob.set(self.guest, 0.3, True, 0.7)
        elif kind == "middling":
            self.sob.set(self.guest, 0.5, False, 0.88)
        else:
            self.sob.clear(self.guest)

    @rule(minutes=st.integers(0, 20))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    @rule()
    def refresh(self) -> None:
        self.pay.refresh_risk(self.guest)

    @rule()
    def recover(self) -> None:
        """Sober readings held long enough: dwell (120 s) and minimum lock (300 s) both pass."""
        self.sob.sober(self.guest)
        for _ in range(3):
            self.pay.refresh_risk(self.guest)
            self.clock.advance(minutes=3)
        view = self.pay.refresh_risk(self.guest)
        event(f"recover: {view.state}")

    @rule(action=st.sampled_from(["tag", "untag", "unlock"]))
    def staff(self, action: str) -> None:
        getattr(self.pay, f"staff_{action}")(self.guest, "staff override in test", "tester")

    @precondition(lambda self: bool(self.pending))
    @rule(data=st.data(), how=st.sampled_from(["password", "face", "none", "wrong"]))
    def confirm(self, data: st.DataObject, how: str) -> None:
        pid = data.draw(st.sampled_from(self.pending))
        kwargs: dict[str, object] = {}
        if how == "password":
            kwargs["password"] = "123456"
        elif how == "face":
            kwargs["face_image"] = face(self.guest)
        elif how == "wrong":
            kwargs["password"] = "000000"
        try:
            r = self.pay.confirm_pending(pid, self._key(), **kwargs)  # type: ignore[arg-type]
        except (Conflict, PaymentRefused):
            return
        event(f"confirm: {r.outcome} ({r.rule})")
        if r.outcome == "charged":
            assert r.risk_state == "normal"
            self.expected_balance -= r.charged_fen

    @precondition(lambda self: bool(self.pending))
    @rule(data=st.data())
    def recover_then_confirm(self, data: st.DataObject) -> None:
        self.recover()
        self.confirm(data, "password")

    @precondition(lambda self: bool(self.pending))
    @rule(data=st.data())
    def discard(self, data: st.DataObject) -> None:
        pid = data.draw(st.sampled_from(self.pending))
        try:
            self.pay.discard_pending(pid)
        except Conflict:
            pass

    @rule()
    def checkout(self) -> None:
        try:
            r = self.pay.checkout(self.guest, self._key())
        except Exception as exc:  # no open visit
            assert type(exc).__name__ == "NotFound"
            return
        assert r.balance_fen == self.expected_balance

    @rule(point=st.sampled_from(["after_posting", "before_commit"]), sku=st.sampled_from(SKUS))
    def crash(self, point: str, sku: str) -> None:
        before = self._snapshot()
        self.crash_at = point
        try:
            self.pay.purchase(self.guest, sku, 1, self._key(), password="123456", face_image=face(self.guest))
        except Crash:
            pass
        finally:
            self.crash_at = None
        assert self._snapshot() == before

    # --- invariants --------------------------------------------------------------------------

    def _snapshot(self) -> tuple[int, int, int]:
        with self.sessions() as s:  # closed before the service opens its own transaction
            counts = (
                int(s.scalar(select(func.count()).select_from(PostingRow)) or 0),
                int(s.scalar(select(func.count()).select_from(OrderRow)) or 0),
            )
        return (*counts, self.pay.balance(self.guest))

    @invariant()
    def ledger_balances_and_matches_model(self) -> None:
        with self.sessions() as s:
            assert s.scalar(select(func.coalesce(func.sum(EntryRow.amount_fen), 0))) == 0
            unbalanced = s.scalar(
                select(func.count()).select_from(
                    select(EntryRow.posting_id)
                    .group_by(EntryRow.posting_id)
                    .having(func.sum(EntryRow.amount_fen) != 0)
                    .subquery()
                )
            )
            assert unbalanced == 0
            acct = s.scalars(select(PaymentAccountRow).where(PaymentAccountRow.kind == "guest")).first()
            if acct is not None:
                summed = s.scalar(
                    select(func.coalesce(func.sum(EntryRow.amount_fen), 0)).where(EntryRow.account_id == acct.id)
                )
                assert acct.signed_fen == summed
                assert -acct.signed_fen == self.expected_balance
                assert -acct.signed_fen >= 0
            dup_keys = s.scalar(
                select(func.count()).select_from(
                    select(PostingRow.idempotency_key)
                    .where(PostingRow.kind == "purchase")
                    .group_by(PostingRow.idempotency_key)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
            assert dup_keys == 0
            dup_pending = s.scalar(
                select(func.count()).select_from(
                    select(OrderRow.pending_id)
                    .where(OrderRow.pending_id.is_not(None))
                    .group_by(OrderRow.pending_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
            assert dup_pending == 0

    @invariant()
    def overdue_requests_are_not_pending(self) -> None:
        now = self.clock.now()
        for p in self.pay.list_pending(include_closed=True):
            if p.expires_at <= now:
                assert p.status.value != "pending"


PaymentMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestPaymentStateMachine = PaymentMachine.TestCase
