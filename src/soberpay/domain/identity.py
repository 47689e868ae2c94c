"""Identity: guests, consent, input validation and face-match decisions (pure Python).

Face matching arrives here as plain floats (similarity scores from an adapter); the domain decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from soberpay.errors import InvalidInput


class ConsentPurpose(StrEnum):
    FACE_PAYMENT = "face_payment"
    SOBRIETY_MONITORING = "sobriety_monitoring"


# The consent texts the kiosk shows now (files ``soberpay/assets/consent/<purpose>/<version>.<lang>.md``,
# read by ``soberpay.adapters.consent_texts``), in every language the venue speaks.
CONSENT_TEXT_VERSION = "2026-11-v1"
LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Guest:
    id: str
    name: str
    phone: str
    national_id_masked: str
    created_at: datetime
    sex: str | None = None  # "M" / "F", optional, used only for the BAC estimate
    weight_kg: float | None = None
    erased_at: datetime | None = None

    @property
    def erased(self) -> bool:
        return self.erased_at is not None


@dataclass(frozen=True)
class ConsentRecord:
    guest_id: str
    purpose: ConsentPurpose
    granted_at: datetime
    text_version: str
    revoked_at: datetime | None = None
    language: str = "en"  # the language of the text the guest was shown

    @property
    def active(self) -> bool:
        return self.revoked_at is None


# --- validation -------------------------------------------------------------------------------

_PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
PASSWORD_LENGTH = 6


def normalise_phone(raw: str) -> str:
    """Mainland mobile numbers: 11 digits starting 1[3-9]; accepts spaces, dashes and +86."""
    digits = re.sub(r"[\s\-()]", "", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not _PHONE_RE.match(digits):
        raise InvalidInput("phone must be an 11-digit mainland mobile number", field="phone")
    return digits


def prc_id_check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_national_id(raw: str) -> str:
    """18-digit PRC resident ID: region, valid birth date, ISO 7064 MOD 11-2 check digit."""
    value = (raw or "").strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise InvalidInput("ID number must be 18 characters: 17 digits and a digit or X", field="national_id")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise InvalidInput("ID number has an invalid birth date", field="national_id") from exc
    if born.year < 1900 or born > date.today():
        raise InvalidInput("ID number has an invalid birth date", field="national_id")
    if prc_id_check_digit(value[:17]) != value[17]:
        raise InvalidInput("ID number check digit does not match", field="national_id")
    return value


def mask_national_id(value: str) -> str:
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def validate_payment_password(raw: str) -> str:
    if not (isinstance(raw, str) and re.fullmatch(r"[0-9]{6}", raw)):
        raise InvalidInput("payment password must be exactly 6 digits", field="password")
    return raw


def validate_name(raw: str) -> str:
    name = (raw or "").strip()
    if not 1 <= len(name) <= 64:
        raise InvalidInput("name must be 1–64 characters", field="name")
    return name


def validate_sex(raw: str | None) -> str | None:
    if raw in (None, ""):
        return None
    value = str(raw).upper()
    if value not in ("M", "F"):
        raise InvalidInput("sex must be M or F when given", field="sex")
    return value


def validate_weight(raw: float | None) -> float | None:
    if raw is None:
        return None
    if not 25.0 <= float(raw) <= 300.0:
        raise InvalidInput("weight must be between 25 and 300 kg when given", field="weight_kg")
    return float(raw)


# --- face match decisions --------------------------------------------------------------------


class MatchStatus(StrEnum):
    ACCEPTED = "accepted"
    AMBIGUOUS = "ambiguous"  # best is above threshold but too close to the second-best guest
    REJECTED = "rejected"  # nobody above threshold


@dataclass(frozen=True)
class Candidate:
    guest_id: str
    score: float


@dataclass(frozen=True)
class IdentityDecision:
    status: MatchStatus
    guest_id: str | None
    score: float
    margin: float
    threshold: float
    explanation: str
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)

    @property
    def accepted(self) -> bool:
        return self.status is MatchStatus.ACCEPTED


@dataclass(frozen=True)
class VerificationDecision:
    guest_id: str
    accepted: bool
    score: float
    threshold: float
    explanation: str


def decide_identification(
    candidates: list[Candidate], threshold: float, min_margin: float
) -> IdentityDecision:
    """1:N decision over per-guest best scores, sorted or not.

    Abstains (AMBIGUOUS) rather than guesses when two guests are nearly tied: a wrong charge to
    the wrong guest is worse than asking for the phone number.
    """
    ranked = sorted(candidates, key=lambda c: c.score, reverse=True)
    if not ranked:
        return IdentityDecision(MatchStatus.REJECTED, None, 0.0, 0.0, threshold, "no enrolled faces", ())
    best = ranked[0]
    second = ranked[1].score if len(ranked) > 1 else -1.0
    margin = best.score - second if len(ranked) > 1 else 1.0
    if best.score < threshold:
        return IdentityDecision(
            MatchStatus.REJECTED,
            None,
            best.score,
            margin,
            threshold,
            f"best similarity {best.score:.3f} is below the threshold {threshold:.3f}",
            tuple(ranked),
        )
    if margin < min_margin:
        return IdentityDecision(
            MatchStatus.AMBIGUOUS,
            None,
            best.score,
            margin,
            threshold,
            f"two guests match (lead {margin:.3f} < required {min_margin:.3f}); use phone and password",
            tuple(ranked),
        )
    return IdentityDecision(
        MatchStatus.ACCEPTED,
        best.guest_id,
        best.score,
        margin,
        threshold,
        f"similarity {best.score:.3f} ≥ threshold {threshold:.3f}, lead over next guest {margin:.3f}",
        tuple(ranked),
    )


def decide_verification(guest_id: str, score: float, threshold: float) -> VerificationDecision:
    ok = score >= threshold
    verb = "≥" if ok else "<"
    return VerificationDecision(
        guest_id, ok, score, threshold, f"similarity {score:.3f} {verb} threshold {threshold:.3f}"
    )
