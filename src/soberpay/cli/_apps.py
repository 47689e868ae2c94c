"""Typer applications shared by the command modules (one module per area registers onto these)."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="soberpay",
    help="Face payment for KTV venues with a consent-based sobriety guard.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
staff_app = typer.Typer(help="Staff actions: overrides, alerts, audit.", no_args_is_help=True)
app.add_typer(staff_app, name="staff")
