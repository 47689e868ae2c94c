"""CLI: ``soberpay train behaviour`` — train the behaviour LSTM on SYNTHETIC visits, export ONNX + card.

torch is imported only when the command runs.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from soberpay.cli._common import console, handle_errors
from soberpay_lab.cli._apps import train_app
from soberpay_lab.cli._torch import need_torch

# The runtime package ships the model: training writes next to the file inference loads.
DEFAULT_OUT = Path(str(resources.files("soberpay") / "models" / "behaviour"))


@train_app.command("behaviour")
@handle_errors
def train_behaviour_cmd(
    out: Annotated[Path, typer.Option(help="output folder for behaviour_lstm.onnx + .json")] = DEFAULT_OUT,
    guests: Annotated[int, typer.Option(min=20, max=5000, help="synthetic guests")] = 240,
    epochs: Annotated[int, typer.Option(min=1, max=200)] = 8,
    seed: Annotated[int, typer.Option()] = 7,
    threads: Annotated[int, typer.Option(min=1, max=16)] = 2,
) -> None:
    """Train the LSTM behaviour model on SYNTHETIC visits; report P/R/F1 on held-out synthetic guests."""
    need_torch()
    from soberpay_lab.training.behaviour_lstm import BehaviourConfig, train_behaviour

    cfg = BehaviourConfig(n_guests=guests, epochs=epochs, seed=seed, threads=threads)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("train behaviour LSTM (synthetic)", total=None)

        def update(name: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        card = train_behaviour(out, cfg, update)
    table = Table(title="Behaviour LSTM on held-out SYNTHETIC guests (threshold {:.2f})".format(card["threshold"]))
    for col in ("set", "precision", "recall", "F1", "n"):
        table.add_column(col)
    for name, key in (
        ("LSTM, visit prefixes", "metrics_synthetic_test_prefixes"),
        ("LSTM, full visits", "metrics_synthetic_test_full_visits"),
        ("rule: order > 2x own mean, prefixes", "baseline_rule_2x_mean_test_prefixes"),
        ("rule: order > 2x own mean, full visits", "baseline_rule_2x_mean_test_full_visits"),
    ):
        m = card[key]
        table.add_row(name, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["n"]))
    console.print(table)
    console.print(f"trained in {card['train_seconds']} s → {out}/behaviour_lstm.onnx (synthetic data only)")
