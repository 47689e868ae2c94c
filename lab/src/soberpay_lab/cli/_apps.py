"""The lab's typer groups; each command module registers onto them on import."""

from __future__ import annotations

import typer

eval_app = typer.Typer(help="Measure models on labelled data.", no_args_is_help=True)
train_app = typer.Typer(help="Train models (torch; synthetic or labelled data).", no_args_is_help=True)
