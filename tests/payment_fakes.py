"""Hand-written fakes for the payment service's ports: identity, sobriety signal, behaviour scorer, clock.

FakeIdentity stores guests in memory and (when given a session factory) also inserts the
``guests`` row the payment tables reference. Face "images" are ``b"face:<guest id>"``;
anything else is an unknown face. Passwords are kept in memory in clear — fakes only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from soberpay.adapters.db.identity_tables import GuestRow
from soberpay.domain.identity import PasswordCheck, PasswordPolicy, reserve_attempt, settle_attempt
from soberpay.domain.risk import SobrietyObservation
from soberpay.errors import NotFound
from soberpay.ports import Clock, UnitOfWorkFactory


@dataclass(frozen=True)
class FakeGuest:
    id: str
    name: str
    phone: str
    sex: str | None = None
    weight_kg: float | None = None


@dataclass(frozen=True)
class FakeIdentityDecision:
    guest_id: str | None
    accepted: bool
    score: float
    margin: float
    explanation: str


@dataclass(frozen=True)
class FakeVerification:
    accepted: bool
    score: float


def face(guest_id: str) -> bytes:
    return f"face:{guest_id}".encode()


@dataclass
class FakeIdentity:
    sessions: sessionmaker[Session] | None = None
    guests: dict[str, FakeGuest] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    consents: set[str] = field(default_factory=set)
    password_checks: int = 0
    # The one lockout lives in the payments' store (``password_guards``): bind them with ``lockout_in``.
    uow: UnitOfWorkFactory | None = None
    clock: Clock | None = None
    policy: PasswordPolicy = field(default_factory=PasswordPolicy)

    def lockout_in(self, uow: UnitOfWorkFactory, clock: Clock, policy: PasswordPolicy) -> FakeIdentity:
        self.uow, self.clock, self.policy = uow, clock, policy
        return self

    def add(
        self,
        name: str = "Guest",
        password: str = "123456",
        sex: str | None = None,
        weight_kg: float | None = None,
        face_consent: bool = True,
        phone: str | None = None,
    ) -> FakeGuest:
        guest_id = uuid.uuid4().hex
        phone = phone or f"139{len(self.guests):08d}"
        c = FakeGuest(guest_id, name, phone, sex, weight_kg)
        self.guests[guest_id] = c
        self.passwords[guest_id] = password
        if face_consent:
            self.consents.add(guest_id)
        if self.sessions is not None:
            with self.sessions.begin() as s:
                s.add(
                    GuestRow(
                        id=guest_id, name=name, phone=phone, sex=sex, weight_kg=weight_kg, created_at=datetime.now(UTC)
                    )
                )
        return c

    def get(self, guest_id: str) -> FakeGuest:
        try:
            return self.guests[guest_id]
        except KeyError:
            raise NotFound("unknown guest", guest_id=guest_id) from None

    def find_by_phone(self, phone: str) -> FakeGuest:
        for c in self.guests.values():
            if c.phone == phone:
                return c
        raise NotFound("no guest with this phone number")

    def has_consent(self, guest_id: str, purpose: str) -> bool:
        return purpose == "face_payment" and guest_id in self.consents

    def check_password(self, guest_id: str, password: str, actor: str = "guest") -> PasswordCheck:
        """The real service's counting (reserve, check, settle) in one step; the fake has no parallelism."""
        assert self.uow is not None and self.clock is not None, "call lockout_in() first"
        now = self.clock.now()
        with self.uow() as uow:
            guard, allowed = reserve_attempt(uow.payments.guard(guest_id), now, self.policy)
            ok, locked_now = False, False
            if allowed:
                self.password_checks += 1
                ok = self.passwords.get(guest_id) == password
                guard, locked_now = settle_attempt(guard, ok, now, self.policy)
            uow.payments.save_guard(guest_id, guard)
            if locked_now:
                uow.notifications.notify(now, "lockout", guest_id, f"guest {guest_id[:8]}: payment password locked")
            uow.commit()
        return PasswordCheck(ok, guard, locked_now)

    def _owner(self, image: bytes) -> str | None:
        text = bytes(image).decode(errors="replace")
        if text.startswith("face:") and text[5:] in self.consents:
            return text[5:]
        return None

    def identify(self, image: bytes) -> FakeIdentityDecision:
        owner = self._owner(image)
        if owner is None:
            return FakeIdentityDecision(None, False, 0.1, 0.0, "best similarity 0.100 is below the threshold 0.363")
        return FakeIdentityDecision(owner, True, 0.8, 0.5, "similarity 0.800 ≥ threshold 0.363")

    def verify(self, guest_id: str, image: bytes) -> FakeVerification:
        ok = self._owner(image) == guest_id
        return FakeVerification(ok, 0.8 if ok else 0.1)


class FakeSobriety:
    """Set a reading per guest; ``latest`` returns it (None when unset)."""

    def __init__(self) -> None:
        self.readings: dict[str, SobrietyObservation] = {}

    def set(
        self,
        guest_id: str,
        p_drunk: float | None = 0.1,
        posture_abnormal: bool = False,
        similarity: float | None = 0.95,
        judged_drunk: bool | None = None,
    ) -> None:
        self.readings[guest_id] = SobrietyObservation(p_drunk, posture_abnormal, similarity, judged_drunk)

    def sober(self, guest_id: str) -> None:
        self.set(guest_id, 0.05, False, 0.97)

    def drunk(self, guest_id: str) -> None:
        self.set(guest_id, 0.9, True, 0.5)

    def clear(self, guest_id: str) -> None:
        self.readings.pop(guest_id, None)

    def latest(self, guest_id: str) -> SobrietyObservation | None:
        return self.readings.get(guest_id)


class FakeBehaviour:
    def __init__(self, value: float = 0.0) -> None:
        self.value = value
        self.calls = 0

    def score(self, rows: object) -> float:
        self.calls += 1
        return self.value
