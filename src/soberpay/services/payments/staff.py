"""Risk state and staff actions: step the risk state with a new sobriety reading, show it, and the
staff overrides (tag, untag, lift a password lockout, acknowledge an alert). Every override is
audited under ``staff:<name>`` with its reason."""

from __future__ import annotations

from soberpay.domain.identity import PasswordGuard
from soberpay.domain.risk import SobrietyObservation, staff_tag, staff_untag, validate_reason
from soberpay.errors import NotFound
from soberpay.services.payments.context import PaymentContext, staff_actor
from soberpay.services.payments.results import RiskView
from soberpay.services.payments.steps import expire_due, open_pending, step_risk


class StaffActions:
    def __init__(self, ctx: PaymentContext) -> None:
        self._ctx = ctx

    def refresh_risk(self, guest_id: str, observation: SobrietyObservation | None) -> RiskView:
        """Step the state machine with the latest sobriety reading (pulled from the port unless given).

        When the guest recovers, the pending requests made during the lock are returned for the
        guest to confirm or discard one by one.
        """
        ctx = self._ctx
        guest = ctx.guest(guest_id)
        obs = observation if observation is not None else ctx.observe(guest_id)
        with ctx.locked(guest_id) as (uow, now):
            expire_due(ctx, uow, now, guest_id)
            st = step_risk(ctx, uow, guest, now, obs)
            pending = open_pending(uow, guest_id)
            if st.unlocked and pending:
                message = f"guest {guest_id[:8]}: {len(pending)} request(s) to confirm"
                uow.notifications.notify(now, "pending_ready", guest_id, message)
            return RiskView.from_step(guest_id, st, pending)

    def risk_status(self, guest_id: str) -> RiskView:
        self._ctx.guest(guest_id)
        with self._ctx.uow() as uow:
            rec = uow.payments.risk(guest_id)
            pending = open_pending(uow, guest_id)
        text = f"risk state {rec.state.value}, level {rec.level.value}"
        return RiskView(guest_id, rec.state.value, rec.level.value, rec.tag_reason, text, (), pending)

    def tag(self, guest_id: str, reason: str, actor: str) -> RiskView:
        return self._override(guest_id, reason, actor, tag=True)

    def untag(self, guest_id: str, reason: str, actor: str) -> RiskView:
        return self._override(guest_id, reason, actor, tag=False)

    def _override(self, guest_id: str, reason: str, actor: str, *, tag: bool) -> RiskView:
        ctx = self._ctx
        reason = validate_reason(reason)
        actor = staff_actor(actor)
        ctx.guest(guest_id)
        with ctx.locked(guest_id) as (uow, now):
            before = uow.payments.risk(guest_id)
            if tag:
                st = staff_tag(before, now, reason, actor)
            else:
                st = staff_untag(before, now, reason, actor, ctx.settings.min_lock_seconds)
            uow.payments.save_risk(st.record)
            ctx.audit(
                uow,
                now,
                f"staff:{actor}",
                "staff.tag" if tag else "staff.untag",
                guest_id,
                reason=reason,
                from_state=before.state.value,
                to_state=st.record.state.value,
            )
            return RiskView.from_step(guest_id, st, open_pending(uow, guest_id))

    def unlock(self, guest_id: str, reason: str, actor: str) -> str:
        """Lift a password lockout."""
        ctx = self._ctx
        reason = validate_reason(reason)
        actor = staff_actor(actor)
        ctx.guest(guest_id)
        now = ctx.now()
        with ctx.uow() as uow:
            before = uow.payments.guard(guest_id)
            uow.payments.save_guard(guest_id, PasswordGuard())
            ctx.audit(
                uow,
                now,
                f"staff:{actor}",
                "staff.unlock",
                guest_id,
                reason=reason,
                failures_before=before.failures,
                was_locked=before.locked(now),
            )
            uow.commit()
        return f"password payment unlocked for guest {guest_id[:8]} by {actor}: {reason}"

    def acknowledge(self, alert_id: int, actor: str) -> None:
        ctx = self._ctx
        actor = staff_actor(actor)
        now = ctx.now()
        with ctx.uow() as uow:
            alert = uow.notifications.acknowledge(alert_id, actor, now)
            if alert is None:
                raise NotFound("unknown alert", alert_id=alert_id)
            if not alert.acknowledged:
                ctx.audit(uow, now, f"staff:{actor}", "alert.acknowledged", alert.guest_id, alert_id=alert_id)
            uow.commit()
