"""Scripted payment walkthrough for ``make demo``: normal → tagged (spend spike + posture) → no further
alcohol and no high-price item without staff (suspended) → recovery waits for the face AND the BAC
estimate, by which time the suspended requests have expired → itemised bill and ledger.

The sobriety readings here are SCRIPTED (a fake port with fixed numbers), so the demo runs without a
camera and shows each rule firing; the real sobriety service feeds the same port in the venue.
Time runs on a manual clock (tonight's scene is replayed over the past three hours) so the dwell and
minimum-lock periods pass instantly.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from soberpay.adapters.clock import ManualClock
from soberpay.domain.catalogue import fen_to_yuan, tier_of
from soberpay.domain.risk import SobrietyObservation
from soberpay.errors import SoberpayError
from soberpay.services.payments import PaymentResult, PaymentService
from soberpay.venue_time import format_time

DEMO_PASSWORD = "135790"  # the identity walkthrough registers the demo guests with this password


class ScriptedSobriety:
    """SYNTHETIC sobriety readings, set step by step by the script."""

    def __init__(self) -> None:
        self.readings: dict[str, SobrietyObservation] = {}

    def set(self, guest_id: str, obs: SobrietyObservation) -> None:
        self.readings[guest_id] = obs

    def latest(self, guest_id: str) -> SobrietyObservation | None:
        return self.readings.get(guest_id)


def _show(console: Console, title: str, r: PaymentResult) -> None:
    colour = {"charged": "green", "suspended": "yellow", "verification_required": "cyan"}.get(r.outcome, "red")
    replay = " [dim](replayed from idempotency key)[/]" if r.replayed else ""
    console.print(f"[bold]{title}[/] → [bold {colour}]{r.outcome}[/] [dim]({r.rule})[/]{replay}")
    console.print(f"    {r.explanation}", highlight=False)
    if r.requires:
        console.print(f"    still needed: {', '.join(r.requires)}")
    console.print(f"    risk {r.risk_state}/{r.risk_level} · balance {fen_to_yuan(r.balance_fen)}", highlight=False)
    for line in r.signals:
        console.print(f"    [dim]{line}[/]", highlight=False)


def run_payment_walkthrough(container: Any, console: Console, ids: dict[str, str] | None = None) -> None:
    """``container`` needs ``uow``, ``identity``, ``settings``; ``ids`` maps demo names → ids."""
    from soberpay.adapters.behaviour_onnx import DEFAULT_MODEL, OnnxBehaviourScorer
    from soberpay.adapters.catalogue_file import load_catalogue
    from soberpay.assets import read_asset

    ids = ids or {}
    barack = ids.get("Barack (demo)") or next(iter(ids.values()), None)
    if barack is None:
        console.print("[dim](payment walkthrough needs the identity walkthrough's guests)[/]")
        return
    settings = container.settings.payment
    zone = container.settings.venue.zone
    clock = ManualClock(container.clock.now() - timedelta(days=22))
    sobriety = ScriptedSobriety()
    behaviour = OnnxBehaviourScorer(DEFAULT_MODEL) if DEFAULT_MODEL.is_file() else None
    pay = PaymentService(
        uow=container.uow,
        identity=container.identity,
        clock=clock,
        settings=settings,
        catalogue=load_catalogue(settings.catalogue_file),
        sobriety=sobriety,
        behaviour=behaviour,
        sobriety_settings=container.settings.sobriety,
    )
    face = read_asset("faces", "obama3.jpg")  # not one of the enrolment photos
    n = iter(range(1, 1000))

    def key(label: str) -> str:
        return f"demo-{label}-{next(n):03d}"

    console.rule("4. Payments: menu tiers")
    table = Table("item", "price", "untagged", "tagged")
    for sku in ("song-pack-10", "beer-tsingtao", "beer-bucket-6", "shot-tequila", "fruit-large", "whisky-chivas-12"):
        item = pay.catalogue.get(sku)
        table.add_row(
            item.name,
            fen_to_yuan(item.price_fen),
            tier_of(item, pay.tier_policy, False).tier.value,
            tier_of(item, pay.tier_policy, True).tier.value,
        )
    console.print(table)
    console.print(
        f"high-price: above {fen_to_yuan(settings.high_price_threshold_fen)}, plus all alcohol (beer included) "
        "while tagged",
        highlight=False,
    )

    console.rule("5. Barack's history (three earlier visits) builds his own thresholds")
    pay.topup(barack, 300_000, key("topup"))
    sobriety.set(barack, SobrietyObservation(0.05, False, 0.96, reason="scripted: relaxed, upright"))
    past = [
        [("song-pack-10", 1), ("beer-tsingtao", 2), ("popcorn", 1)],
        [("song-pack-10", 1), ("beer-tsingtao", 1), ("fruit-small", 1)],
        [("song-pack-10", 1), ("beer-snow", 2), ("sunflower-seeds", 1), ("cola", 1)],
    ]
    for visit in past:
        for sku, qty in visit:
            pay.purchase(barack, sku, qty, key("past"))
            clock.advance(minutes=20)
        pay.checkout(barack, key("past-checkout"))
        clock.advance(minutes=7 * 24 * 60)
    from soberpay.domain.spending import build_profile

    with container.uow() as uow:
        profile = build_profile(uow.payments.history(barack, None), pay.spending_policy)
    console.print(
        f"mean order {fen_to_yuan(round(profile.mean_order_fen or 0))} → order threshold "
        f"{fen_to_yuan(round(profile.order_threshold_fen))}; mean visit "
        f"{fen_to_yuan(round(profile.mean_visit_fen or 0))} → visit threshold "
        f"{fen_to_yuan(round(profile.visit_threshold_fen))}; beer per visit threshold "
        f"{profile.category_threshold('beer'):g}",
        highlight=False,
    )

    clock.set(container.clock.now() - timedelta(hours=3))  # tonight's script fits in the past three hours
    console.rule("6. Tonight: normal purchases by face")
    _show(console, "10-song pack (face)", pay.pay_by_face(face, "song-pack-10", 1, key("buy")))
    clock.advance(minutes=15)
    _show(console, "2 × Tsingtao (face)", pay.pay_by_face(face, "beer-tsingtao", 2, key("buy")))

    console.rule("7. Spend spike + abnormal posture → drunk warning → tagged; no further alcohol without staff")
    clock.advance(minutes=10)
    sobriety.set(
        barack,
        SobrietyObservation(0.45, True, 0.72, reason="scripted: trunk tilt 12° > 3°, head sway 9°/s > 3°/s"),
    )
    bucket = pay.pay_by_face(face, "beer-bucket-6", 1, key("bucket"))
    _show(console, "Tsingtao bucket (6 beers, face only)", bucket)
    k = key("fruit")
    first = pay.pay_by_face(face, "fruit-small", 1, k)
    _show(console, "Fruit platter (small), face only, while tagged", first)
    if first.outcome == "verification_required":
        wrong = pay.pay_by_face(face, "fruit-small", 1, k, password="000000")
        _show(console, "…same request, wrong password", wrong)
        ok = pay.pay_by_face(face, "fruit-small", 1, k, password=DEMO_PASSWORD)
        _show(console, "…same request, face + correct password (dual verification)", ok)

    console.rule("8. Tagged guest tries a high-price bottle → suspended, not charged")
    clock.advance(minutes=5)
    suspended = pay.pay_by_face(face, "whisky-chivas-12", 1, key("chivas"))
    _show(console, "Chivas Regal 12 (face)", suspended)

    eileen = ids.get("Eileen (demo)")
    if eileen is not None:
        console.rule("   (meanwhile) Eileen has no face consent: phone + password")
        try:
            pay.topup(eileen, 20_000, key("topup"))
            c = container.identity.get(eileen)
            _show(
                console,
                "Eileen: lemon tea jug (phone + password)",
                pay.pay_by_phone(c.phone, DEMO_PASSWORD, "lemon-tea-jug", 1, key("eileen")),
            )
        except SoberpayError as exc:
            console.print(f"Eileen: {exc.code}: {exc.message}")

    console.rule(
        "9. Recovery: similarity to his own normal ≥ 0.90 AND the BAC estimate below the limit, held for the "
        "dwell time, after the minimum lock"
    )
    for minutes, obs in [
        (4, SobrietyObservation(0.30, False, 0.86, reason="scripted: steadier, not yet normal")),
        (4, SobrietyObservation(0.10, False, 0.93, reason="scripted: back within his normal range")),
        (3, SobrietyObservation(0.08, False, 0.95, reason="scripted: normal")),
        (45, SobrietyObservation(0.06, False, 0.96, reason="scripted: normal")),
        (45, SobrietyObservation(0.06, False, 0.96, reason="scripted: normal")),
        (6, SobrietyObservation(0.05, False, 0.96, reason="scripted: normal")),
    ]:
        clock.advance(minutes=minutes)
        sobriety.set(barack, obs)
        view = pay.refresh_risk(barack)
        console.print(f"+{minutes} min: [bold]{view.state}[/] — {view.explanation}", highlight=False)
    view = pay.refresh_risk(barack)
    if view.pending:
        console.print("pending requests made during the lock, for Barack to confirm or discard:")
        for p in view.pending:
            console.print(
                f"  {p.id[:8]} {p.quantity} × {p.name} at the original {fen_to_yuan(p.unit_price_fen)} "
                f"(expires {format_time(p.expires_at, zone, '%H:%M')}) — {p.reason}",
                highlight=False,
            )
    console.rule("10. The requests made during the lock expired; after recovery Barack orders fruit (face)")
    if suspended.pending_id:
        late = pay.confirm_pending(suspended.pending_id, key("confirm"), face_image=face)
        _show(console, "confirm Chivas (face), 1 h 47 min later", late)
    fk = key("fruit-large")
    _show(console, "Fruit platter (large, ¥128)", pay.pay_by_face(face, "fruit-large", 1, fk, password=DEMO_PASSWORD))
    _show(console, "network retry, same key", pay.pay_by_face(face, "fruit-large", 1, fk, password=DEMO_PASSWORD))

    console.rule("11. Staff alerts and audit trail")
    alerts = Table("time", "kind", "message")
    for a in reversed(pay.alerts()):
        alerts.add_row(format_time(a.at, zone, "%m-%d %H:%M"), a.kind, a.message)
    console.print(alerts)
    audit = Table("time", "actor", "action")
    for e in reversed(pay.audit(barack, limit=14)):
        audit.add_row(format_time(e.at, zone, "%m-%d %H:%M"), e.actor, e.action)
    console.print(audit)

    console.rule("12. Checkout: itemised bill, then the ledger")
    result = pay.checkout(barack, key("checkout"))
    console.print(result.bill.render(), highlight=False)
    console.print(f"balance left on account: {fen_to_yuan(result.balance_fen)}", highlight=False)
    view_l = pay.ledger(limit=12)
    table = Table("time", "kind", "memo", "entries (debit + / credit −)", title="Ledger (latest 12 postings)")
    for line in view_l.lines:
        entries = "\n".join(f"{a[:16]:<16} {fen_to_yuan(v):>10}" for a, v in line.entries)
        table.add_row(format_time(line.at, zone, "%m-%d %H:%M"), line.kind, line.memo, entries)
    console.print(table)
    sums = ", ".join(f"{a}: {fen_to_yuan(v)}" for a, v in sorted(view_l.account_sums.items()) if a.startswith("venue"))
    verdict = "balanced" if view_l.trial_balance == 0 else "UNBALANCED"
    console.print(
        f"venue accounts: {sums}; trial balance {fen_to_yuan(view_l.trial_balance)} ({verdict})", highlight=False
    )


__all__ = ["ScriptedSobriety", "run_payment_walkthrough"]
