"""Identity: guests, consent, input validation and face-match decisions (pure Python).

Face matching arrives here as plain floats (similarity scores from an adapter); the domain decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from statistics import NormalDist

import phonenumbers

from soberpay.errors import InvalidInput


class ConsentPurpose(StrEnum):
    FACE_PAYMENT = "face_payment"
    SOBRIETY_MONITORING = "sobriety_monitoring"
    BEHAVIOUR_PROFILING = "behaviour_profiling"  # spending history + LSTM; off: current-visit rules only


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
    """The canonical form of a mainland mobile number (11 digits, 1[3-9]…), used for every lookup and limit.

    Parsed by ``phonenumbers`` with default region CN, so ``+86 138-0000-0000``, ``(138) 0000 0000``,
    ``0086…`` and ``8613800000000`` are one number: keying a limit on the string as typed let 50
    spellings of one number dodge it."""
    try:
        parsed = phonenumbers.parse(raw or "", "CN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("phone must be an 11-digit mainland mobile number", field="phone") from exc
    digits = str(parsed.national_number)
    if parsed.country_code != 86 or not _PHONE_RE.match(digits) or not phonenumbers.is_valid_number(parsed):
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


# --- payment password lockout (one per guest, whatever the entry point) ------------------------


@dataclass(frozen=True)
class PasswordPolicy:
    max_failures: int = 5
    lockout_minutes: float = 15.0  # the first lockout; each further one in a row doubles it
    max_lockout_minutes: float = 1440.0

    def lockout_length(self, lockouts_before: int) -> timedelta:
        return timedelta(minutes=min(self.max_lockout_minutes, self.lockout_minutes * 2 ** min(lockouts_before, 16)))


@dataclass(frozen=True)
class PasswordGuard:
    """Attempt counter of one guest's payment password.

    An attempt is counted *before* the password is checked and forgiven when it turns out right: the
    count is reserved atomically in the database, so parallel guesses (several workers, several
    processes) can never run more than ``max_failures`` checks before the lock."""

    failures: int = 0
    locked_until: datetime | None = None
    lockouts: int = 0  # lockouts since the last correct password: drives the growing back-off

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def remaining(self, policy: PasswordPolicy) -> int:
        return max(0, policy.max_failures - self.failures)


def lock_guard(guard: PasswordGuard, now: datetime, policy: PasswordPolicy) -> PasswordGuard:
    return PasswordGuard(guard.failures, now + policy.lockout_length(guard.lockouts), guard.lockouts + 1)


def reserve_attempt(guard: PasswordGuard, now: datetime, policy: PasswordPolicy) -> tuple[PasswordGuard, bool]:
    """Count one attempt before checking; ``(new guard, may check)``.

    Refused while locked. When every allowed attempt is already counted (checks in flight, or a process
    died mid-check) the guest is locked now instead of checking again."""
    if guard.locked(now):
        return guard, False
    if guard.locked_until is not None:  # an old lockout ran out: a fresh set of attempts, the back-off remembered
        guard = replace(guard, failures=0, locked_until=None)
    if guard.failures >= policy.max_failures:
        return lock_guard(guard, now, policy), False
    return replace(guard, failures=guard.failures + 1), True


def settle_attempt(guard: PasswordGuard, ok: bool, now: datetime, policy: PasswordPolicy) -> tuple[PasswordGuard, bool]:
    """Record a checked attempt; ``(new guard, locked by this attempt)``. A right password clears everything."""
    if ok:
        return PasswordGuard(), False
    if guard.locked(now) or guard.failures < policy.max_failures:
        return guard, False
    return lock_guard(guard, now, policy), True


@dataclass(frozen=True)
class PasswordCheck:
    """The answer to one payment-password attempt."""

    ok: bool
    guard: PasswordGuard
    locked_now: bool = False  # this attempt triggered the lockout

    def locked(self, now: datetime) -> bool:
        return self.guard.locked(now)

    def explanation(self, policy: PasswordPolicy) -> str:
        if self.ok:
            return "payment password correct"
        if self.guard.locked_until is not None:
            return (
                f"payment password locked until {self.guard.locked_until:%H:%M} UTC after "
                f"{policy.max_failures} wrong attempts; staff have been notified"
            )
        return f"wrong payment password ({self.guard.remaining(policy)} attempt(s) left before lockout)"


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


def gallery_threshold(
    base: float, comparisons: int, impostor_mean: float, impostor_std: float, false_accepts_per_search: float
) -> float:
    """The 1:N acceptance threshold for a search that compares a face with ``comparisons`` templates.

    An unenrolled face is falsely accepted when *any* comparison clears the threshold, about
    ``comparisons × FAR`` of the time, so the per-comparison FAR must shrink as the gallery grows:
    the threshold is the impostor-score quantile for ``false_accepts_per_search / comparisons``
    under a normal fit of measured impostor cosines, and never below the 1:1 ``base``. The fit is
    an extrapolation beyond the measured tail (docs/scaling.md gives the figures and their limits).
    """
    if comparisons <= 1 or impostor_std <= 0:
        return base
    far = min(0.5, false_accepts_per_search / comparisons)
    return max(base, impostor_mean + impostor_std * NormalDist().inv_cdf(1.0 - far))


def validate_phone_last4(digits: str) -> str:
    """The last four digits of a phone number, the hint that narrows 1:N in large galleries."""
    digits = (digits or "").strip()
    if not re.fullmatch(r"[0-9]{4}", digits):
        raise InvalidInput("enter the last 4 digits of the phone number", field="phone_last4")
    return digits


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
