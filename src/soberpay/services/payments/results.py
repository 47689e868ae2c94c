"""What the payment use cases return (plain frozen dataclasses), and the JSON form of the results
stored under an idempotency key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from soberpay.domain.ledger import Bill, BillLine
from soberpay.domain.purchase import Outcome, PaymentRule, PendingRequest
from soberpay.domain.risk import RiskStep
from soberpay.ports import LedgerLine


@dataclass(frozen=True)
class PaymentResult:
    """Machine-readable outcome + human explanation of one decision (stored for idempotent replay)."""

    outcome: Outcome
    rule: PaymentRule
    explanation: str
    guest_id: str
    sku: str = ""
    quantity: int = 0
    amount_fen: int = 0
    charged_fen: int = 0
    balance_fen: int = 0
    visit_id: str | None = None
    order_id: str | None = None
    posting_id: str | None = None
    pending_id: str | None = None
    requires: tuple[str, ...] = ()
    risk_state: str = "normal"
    risk_level: str = "low"
    risk_explanation: str = ""
    signals: tuple[str, ...] = ()
    unlocked_pending: tuple[str, ...] = ()  # pending requests now open for confirmation
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["outcome"] = self.outcome.value
        d["rule"] = self.rule.value
        d["requires"] = list(self.requires)
        d["signals"] = list(self.signals)
        d["unlocked_pending"] = list(self.unlocked_pending)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], replayed: bool = False) -> PaymentResult:
        data = dict(d)
        for k in ("requires", "signals", "unlocked_pending"):
            data[k] = tuple(data.get(k) or ())
        data["outcome"] = Outcome(data["outcome"])
        data["rule"] = PaymentRule(data["rule"])
        data["replayed"] = replayed
        return cls(**data)


@dataclass(frozen=True)
class RiskView:
    guest_id: str
    state: str
    level: str
    tag_reason: str
    explanation: str
    signals: tuple[str, ...]
    pending: tuple[PendingRequest, ...]
    unlocked: bool = False

    @classmethod
    def from_step(cls, guest_id: str, st: RiskStep, pending: tuple[PendingRequest, ...]) -> RiskView:
        rec = st.record
        return cls(
            guest_id, rec.state.value, rec.level.value, rec.tag_reason, st.explain(), st.signals, pending, st.unlocked
        )


@dataclass(frozen=True)
class TopupResult:
    guest_id: str
    amount_fen: int
    balance_fen: int
    posting_id: str
    replayed: bool = False


@dataclass(frozen=True)
class CheckoutResult:
    bill: Bill
    settled_fen: int  # tab paid at the counter
    paid_out_fen: int  # prepaid balance given back
    balance_fen: int
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["bill"]["lines"] = [asdict(line) for line in self.bill.lines]
        d["bill"]["discarded"] = list(self.bill.discarded)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CheckoutResult:
        """A stored checkout, replayed."""
        b = d["bill"]
        lines = tuple(BillLine(**{**line, "at": _dt(line["at"])}) for line in b["lines"])
        bill = Bill(
            b["guest_id"],
            b["visit_id"],
            _dt(b["opened_at"]),
            _dt(b["closed_at"]) if b.get("closed_at") else None,
            lines,
            b["refunds_fen"],
            b["opening_balance_fen"],
            b["closing_balance_fen"],
            tuple(b["discarded"]),
        )
        return cls(bill, d["settled_fen"], d["paid_out_fen"], d["balance_fen"], replayed=True)


@dataclass(frozen=True)
class LedgerView:
    lines: tuple[LedgerLine, ...]
    account_sums: dict[str, int]  # debit-positive
    trial_balance: int
    guest_balances: dict[str, int] = field(default_factory=dict)


def _dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
