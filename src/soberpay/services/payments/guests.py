"""What payments needs from the identity and sobriety areas (``IdentityService`` satisfies
``GuestIdentity``), and the sobriety reading → risk observation conversion."""

from __future__ import annotations

from typing import Any, Protocol

from soberpay.domain.risk import SobrietyObservation

FACE_PAYMENT = "face_payment"


class GuestProfile(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def sex(self) -> str | None: ...
    @property
    def weight_kg(self) -> float | None: ...


class Identified(Protocol):
    @property
    def customer_id(self) -> str | None: ...
    @property
    def accepted(self) -> bool: ...
    @property
    def score(self) -> float: ...
    @property
    def explanation(self) -> str: ...


class Verified(Protocol):
    @property
    def accepted(self) -> bool: ...
    @property
    def score(self) -> float: ...


class GuestIdentity(Protocol):
    def identify(self, image: bytes) -> Identified: ...
    def verify(self, customer_id: str, image: bytes) -> Verified: ...
    def check_password(self, customer_id: str, password: str) -> bool: ...
    def find_by_phone(self, phone: str) -> GuestProfile: ...
    def get(self, customer_id: str) -> GuestProfile: ...
    def has_consent(self, customer_id: str, purpose: str) -> bool: ...


def observation_from_reading(reading: Any) -> SobrietyObservation:
    """Adapt the sobriety area's ``SobrietyReading`` (p_drunk, posture_abnormal, similarity_to_normal,
    state "sober"/"drunk"/"abstain", reason) to this area's input port value. ``abstain`` gives no verdict."""
    state = str(getattr(reading, "state", "") or "")
    judged = True if state == "drunk" else False if state == "sober" else None
    return SobrietyObservation(
        p_drunk=getattr(reading, "p_drunk", None),
        posture_abnormal=bool(getattr(reading, "posture_abnormal", False)),
        similarity_to_normal=getattr(reading, "similarity_to_normal", None),
        judged_drunk=judged,
        reason=str(getattr(reading, "reason", "") or "")[:200],
    )
