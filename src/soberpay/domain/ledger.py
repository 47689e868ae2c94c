"""Double-entry ledger in integer fen (pure Python).

Every money movement is a ``Posting`` of two or more entries whose signed amounts sum to zero
(debit positive, credit negative). Accounts:

=========================  =========  ================================================================
account id                 normal     meaning
=========================  =========  ================================================================
``guest:<guest id>``    credit     the guest's prepaid balance (positive) or open tab (negative)
``venue:cash``             debit      money received at the counter (top-ups, tab settlement)
``venue:revenue``          credit     sales
``venue:refunds``          debit      refunds given (contra-revenue)
``venue:clearing:<ch>``    debit      paid by a guest through a payment channel (WeChat Pay, Alipay), owed
                                      to the venue by that provider until it settles to the bank
=========================  =========  ================================================================

A guest's *available balance* is credits minus debits on their account. Purchases may take it
below zero only down to the venue's tab credit limit (default 0: prepaid only). Checkout settles a
negative tab from the counter and may pay a positive balance back out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from soberpay.domain.catalogue import fen_to_yuan
from soberpay.errors import InvalidInput, PaymentRefused

VENUE_CASH = "venue:cash"
VENUE_REVENUE = "venue:revenue"
VENUE_REFUNDS = "venue:refunds"
TOPUP_CHANNELS = ("wechat", "alipay")
# One clearing account per channel: the provider's settlement statement is reconciled against it.
CLEARING_ACCOUNTS = tuple(f"venue:clearing:{c}" for c in TOPUP_CHANNELS)
VENUE_ACCOUNTS = (VENUE_CASH, VENUE_REVENUE, VENUE_REFUNDS, *CLEARING_ACCOUNTS)


def clearing_account(channel: str) -> str:
    if channel not in TOPUP_CHANNELS:
        raise InvalidInput(f"unknown top-up channel {channel!r}", field="channel")
    return f"venue:clearing:{channel}"


def guest_account(guest_id: str) -> str:
    return f"guest:{guest_id}"


class PostingKind(StrEnum):
    TOPUP = "topup"
    PURCHASE = "purchase"
    REFUND = "refund"
    SETTLEMENT = "settlement"  # tab paid at the counter at checkout
    PAYOUT = "payout"  # prepaid balance paid back at checkout


@dataclass(frozen=True)
class Entry:
    account: str
    amount_fen: int  # > 0 debit, < 0 credit


@dataclass(frozen=True)
class Posting:
    id: str
    kind: PostingKind
    at: datetime
    entries: tuple[Entry, ...]
    memo: str = ""
    guest_id: str | None = None
    visit_id: str | None = None

    def __post_init__(self) -> None:
        validate_entries(self.entries)

    @property
    def amount_fen(self) -> int:
        """The money moved (sum of debits)."""
        return sum(e.amount_fen for e in self.entries if e.amount_fen > 0)


def validate_entries(entries: Sequence[Entry]) -> None:
    if len(entries) < 2:
        raise InvalidInput("a posting needs at least two entries")
    for e in entries:
        if isinstance(e.amount_fen, bool) or not isinstance(e.amount_fen, int):
            raise InvalidInput("ledger amounts are integer fen")
        if e.amount_fen == 0:
            raise InvalidInput("zero ledger entry")
    if sum(e.amount_fen for e in entries) != 0:
        raise InvalidInput("unbalanced posting: debits and credits differ")


def _positive(amount_fen: int, what: str) -> int:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise InvalidInput(f"{what} must be a positive integer number of fen", field="amount")
    return amount_fen


def topup_entries(guest_id: str, amount_fen: int) -> tuple[Entry, ...]:
    amount_fen = _positive(amount_fen, "top-up")
    return (Entry(VENUE_CASH, amount_fen), Entry(guest_account(guest_id), -amount_fen))


def channel_topup_entries(guest_id: str, amount_fen: int, channel: str) -> tuple[Entry, ...]:
    """A top-up paid through a provider: the provider owes the venue, the guest's balance grows."""
    amount_fen = _positive(amount_fen, "top-up")
    return (Entry(clearing_account(channel), amount_fen), Entry(guest_account(guest_id), -amount_fen))


def purchase_entries(guest_id: str, amount_fen: int) -> tuple[Entry, ...]:
    amount_fen = _positive(amount_fen, "charge")
    return (Entry(guest_account(guest_id), amount_fen), Entry(VENUE_REVENUE, -amount_fen))


def refund_entries(guest_id: str, amount_fen: int) -> tuple[Entry, ...]:
    amount_fen = _positive(amount_fen, "refund")
    return (Entry(VENUE_REFUNDS, amount_fen), Entry(guest_account(guest_id), -amount_fen))


def settlement_entries(guest_id: str, amount_fen: int) -> tuple[Entry, ...]:
    amount_fen = _positive(amount_fen, "settlement")
    return (Entry(VENUE_CASH, amount_fen), Entry(guest_account(guest_id), -amount_fen))


def payout_entries(guest_id: str, amount_fen: int) -> tuple[Entry, ...]:
    amount_fen = _positive(amount_fen, "payout")
    return (Entry(guest_account(guest_id), amount_fen), Entry(VENUE_CASH, -amount_fen))


def available_after(balance_fen: int, charge_fen: int, credit_limit_fen: int) -> int:
    """Balance after a charge, or ``PaymentRefused`` when it would pass the tab limit."""
    after = balance_fen - charge_fen
    if after < -credit_limit_fen:
        raise PaymentRefused(
            f"insufficient balance: {fen_to_yuan(balance_fen)} available, {fen_to_yuan(charge_fen)} needed",
            rule="insufficient_balance",
            balance_fen=balance_fen,
            needed_fen=charge_fen,
        )
    return after


def balances(postings: Iterable[Posting]) -> dict[str, int]:
    """Signed (debit-positive) sums per account."""
    out: dict[str, int] = defaultdict(int)
    for p in postings:
        for e in p.entries:
            out[e.account] += e.amount_fen
    return dict(out)


def guest_balance(signed: Mapping[str, int], guest_id: str) -> int:
    """Available balance = credits − debits on the guest account."""
    return -signed.get(guest_account(guest_id), 0)


def trial_balance(postings: Iterable[Posting]) -> int:
    """Sum over all accounts; 0 for a sound ledger."""
    return sum(balances(postings).values())


class Ledger:
    """In-memory ledger: used by the pure tests and the stateful model; the DB mirrors it row by row."""

    def __init__(self) -> None:
        self._postings: list[Posting] = []
        self._signed: dict[str, int] = defaultdict(int)

    def post(self, posting: Posting) -> Posting:
        if any(p.id == posting.id for p in self._postings):
            raise InvalidInput(f"posting {posting.id} already recorded")
        self._postings.append(posting)
        for e in posting.entries:
            self._signed[e.account] += e.amount_fen
        return posting

    @property
    def postings(self) -> tuple[Posting, ...]:
        return tuple(self._postings)

    def signed(self, account: str) -> int:
        return self._signed.get(account, 0)

    def guest_balance(self, guest_id: str) -> int:
        return -self.signed(guest_account(guest_id))

    def trial_balance(self) -> int:
        return sum(self._signed.values())


# --- itemised bill -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BillLine:
    at: datetime
    sku: str
    name: str
    category: str
    quantity: int
    unit_price_fen: int
    amount_fen: int
    note: str = ""  # "dual verification", "confirmed after recovery", "refunded"
    order_id: str = ""
    refunded_fen: int = 0  # of this line, already inside the bill's refunds_fen


@dataclass(frozen=True)
class Bill:
    guest_id: str
    visit_id: str
    opened_at: datetime
    closed_at: datetime | None
    lines: tuple[BillLine, ...]
    refunds_fen: int = 0
    opening_balance_fen: int = 0
    closing_balance_fen: int = 0
    discarded: tuple[str, ...] = field(default_factory=tuple)  # pending requests cancelled, human lines

    @property
    def subtotal_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def total_fen(self) -> int:
        return self.subtotal_fen - self.refunds_fen

    def render(self) -> str:
        out = [f"Bill for visit {self.visit_id}"]
        for line in self.lines:
            note = f"  ({line.note})" if line.note else ""
            out.append(
                f"  {line.quantity:>2} × {line.name:<28} {fen_to_yuan(line.unit_price_fen):>10}"
                f" {fen_to_yuan(line.amount_fen):>11}{note}"
            )
        out.append(f"  subtotal {fen_to_yuan(self.subtotal_fen)}")
        if self.refunds_fen:
            out.append(f"  refunds  -{fen_to_yuan(self.refunds_fen)}")
        out.append(f"  total    {fen_to_yuan(self.total_fen)}")
        for d in self.discarded:
            out.append(f"  not charged: {d}")
        return "\n".join(out)


def bill_lines_total(lines: Iterable[BillLine]) -> int:
    return sum(line.amount_fen for line in lines)


__all__ = [
    "CLEARING_ACCOUNTS",
    "TOPUP_CHANNELS",
    "VENUE_ACCOUNTS",
    "VENUE_CASH",
    "VENUE_REFUNDS",
    "VENUE_REVENUE",
    "Bill",
    "BillLine",
    "Entry",
    "Ledger",
    "Posting",
    "PostingKind",
    "available_after",
    "balances",
    "bill_lines_total",
    "channel_topup_entries",
    "clearing_account",
    "guest_account",
    "guest_balance",
    "payout_entries",
    "purchase_entries",
    "refund_entries",
    "settlement_entries",
    "topup_entries",
    "trial_balance",
    "validate_entries",
]
