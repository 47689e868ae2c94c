from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from soberpay.domain.ledger import (
    VENUE_CASH,
    VENUE_REFUNDS,
    VENUE_REVENUE,
    Bill,
    BillLine,
    Entry,
    Ledger,
    Posting,
    PostingKind,
    available_after,
    guest_account,
    payout_entries,
    purchase_entries,
    refund_entries,
    settlement_entries,
    topup_entries,
)
from soberpay.errors import InvalidInput, PaymentRefused

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


def _post(ledger: Ledger, kind: PostingKind, entries: tuple[Entry, ...]) -> None:
    ledger.post(Posting(f"p{len(ledger.postings)}", kind, NOW, entries))


def test_topup_purchase_refund_balance() -> None:
    led = Ledger()
    _post(led, PostingKind.TOPUP, topup_entries("g", 10_000))
    _post(led, PostingKind.PURCHASE, purchase_entries("g", 3_000))
    _post(led, PostingKind.REFUND, refund_entries("g", 500))
    assert led.guest_balance("g") == 7_500
    assert led.signed(VENUE_CASH) == 10_000
    assert led.signed(VENUE_REVENUE) == -3_000
    assert led.signed(VENUE_REFUNDS) == 500
    assert led.trial_balance() == 0


def test_tab_settlement_and_payout() -> None:
    led = Ledger()
    _post(led, PostingKind.PURCHASE, purchase_entries("g", 2_000))  # tab: guest owes 20 yuan
    assert led.guest_balance("g") == -2_000
    _post(led, PostingKind.SETTLEMENT, settlement_entries("g", 2_000))
    assert led.guest_balance("g") == 0
    _post(led, PostingKind.TOPUP, topup_entries("g", 1_000))
    _post(led, PostingKind.PAYOUT, payout_entries("g", 1_000))
    assert led.guest_balance("g") == 0 and led.trial_balance() == 0


def test_unbalanced_or_bad_postings_rejected() -> None:
    with pytest.raises(InvalidInput):
        Posting("x", PostingKind.PURCHASE, NOW, (Entry("a", 100), Entry("b", -99)))
    with pytest.raises(InvalidInput):
        Posting("x", PostingKind.PURCHASE, NOW, (Entry("a", 100),))
    with pytest.raises(InvalidInput):
        Posting("x", PostingKind.PURCHASE, NOW, (Entry("a", 0), Entry("b", 0)))
    for bad in (0, -5, 1.5, True):
        with pytest.raises(InvalidInput):
            purchase_entries("g", bad)  # type: ignore[arg-type]


def test_duplicate_posting_id_rejected() -> None:
    led = Ledger()
    p = Posting("same", PostingKind.TOPUP, NOW, topup_entries("g", 100))
    led.post(p)
    with pytest.raises(InvalidInput):
        led.post(p)


def test_available_after_respects_credit_limit() -> None:
    assert available_after(1_000, 1_000, 0) == 0
    with pytest.raises(PaymentRefused):
        available_after(1_000, 1_001, 0)
    assert available_after(0, 5_000, 5_000) == -5_000


@given(st.lists(st.tuples(st.sampled_from(["topup", "purchase", "refund"]), st.integers(1, 10**7)), max_size=40))
def test_any_sequence_of_postings_balances(ops: list[tuple[str, int]]) -> None:
    led = Ledger()
    makers = {"topup": topup_entries, "purchase": purchase_entries, "refund": refund_entries}
    for op, amount in ops:
        _post(led, PostingKind(op), makers[op]("g", amount))
    assert led.trial_balance() == 0
    assert led.guest_balance("g") == -led.signed(guest_account("g"))


def test_bill_totals_and_render() -> None:
    lines = (
        BillLine(NOW, "beer", "Beer", "beer", 2, 1_800, 3_600),
        BillLine(NOW, "whisky", "Whisky", "liquor", 1, 38_800, 38_800, "confirmed after recovery"),
    )
    bill = Bill("g", "v", NOW, NOW, lines, refunds_fen=1_800, discarded=("1 × Cake — expired",))
    assert bill.subtotal_fen == 42_400 and bill.total_fen == 40_600
    text = bill.render()
    assert "¥424.00" in text and "confirmed after recovery" in text and "not charged" in text
