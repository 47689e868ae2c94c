from __future__ import annotations

import pytest

from soberpay.domain.identity import (
    Candidate,
    MatchStatus,
    decide_identification,
    decide_verification,
    mask_national_id,
    normalise_phone,
    prc_id_check_digit,
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


@pytest.mark.parametrize("raw,expected", [("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000")])
def test_phone_normalisation(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("bad", ["", "12800138000", "1380013800", "138001380001", "abc"])
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
