from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from soberpay.domain.catalogue import Category, Item, TierPolicy, tier_of
from soberpay.domain.identity import PasswordGuard, PasswordPolicy
from soberpay.domain.purchase import (
    Auth,
    Outcome,
    PendingStatus,
    PurchaseContext,
    StoredResult,
    decide_confirm,
    decide_purchase,
    discard_pending,
    expire_if_due,
    fingerprint,
    new_pending,
    replay,
    validate_idempotency_key,
    validate_quantity,
)
from soberpay.domain.risk import RiskRecord, RiskState, TagSource
from soberpay.errors import Conflict, InvalidInput

T0 = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
PW = PasswordPolicy(max_failures=5, lockout_minutes=15)
TIERS = TierPolicy(10_000)
BEER = Item("beer", "Beer", Category.BEER, 1_800, 330, 4.3)
SNACK = Item("snack", "Snack platter", Category.SNACK, 6_800)  # regular even while tagged (no alcohol)
WHISKY = Item("whisky", "Whisky", Category.LIQUOR, 38_800, 700, 40)
SHOT = Item("shot", "Shot", Category.LIQUOR, 3_500, 30, 40)
NORMAL = RiskRecord("g")
TAGGED = RiskRecord("g", RiskState.TAGGED, tag_source=TagSource.SOBRIETY, tag_reason="judged drunk", tagged_at=T0)
FACE = Auth("face", face_verified=True, face_score=0.8)


def ctx(item: Item = BEER, risk: RiskRecord = NORMAL, auth: Auth = FACE, qty: int = 1, balance: int = 100_000,
        guard: PasswordGuard | None = None, now: datetime = T0) -> PurchaseContext:
    return PurchaseContext("g" * 32, item, qty, tier_of(item, TIERS, risk.tagged, qty), risk, auth,
                           guard or PasswordGuard(), balance, 0, now)


def test_untagged_proceeds() -> None:
    d = decide_purchase(ctx(), PW)
    assert d.outcome is Outcome.CHARGED and d.charge_fen == 1_800 and d.rule == "untagged"
    assert d.events[0].action == "payment.charged" and d.moves_state


def test_untagged_high_price_proceeds() -> None:
    assert decide_purchase(ctx(WHISKY), PW).outcome is Outcome.CHARGED


def test_tagged_high_price_is_suspended_not_charged() -> None:
    d = decide_purchase(ctx(WHISKY, TAGGED), PW)
    assert d.outcome is Outcome.SUSPENDED and d.charge_fen == 0 and d.rule == "tagged_high_price"
    assert d.notifications and d.notifications[0].kind == "suspended"
    assert "judged drunk" in d.explanation and "pending request" in d.explanation


def test_tagged_cheap_liquor_is_suspended() -> None:
    assert decide_purchase(ctx(SHOT, TAGGED), PW).outcome is Outcome.SUSPENDED


def test_tagged_beer_is_suspended_too() -> None:
    assert decide_purchase(ctx(BEER, TAGGED, Auth("face", True, 0.8, password_ok=True)), PW).outcome \
        is Outcome.SUSPENDED


def test_recovering_counts_as_tagged() -> None:
    rec = replace(TAGGED, state=RiskState.RECOVERING)
    assert decide_purchase(ctx(WHISKY, rec), PW).outcome is Outcome.SUSPENDED


def test_tagged_regular_needs_face_and_password() -> None:
    d = decide_purchase(ctx(SNACK, TAGGED, Auth("face", face_verified=True)), PW)
    assert d.outcome is Outcome.VERIFICATION_REQUIRED and d.requires == ("password",)
    d = decide_purchase(ctx(SNACK, TAGGED, Auth("guest_id")), PW)
    assert d.requires == ("face", "password") and not d.moves_state
    d = decide_purchase(ctx(SNACK, TAGGED, Auth("face", True, 0.8, password_ok=True)), PW)
    assert d.outcome is Outcome.CHARGED and d.rule == "dual_verified"


def test_tagged_without_face_consent_needs_staff() -> None:
    d = decide_purchase(ctx(SNACK, TAGGED, Auth("phone", password_ok=True, face_available=False)), PW)
    assert d.outcome is Outcome.REFUSED and d.rule == "dual_verification_unavailable"
    assert d.notifications[0].kind == "staff_required"


def test_face_mismatch_rejected() -> None:
    d = decide_purchase(ctx(SNACK, TAGGED, Auth("guest_id", face_verified=False, face_score=0.1, password_ok=True)),
                        PW)
    assert d.outcome is Outcome.FACE_REJECTED


def test_phone_needs_password() -> None:
    d = decide_purchase(ctx(BEER, NORMAL, Auth("phone")), PW)
    assert d.outcome is Outcome.VERIFICATION_REQUIRED and d.requires == ("password",)
    assert decide_purchase(ctx(BEER, NORMAL, Auth("phone", password_ok=True)), PW).outcome is Outcome.CHARGED


def test_insufficient_balance_refused() -> None:
    d = decide_purchase(ctx(BEER, balance=1_000), PW)
    assert d.outcome is Outcome.REFUSED and d.rule == "insufficient_balance" and d.charge_fen == 0


def test_wrong_password_is_refused_with_attempts_left_and_locked_reports_lockout() -> None:
    # The attempt is counted by the identity service (tests/unit/test_identity_domain.py); the purchase
    # decision reports the guard as it stands after that attempt and never writes it.
    wrong = Auth("face", True, 0.8, password_ok=False)
    d = decide_purchase(ctx(SNACK, TAGGED, wrong, guard=PasswordGuard(1)), PW)
    assert d.outcome is Outcome.PASSWORD_REJECTED and "4 attempt(s) left" in d.explanation
    locked = PasswordGuard(5, T0 + timedelta(minutes=15), 1)
    d = decide_purchase(ctx(WHISKY, TAGGED, wrong, guard=locked), PW)
    assert d.outcome is Outcome.LOCKED_OUT and d.charge_fen == 0
    right = Auth("face", True, 0.8, password_ok=True)
    assert decide_purchase(ctx(SNACK, TAGGED, right, guard=PasswordGuard()), PW).outcome is Outcome.CHARGED


def test_quantity_validation() -> None:
    for bad in (0, -1, 100, 1.5, True):
        with pytest.raises(InvalidInput):
            validate_quantity(bad)  # type: ignore[arg-type]


# --- pending requests ---------------------------------------------------------------------------


def pending(now: datetime = T0):  # type: ignore[no-untyped-def]
    return new_pending("r1", ctx(WHISKY, TAGGED), "v1", "judged drunk", expiry_minutes=30)


def test_pending_keeps_original_price_and_expires_after_30_min() -> None:
    req = pending()
    assert req.unit_price_fen == 38_800 and req.expires_at == T0 + timedelta(minutes=30)
    assert expire_if_due(req, T0 + timedelta(minutes=29)).status is PendingStatus.PENDING
    assert expire_if_due(req, T0 + timedelta(minutes=30)).status is PendingStatus.EXPIRED


def test_confirm_only_after_recovery_and_charges_original_price() -> None:
    req = pending()
    still = decide_confirm(req, TAGGED, T0 + timedelta(minutes=5), True, 100_000, 0)
    assert still.outcome is Outcome.REFUSED and still.rule == "still_tagged" and still.request.open
    ok = decide_confirm(req, NORMAL, T0 + timedelta(minutes=20), True, 100_000, 0)
    assert ok.outcome is Outcome.CHARGED and ok.charge_fen == 38_800
    assert ok.request.status is PendingStatus.CONFIRMED


def test_confirm_needs_authentication_and_funds() -> None:
    req = pending()
    assert decide_confirm(req, NORMAL, T0, False, 100_000, 0).outcome is Outcome.VERIFICATION_REQUIRED
    poor = decide_confirm(req, NORMAL, T0, True, 100, 0)
    assert poor.outcome is Outcome.REFUSED and poor.request.open


def test_confirm_after_expiry_cancels() -> None:
    d = decide_confirm(pending(), NORMAL, T0 + timedelta(minutes=31), True, 100_000, 0)
    assert d.outcome is Outcome.REFUSED and d.request.status is PendingStatus.EXPIRED and d.charge_fen == 0


def test_confirm_or_discard_twice_conflicts() -> None:
    done = decide_confirm(pending(), NORMAL, T0, True, 100_000, 0).request
    with pytest.raises(Conflict):
        decide_confirm(done, NORMAL, T0, True, 100_000, 0)
    with pytest.raises(Conflict):
        discard_pending(done, T0, "x")
    gone = discard_pending(pending(), T0, "guest changed mind")
    assert gone.status is PendingStatus.DISCARDED
    with pytest.raises(Conflict):
        decide_confirm(gone, NORMAL, T0, True, 100_000, 0)


# --- idempotency --------------------------------------------------------------------------------


def test_idempotency_replay_and_conflict() -> None:
    fp = fingerprint("purchase", {"guest_id": "g", "sku": "beer", "quantity": 1})
    assert fp == fingerprint("purchase", {"quantity": 1, "sku": "beer", "guest_id": "g"})
    stored = StoredResult("key-12345", "purchase", fp, {"outcome": "charged"})
    assert replay(None, "purchase", fp) is None
    assert replay(stored, "purchase", fp) == {"outcome": "charged"}
    other = fingerprint("purchase", {"guest_id": "g", "sku": "beer", "quantity": 2})
    with pytest.raises(Conflict):
        replay(stored, "purchase", other)
    with pytest.raises(Conflict):
        replay(stored, "topup", fp)


@pytest.mark.parametrize("bad", [None, "", "short", "has space in it", "x" * 129, "ключ-12345"])
def test_idempotency_key_format(bad: str | None) -> None:
    with pytest.raises(InvalidInput):
        validate_idempotency_key(bad)
