"""``soberpay eval liveness``: ISO/IEC 30107-3 APCER per species, BPCER and a DET plot for the passive PAD."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from soberpay.cli._common import console, err_console, handle_errors
from soberpay_lab.cli._apps import eval_app

__all__ = ["eval_liveness"]


@eval_app.command("liveness")
@handle_errors
def eval_liveness(
    dataset: Annotated[Path, typer.Option("--dataset", help="folder with bona_fide/* and attack/<species>/*")],
    as_json: Annotated[bool, typer.Option("--json", help="print exactly one JSON object")] = False,
    plots_dir: Annotated[
        Path | None, typer.Option("--plots-dir", help="where to write the DET PNG (default <data_dir>/eval)")
    ] = None,
) -> None:
    """Evaluate the passive presentation-attack detection (the runtime sensor and thresholds) on clips."""
    from soberpay.adapters.vision.liveness import FaceMeshClipSensor
    from soberpay.config import load_settings
    from soberpay.services.liveness import thresholds_from
    from soberpay_lab.evaluation.liveness import evaluate_pad, plot_pad_det

    settings = load_settings()
    out = err_console if as_json else console
    result = evaluate_pad(
        dataset,
        FaceMeshClipSensor().measure,
        thresholds_from(settings.liveness),
        progress=lambda label, path: out.print(f"[dim]{label}: {path.name}[/dim]"),
    )
    plot = plot_pad_det(result, plots_dir if plots_dir is not None else settings.data_dir / "eval", dataset.name)
    if as_json:
        payload = result.to_dict()
        payload["plot"] = str(plot)
        print(json.dumps(payload))
        return
    table = Table(title=f"{dataset.name}: {result.n_bona_fide} bona fide, {result.n_attack} attack presentations")
    for col in ("species", "n", "APCER"):
        table.add_column(col, justify="right")
    for name, rate in result.apcer.items():
        table.add_row(name, str(len(result.attack_scores[name])), f"{rate:.3f}")
    table.add_row("[bold]worst[/bold]", "", f"[bold]{result.apcer_max:.3f}[/bold] ({result.worst_species})")
    console.print(table)
    console.print(f"BPCER {result.bpcer:.3f} over {result.n_bona_fide} bona fide; refusal reasons {result.reasons}")
    console.print(f"DET plot: {plot}")
