"""What every payment use case shares: the ports, the policies built from settings, and the two
transaction shapes (a locked decision for one guest, and its idempotent variant).

Transactions: every decision is one unit of work — risk transition, password counter, ledger
posting, order, pending request, notifications, audit rows and the idempotency record commit together
or not at all. The guest's account is locked first (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
engine issues ``BEGIN IMMEDIATE``), so concurrent decisions for one guest are serialised: they cannot
overspend the balance, and a repeated idempotency key is seen by the second caller, which replays the
stored result instead of charging again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from soberpay.config import PaymentSettings, SobrietySettings
from soberpay.domain.bac import BacAssumptions
from soberpay.domain.behaviour import BehaviourScorer
from soberpay.domain.catalogue import AlcoholLock, Catalogue, TierPolicy
from soberpay.domain.identity import PasswordPolicy
from soberpay.domain.purchase import fingerprint, replay
from soberpay.domain.risk import RiskPolicy, SobrietyObservation, SobrietySignal
from soberpay.domain.spending import SpendingPolicy
from soberpay.errors import InvalidInput
from soberpay.ports import AbstractUnitOfWork, Clock, DuplicateRecord, UnitOfWorkFactory
from soberpay.services.payments.guests import GuestIdentity, GuestProfile

R = TypeVar("R")
# A decision's result, and what to store under its idempotency key (None: nothing, e.g. a refusal).
Decided = tuple[R, Mapping[str, Any] | None]


class PaymentContext:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        identity: GuestIdentity,
        clock: Clock,
        settings: PaymentSettings,
        catalogue: Catalogue,
        sobriety: SobrietySignal | None,
        behaviour: BehaviourScorer | None,
        id_factory: Callable[[], str],
        fault: Callable[[str], None] | None,
        sobriety_settings: SobrietySettings | None = None,
        menu: Callable[[], Catalogue] | None = None,
    ) -> None:
        self.uow = uow
        self.identity = identity
        self.clock = clock
        self.settings = s = settings
        # The back office edits the menu in the database: ``menu`` reads the current one on each use, so a
        # price change reaches every process at its next charge (orders keep the price they were charged).
        self._menu = menu or (lambda: catalogue)
        self.sobriety = sobriety
        self.behaviour = behaviour
        self.new_id = id_factory
        # Test hook: called at named points inside transactions to simulate a crash mid-decision.
        self.fault = fault or (lambda _point: None)
        self.tier_policy = TierPolicy(s.high_price_threshold_fen, AlcoholLock(s.tagged_alcohol_lock))
        self.password_policy = PasswordPolicy(
            s.password_max_failures, s.password_lockout_minutes, s.password_lockout_max_minutes
        )
        band = sobriety_settings or SobrietySettings()  # the P(drunk) band is defined once, in sobriety
        self.risk_policy = RiskPolicy(
            band.drunk_probability,
            band.sober_probability,
            s.recovery_similarity,
            s.recovery_dwell_seconds,
            s.min_lock_seconds,
            s.recovery_bac_limit_g_per_dl,
        )
        self.spending_policy = SpendingPolicy(
            s.spend_multiplier,
            s.category_count_multiplier,
            s.min_history_orders,
            s.min_history_visits,
            s.default_order_threshold_fen,
            s.default_visit_threshold_fen,
            s.default_category_count,
            s.category_count_floor,
        )
        self.bac_assumptions = BacAssumptions(s.bac_default_weight_kg, s.bac_default_r, s.bac_elimination_g_per_dl_h)

    @property
    def catalogue(self) -> Catalogue:
        return self._menu()

    def now(self) -> datetime:
        return self.clock.now()

    def guest(self, guest_id: str) -> GuestProfile:
        if not isinstance(guest_id, str) or not guest_id:
            raise InvalidInput("guest id is required", field="guest_id")
        return self.identity.get(guest_id)

    def observe(self, guest_id: str) -> SobrietyObservation | None:
        return self.sobriety.latest(guest_id) if self.sobriety is not None else None

    def ensure_accounts(self, guest_id: str | None) -> None:
        """Account rows exist before the locking transaction (own transaction; a racing creator is fine)."""
        now = self.now()
        with self.uow() as uow:
            uow.payments.ensure_accounts(guest_id, now)
            uow.commit()

    @staticmethod
    def audit(uow: AbstractUnitOfWork, now: datetime, actor: str, action: str, guest_id: str | None, **d: Any) -> None:
        uow.audit.append(now, actor, action, guest_id, d)

    @contextmanager
    def locked(self, guest_id: str) -> Iterator[tuple[AbstractUnitOfWork, datetime]]:
        """One transaction holding the guest's account lock; commits when the block ends normally."""
        self.ensure_accounts(guest_id)
        now = self.now()
        with self.uow() as uow:
            uow.payments.lock_guest(guest_id)
            yield uow, now
            uow.commit()

    def idempotent(
        self,
        *,
        guest_id: str,
        key: str,
        operation: str,
        params: Mapping[str, Any],
        decide: Callable[[AbstractUnitOfWork, datetime], Decided[R]],
        restore: Callable[[Mapping[str, Any]], R],
    ) -> R:
        """Run ``decide`` under the guest's lock unless ``key`` already holds this operation's result.

        The same key with other parameters raises ``Conflict``. If a concurrent request with the same
        key committed first (``DuplicateRecord`` on insert), run once more: the rerun replays its result.
        Passwords and images are never part of ``params``.
        """
        fp = fingerprint(operation, params)

        def attempt() -> R:
            with self.locked(guest_id) as (uow, now):
                prior = replay(uow.idempotency.stored(key), operation, fp)
                if prior is not None:
                    return restore(prior)
                result, stored = decide(uow, now)
                self.fault("before_commit")
                if stored is not None:
                    uow.idempotency.store(key, operation, fp, guest_id, stored, now)
                return result

        try:
            return attempt()
        except DuplicateRecord:
            return attempt()


def staff_actor(actor: str) -> str:
    actor = (actor or "").strip()
    if not actor or len(actor) > 48:
        raise InvalidInput("staff actor name is required (max 48 characters)", field="actor")
    return actor
