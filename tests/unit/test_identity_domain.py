from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from soberpay.domain.identity import (
    Candidate,
    MatchStatus,
    PasswordGuard,
    PasswordPolicy,
    decide_identification,
    decide_verification,
    mask_national_id,
    normalise_phone,
    prc_id_check_digit,
    reserve_attempt,
    settle_attempt,
    validate_national_id,
    validate_payment_password,
)
from soberpay.errors import InvalidInput

VALID_ID = "11010519491231002X"  # the GB 11643 worked example


def test_prc_id_checksum_worked_example() -> None:
    assert prc_id_check_digit(VALID_ID[:17]) == "X"
    assert validate_national_id(VALID_ID.lower()) == VALID_ID


@pytest.mark.parametrize(
    "bad",
    ["", "123", "110105194912310021", "11010519491331002X", "1101051949123100XX", "11010518991231002X"],
)
def test_invalid_national_ids_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidInput):
        validate_national_id(bad)


def test_mask_hides_birth_date_and_sequence() -> None:
    assert mask_national_id(VALID_ID) == "110***********002X"


SPELLINGS = [
    "13800000000", "+86 138-0000-0000", "(138) 0000 0000", "8613800000000", "+8613800000000",
    "0086 138 0000 0000", "138 0000 0000", "138-0000-0000", "+86(138)00000000", " 13800000000 ",
]


@pytest.mark.parametrize("raw", SPELLINGS)
def test_every_spelling_of_one_number_is_one_canonical_phone(raw: str) -> None:
    assert normalise_phone(raw) == "13800000000"


@pytest.mark.parametrize("bad", ["", "12800138000", "1380013800", "138001380001", "abc", "+1 650 253 0000"])
def test_bad_phones(bad: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_phone(bad)


@pytest.mark.parametrize("bad", ["12345", "1234567", "12345a", "", "１２３４５６"])
def test_password_must_be_six_ascii_digits(bad: str) -> None:
    with pytest.raises(InvalidInput):
        validate_payment_password(bad)


def test_identification_accepts_clear_winner() -> None:
    d = decide_identification([Candidate("a", 0.8), Candidate("b", 0.3)], threshold=0.4, min_margin=0.05)
    assert d.status is MatchStatus.ACCEPTED and d.guest_id == "a"
    assert d.margin == pytest.approx(0.5)
    assert "0.800" in d.explanation


def test_identification_abstains_on_near_tie() -> None:
    d = decide_identification([Candidate("a", 0.61), Candidate("b", 0.60)], threshold=0.4, min_margin=0.05)
    assert d.status is MatchStatus.AMBIGUOUS and d.guest_id is None


def test_identification_rejects_below_threshold_and_empty() -> None:
    assert decide_identification([Candidate("a", 0.2)], 0.4, 0.05).status is MatchStatus.REJECTED
    assert decide_identification([], 0.4, 0.05).status is MatchStatus.REJECTED


def test_verification() -> None:
    assert decide_verification("a", 0.5, 0.4).accepted
    assert not decide_verification("a", 0.3, 0.4).accepted


# --- the one payment-password lockout ------------------------------------------------------------

T0 = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
PW = PasswordPolicy(max_failures=5, lockout_minutes=15, max_lockout_minutes=60)


def _fail(guard: PasswordGuard, now: datetime = T0) -> tuple[PasswordGuard, bool, bool]:
    guard, allowed = reserve_attempt(guard, now, PW)
    if not allowed:
        return guard, False, False
    guard, locked_now = settle_attempt(guard, False, now, PW)
    return guard, True, locked_now


def test_five_failures_lock_and_the_right_password_is_not_even_checked_while_locked() -> None:
    g = PasswordGuard()
    for i in range(4):
        g, checked, locked_now = _fail(g)
        assert checked and not locked_now and g.failures == i + 1
    g, checked, locked_now = _fail(g)
    assert checked and locked_now and g.locked_until == T0 + timedelta(minutes=15) and g.lockouts == 1
    assert reserve_attempt(g, T0 + timedelta(minutes=14), PW) == (g, False)


def test_attempts_are_reserved_before_checking_so_parallel_guesses_get_at_most_five_checks() -> None:
    g, allowed = PasswordGuard(), 0
    for _ in range(50):  # 50 reservations before any check has finished
        g, ok = reserve_attempt(g, T0, PW)
        allowed += ok
    assert allowed == 5 and g.locked(T0) and g.lockouts == 1


def test_back_off_doubles_per_lockout_in_a_row_up_to_the_cap_and_a_right_password_clears_it() -> None:
    g, now, lengths = PasswordGuard(), T0, []
    for _ in range(4):
        for _ in range(5):
            g, _, _ = _fail(g, now)
        assert g.locked_until is not None
        lengths.append((g.locked_until - now).total_seconds() / 60)
        now = g.locked_until
    assert lengths == [15, 30, 60, 60]
    g, allowed = reserve_attempt(g, now, PW)
    assert allowed and g.failures == 1 and g.lockouts == 4
    assert settle_attempt(g, True, now, PW) == (PasswordGuard(), False)
