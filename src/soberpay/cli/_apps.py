"""Typer applications shared by the command modules (one module per area registers onto these)."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="soberpay",
    help="Face payment for KTV venues with a consent-based sobriety guard.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(help="Measure models on labelled data.", no_args_is_help=True)
train_app = typer.Typer(help="Train models (needs the \\[train] extra).", no_args_is_help=True)
staff_app = typer.Typer(help="Staff actions: overrides, alerts, audit.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(train_app, name="train")
app.add_typer(staff_app, name="staff")
