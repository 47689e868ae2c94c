"""CLI commands: ``soberpay topups`` — reconcile pending QR top-ups with the providers, list a guest's."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.table import Table

from soberpay.cli._apps import app
from soberpay.cli._common import console, get_container, handle_errors
from soberpay.domain.catalogue import fen_to_yuan

topups_app = typer.Typer(help="Top-ups by WeChat Pay / Alipay QR: reconciliation and listing.", no_args_is_help=True)
app.add_typer(topups_app, name="topups")


@topups_app.command("reconcile")
@handle_errors
def reconcile(
    older_than: float = typer.Option(
        None, "--older-than", min=0.0, help="minutes unpaid before asking (default topup.reconcile_after_minutes)"
    ),
) -> None:
    """Ask the provider about top-ups still unpaid after N minutes: credit the paid ones (once), close the rest.
    Safe to run repeatedly (cron / systemd timer)."""
    c = get_container()
    minutes = c.settings.topup.reconcile_after_minutes if older_than is None else older_than
    report = c.topups.reconcile(timedelta(minutes=minutes))
    console.print(f"checked {report.checked}: settled {report.settled}, closed {report.closed}, errors {report.errors}")
    if report.errors:
        raise typer.Exit(1)


@topups_app.command("list")
@handle_errors
def list_topups(guest: str = typer.Argument(..., help="guest id")) -> None:
    """A guest's recent QR top-ups and their states."""
    c = get_container()
    table = Table("id", "channel", "amount", "state", "note")
    for t in c.topups.recent(guest):
        table.add_row(t.id, t.channel, fen_to_yuan(t.amount_fen), t.state, t.note)
    console.print(table)
