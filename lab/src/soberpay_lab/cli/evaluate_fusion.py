"""``soberpay eval fusion``: multi-frame identification rules (single best frame, top-k mean, quality-weighted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from soberpay.cli._common import console, handle_errors
from soberpay_lab.cli._apps import eval_app

__all__ = ["eval_fusion"]


@eval_app.command("fusion")
@handle_errors
def eval_fusion(
    dataset: Annotated[Path, typer.Option("--dataset", help="one sub-folder per person; first image = gallery")],
    embedder: Annotated[str | None, typer.Option("--embedder", help="sface | dlib | autoencoder")] = None,
    frames: Annotated[int, typer.Option("--frames", min=0, help="frames per clip (0: all but the gallery)")] = 0,
    clips: Annotated[int, typer.Option("--clips", min=1, help="random clips per person")] = 1,
    fuse_top: Annotated[int | None, typer.Option("--fuse-top", min=1, help="default: liveness.fuse_top_frames")] = None,
    gates: Annotated[bool, typer.Option("--gates/--no-gates", help="drop frames failing a quality gate")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print exactly one JSON object")] = False,
) -> None:
    """Score each person's other images as one clip: TAR at FAR 0.1 % and EER per fusion rule."""
    from soberpay.adapters.vision.pipeline import build_detector, build_embedder
    from soberpay.config import load_settings
    from soberpay_lab.evaluation.fusion import RULES, evaluate_fusion, load

    settings = load_settings()
    emb = build_embedder(settings, embedder)
    per_person = load(dataset, emb, build_detector(settings), settings.identity, gates=gates)
    k = fuse_top if fuse_top is not None else settings.liveness.fuse_top_frames
    r = evaluate_fusion(per_person, frames=frames, clips=clips, fuse_top=k)
    if as_json:
        print(json.dumps({"embedder": emb.name, "dataset": dataset.name, "gates": gates, **r.__dict__}))
        return
    table = Table(
        title=f"{dataset.name}: {r.n_people} people, {r.n_clips} clips of {r.frames_per_clip} frames, k = {k}",
        caption=f"{r.n_genuine} genuine / {r.n_impostor} impostor clip scores; "
        f"FTA {r.failed_to_acquire}/{r.n_clips} clips without a qualified frame (TAR and EER are over the others)",
    )
    for col in ("rule", "TAR@0.1%", "EER", "thr@0.1%"):
        table.add_column(col, justify="right")
    for rule in RULES:
        table.add_row(rule, f"{r.tar[rule]:.3f}", f"{100 * r.eer[rule]:.2f}%", f"{r.threshold[rule]:.3f}")
    console.print(table)
