"""CLI commands: payments — purchase, top-up, pending requests, checkout, ledger, menu, risk, and the
staff overrides / alerts / audit on ``soberpay staff``.

Every money-moving command takes ``--key`` (an idempotency key); without one a fresh key is made
and printed, so a retry after a network/terminal failure can reuse it. Passwords are prompted
(hidden) with ``--ask-password`` or read from ``--password``; they are never printed or logged.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from soberpay.cli._apps import app, staff_app
from soberpay.cli._common import console, get_container, handle_errors
from soberpay.domain.catalogue import fen_to_yuan, yuan_to_fen
from soberpay.errors import InvalidInput
from soberpay.venue_time import format_time

pending_app = typer.Typer(help="Suspended high-price requests: list, confirm, discard.", no_args_is_help=True)
app.add_typer(pending_app, name="pending")

_OUTCOME_STYLE = {
    "charged": "green",
    "suspended": "yellow",
    "verification_required": "cyan",
    "password_rejected": "red",
    "locked_out": "red",
    "face_rejected": "red",
    "refused": "red",
}


def _clock(at: datetime | None, fmt: str) -> str:
    """A stored (UTC) time on the venue's clock for the tables below."""
    return format_time(at, get_container().settings.venue.zone, fmt)


def _key(key: str | None, what: str) -> str:
    if key:
        return key
    made = f"cli-{what}-{uuid.uuid4().hex[:16]}"
    console.print(f"[dim]idempotency key: {made} (reuse it with --key to retry safely)[/]")
    return made


def _resolve(guest: str) -> str:
    c = get_container()
    if len(guest) == 32:
        return str(c.identity.get(guest).id)
    return str(c.identity.find_by_phone(guest).id)


def _password(password: str | None, ask: bool) -> str | None:
    if ask:
        return str(typer.prompt("6-digit payment password", hide_input=True))
    return password


def print_result(r: Any) -> None:
    style = _OUTCOME_STYLE.get(r.outcome, "white")
    tag = " [dim](replayed)[/]" if r.replayed else ""
    console.print(f"[bold {style}]{r.outcome}[/] [dim]rule={r.rule}[/]{tag}")
    console.print(f"  {r.explanation}")
    if r.requires:
        console.print(f"  [cyan]needs:[/] {', '.join(r.requires)}")
    if r.pending_id:
        console.print(f"  pending request: {r.pending_id}")
    console.print(f"  risk: {r.risk_state} ({r.risk_level}); balance {fen_to_yuan(r.balance_fen)}", highlight=False)
    for line in r.signals:
        console.print(f"  [dim]{line}[/]", highlight=False)


@app.command("purchase")
@handle_errors
def purchase(
    sku: str = typer.Argument(..., help="item code from `soberpay menu`"),
    quantity: int = typer.Option(1, "--qty", "-q", min=1, max=99),
    face: Path = typer.Option(None, "--face", exists=True, dir_okay=False, help="pay by face: a photo (1:N)"),
    phone: str = typer.Option(None, "--phone", help="pay by phone + payment password (no face consent needed)"),
    guest: str = typer.Option(None, "--guest", help="guest id/phone already identified at a staff terminal"),
    verify_face: Path = typer.Option(
        None, "--verify-face", exists=True, dir_okay=False, help="face photo for dual verification (1:1)"
    ),
    password: str = typer.Option(None, "--password", help="6-digit payment password (prefer --ask-password)"),
    ask_password: bool = typer.Option(False, "--ask-password", help="prompt for the password (hidden)"),
    key: str = typer.Option(None, "--key", help="idempotency key (8-128 chars)"),
) -> None:
    """Buy an item. Untagged → charged; tagged + regular → face AND password; tagged + high-price → suspended."""
    c = get_container()
    pw = _password(password, ask_password)
    k = _key(key, "purchase")
    chosen = [x is not None for x in (face, phone, guest)]
    if sum(chosen) != 1:
        raise InvalidInput("choose exactly one of --face, --phone, --guest")
    if face is not None:
        r = c.payments.pay_by_face(face.read_bytes(), sku, quantity, k, password=pw)
    elif phone is not None:
        if pw is None:
            raise InvalidInput("paying by phone needs the payment password (--ask-password)")
        r = c.payments.pay_by_phone(
            phone, pw, sku, quantity, k, face_image=verify_face.read_bytes() if verify_face else None
        )
    else:
        r = c.payments.purchase(
            _resolve(guest), sku, quantity, k, password=pw, face_image=verify_face.read_bytes() if verify_face else None
        )
    print_result(r)
    if r.outcome not in ("charged", "suspended"):
        raise typer.Exit(1)


@app.command("topup")
@handle_errors
def topup(
    guest: str = typer.Argument(..., help="guest id or phone"),
    amount: str = typer.Argument(..., help="amount in yuan, e.g. 500 or 99.50"),
    key: str = typer.Option(None, "--key"),
    actor: str = typer.Option("cashier", "--actor"),
) -> None:
    """Add money to a guest's prepaid balance (cash at the counter)."""
    c = get_container()
    r = c.payments.topup(_resolve(guest), yuan_to_fen(amount), _key(key, "topup"), actor=actor)
    note = " (replayed)" if r.replayed else ""
    console.print(f"topped up {fen_to_yuan(r.amount_fen)}{note}; balance {fen_to_yuan(r.balance_fen)}")


@app.command("visit")
@handle_errors
def visit(guest: str = typer.Argument(..., help="guest id or phone")) -> None:
    """Open a visit (a purchase opens one automatically too)."""
    c = get_container()
    console.print(f"visit {c.payments.open_visit(_resolve(guest))} open")


@app.command("checkout")
@handle_errors
def checkout(
    guest: str = typer.Argument(..., help="guest id or phone"),
    pay_out: bool = typer.Option(False, "--pay-out", help="pay the remaining prepaid balance back"),
    key: str = typer.Option(None, "--key"),
) -> None:
    """Close the visit: itemised bill, open pending requests discarded, tab settled."""
    c = get_container()
    r = c.payments.checkout(_resolve(guest), _key(key, "checkout"), pay_out_balance=pay_out)
    console.print(r.bill.render(), highlight=False)
    if r.settled_fen:
        console.print(f"tab settled at the counter: {fen_to_yuan(r.settled_fen)}")
    if r.paid_out_fen:
        console.print(f"prepaid balance paid out: {fen_to_yuan(r.paid_out_fen)}")
    console.print(f"balance now {fen_to_yuan(r.balance_fen)}")


@app.command("bill")
@handle_errors
def bill(guest: str = typer.Argument(..., help="guest id or phone")) -> None:
    """The running bill of the open visit."""
    console.print(get_container().payments.bill(_resolve(guest)).render(), highlight=False)


def print_ledger(view: Any, limit: int = 50) -> None:
    table = Table(title="Ledger (debit +, credit −; fen shown as yuan)")
    for col in ("time", "kind", "guest", "memo", "entries"):
        table.add_column(col)
    for line in list(view.lines)[:limit]:
        entries = "\n".join(f"{acct:<22} {fen_to_yuan(amt):>11}" for acct, amt in line.entries)
        table.add_row(_clock(line.at, "%m-%d %H:%M"), line.kind, (line.guest_id or "")[:8], line.memo, entries)
    console.print(table)
    sums = Table(title="Account balances (debit-positive)")
    sums.add_column("account")
    sums.add_column("sum", justify="right")
    for acct, amt in sorted(view.account_sums.items()):
        sums.add_row(acct if not acct.startswith("guest:") else acct[:14], fen_to_yuan(amt))
    console.print(sums)
    ok = "[green]balanced[/]" if view.trial_balance == 0 else "[red]UNBALANCED[/]"
    console.print(f"trial balance: {fen_to_yuan(view.trial_balance)} {ok}")


@app.command("ledger")
@handle_errors
def ledger(
    guest: str = typer.Option(None, "--guest", help="only this guest's postings"),
    limit: int = typer.Option(50, min=1, max=10_000),
) -> None:
    """Show double-entry postings, account sums and the trial balance."""
    c = get_container()
    print_ledger(c.payments.ledger(_resolve(guest) if guest else None, limit), limit)


@app.command("menu")
@handle_errors
def menu() -> None:
    """List the catalogue with its tiers (high-price above the configured threshold)."""
    c = get_container()
    pay = c.payments
    table = Table(
        title=f"{pay.catalogue.name} — high-price above {fen_to_yuan(pay.tier_policy.high_price_threshold_fen)}"
    )
    for col in ("sku", "name", "category", "price", "tier (untagged)", "tier (tagged)"):
        table.add_column(col)
    from soberpay.domain.catalogue import tier_of

    for item in pay.catalogue:
        table.add_row(
            item.sku,
            item.name,
            item.category.value,
            fen_to_yuan(item.price_fen),
            tier_of(item, pay.tier_policy, False).tier.value,
            tier_of(item, pay.tier_policy, True).tier.value,
        )
    console.print(table)


@app.command("risk")
@handle_errors
def risk(guest: str = typer.Argument(..., help="guest id or phone")) -> None:
    """Refresh a guest's risk state from the sobriety signal and show pending requests to confirm."""
    v = get_container().payments.refresh_risk(_resolve(guest))
    console.print(f"[bold]{v.state}[/] (level {v.level}) {v.explanation}")
    for line in v.signals:
        console.print(f"  [dim]{line}[/]", highlight=False)
    for p in v.pending:
        console.print(
            f"  pending {p.id}: {p.quantity} × {p.name} {fen_to_yuan(p.amount_fen)} "
            f"(expires {_clock(p.expires_at, '%H:%M')})"
        )


# --- pending requests ---------------------------------------------------------------------------


@pending_app.command("list")
@handle_errors
def pending_list(
    guest: str = typer.Option(None, "--guest"),
    all_: bool = typer.Option(False, "--all", help="include confirmed/discarded/expired"),
) -> None:
    c = get_container()
    rows = c.payments.list_pending(_resolve(guest) if guest else None, include_closed=all_)
    table = Table(title="Pending (suspended) requests")
    for col in ("id", "guest", "item", "amount", "status", "created", "expires", "reason"):
        table.add_column(col)
    for p in rows:
        table.add_row(
            p.id,
            p.guest_id[:8],
            f"{p.quantity} × {p.name}",
            fen_to_yuan(p.amount_fen),
            p.status.value,
            _clock(p.created_at, "%H:%M"),
            _clock(p.expires_at, "%H:%M"),
            p.reason,
        )
    console.print(table)


@pending_app.command("confirm")
@handle_errors
def pending_confirm(
    request_id: str = typer.Argument(...),
    face: Path = typer.Option(None, "--face", exists=True, dir_okay=False, help="guest face photo (1:1)"),
    password: str = typer.Option(None, "--password"),
    ask_password: bool = typer.Option(False, "--ask-password"),
    key: str = typer.Option(None, "--key"),
) -> None:
    """Guest confirms after recovery: charged now at the original price."""
    c = get_container()
    r = c.payments.confirm_pending(
        request_id,
        _key(key, "confirm"),
        password=_password(password, ask_password),
        face_image=face.read_bytes() if face else None,
    )
    print_result(r)
    if r.outcome != "charged":
        raise typer.Exit(1)


@pending_app.command("discard")
@handle_errors
def pending_discard(request_id: str = typer.Argument(...), actor: str = typer.Option("guest", "--actor")) -> None:
    p = get_container().payments.discard_pending(request_id, actor=actor)
    console.print(f"request {p.id}: {p.status.value} ({p.note})")


# --- staff --------------------------------------------------------------------------------------


@staff_app.command("tag")
@handle_errors
def staff_tag(
    guest: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="mandatory, audited"),
    actor: str = typer.Option(..., "--actor", help="staff name"),
) -> None:
    """Tag a guest by hand (stays until staff untag)."""
    v = get_container().payments.staff_tag(_resolve(guest), reason, actor)
    console.print(f"[yellow]{v.state}[/]: {v.explanation}")


@staff_app.command("untag")
@handle_errors
def staff_untag(
    guest: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="mandatory, audited"),
    actor: str = typer.Option(..., "--actor", help="staff name"),
) -> None:
    """Remove a tag; pending requests become confirmable."""
    v = get_container().payments.staff_untag(_resolve(guest), reason, actor)
    console.print(f"[green]{v.state}[/]: {v.explanation}")
    for p in v.pending:
        console.print(f"  pending {p.id}: {p.quantity} × {p.name} {fen_to_yuan(p.amount_fen)} — guest may confirm")


@staff_app.command("unlock")
@handle_errors
def staff_unlock(
    guest: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="mandatory, audited"),
    actor: str = typer.Option(..., "--actor", help="staff name"),
) -> None:
    """Lift a password lockout."""
    console.print(get_container().payments.staff_unlock(_resolve(guest), reason, actor))


@staff_app.command("alerts")
@handle_errors
def staff_alerts(
    all_: bool = typer.Option(False, "--all", help="include acknowledged"),
    ack: int = typer.Option(None, "--ack", help="acknowledge this alert id"),
    actor: str = typer.Option("staff", "--actor"),
) -> None:
    """Staff notifications: tags, drunk warnings, suspensions, lockouts, recoveries."""
    c = get_container()
    if ack is not None:
        c.payments.acknowledge(ack, actor)
        console.print(f"alert {ack} acknowledged")
        return
    table = Table(title="Staff alerts")
    for col in ("id", "time", "kind", "guest", "message", "ack"):
        table.add_column(col)
    for a in c.payments.alerts(include_acknowledged=all_):
        table.add_row(
            str(a.id),
            _clock(a.at, "%m-%d %H:%M"),
            a.kind,
            (a.guest_id or "")[:8],
            a.message,
            "✓" if a.acknowledged else "",
        )
    console.print(table)


@staff_app.command("audit")
@handle_errors
def staff_audit(
    guest: str = typer.Option(None, "--guest"),
    action: str = typer.Option(None, "--action", help="prefix, e.g. payment. or staff."),
    limit: int = typer.Option(50, min=1, max=10_000),
) -> None:
    """The append-only audit log (newest first)."""
    c = get_container()
    table = Table(title="Audit log")
    for col in ("id", "time", "actor", "action", "guest", "details"):
        table.add_column(col)
    for e in c.payments.audit(_resolve(guest) if guest else None, limit, action):
        details = ", ".join(f"{k}={v}" for k, v in sorted(e.details.items()) if k not in ("signals",) and v is not None)
        table.add_row(
            str(e.id), _clock(e.at, "%m-%d %H:%M:%S"), e.actor, e.action, (e.guest_id or "")[:8], details[:160]
        )
    console.print(table)
