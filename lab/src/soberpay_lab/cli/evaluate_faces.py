"""``soberpay eval faces``: rank-1, TAR at FAR 1e-2/1e-3, EER, ROC/DET plots on a one-folder-per-person dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from soberpay.cli._common import console, err_console, handle_errors
from soberpay_lab.cli._apps import eval_app

__all__ = ["eval_faces"]


@eval_app.command("faces")
@handle_errors
def eval_faces(
    dataset: Annotated[Path, typer.Option("--dataset", help="folder with one sub-folder of images per person")],
    embedder: Annotated[
        list[str] | None,
        typer.Option("--embedder", help="sface | dlib | autoencoder (repeat to compare; default: the configured one)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print exactly one JSON object (one embedder)")] = False,
    plots_dir: Annotated[
        Path | None, typer.Option("--plots-dir", help="where to write the ROC and DET PNGs (default <data_dir>/eval)")
    ] = None,
    gallery_per_person: Annotated[
        int, typer.Option("--gallery-per-person", min=1, help="first N images of each person form the gallery")
    ] = 1,
    max_people: Annotated[int | None, typer.Option("--max-people", min=2, help="only the first N people")] = None,
) -> None:
    """Evaluate face embedders on a labelled dataset (e.g. ORL) and write ROC/DET plots."""
    from soberpay.adapters.vision.pipeline import build_detector, build_embedder
    from soberpay.config import load_settings
    from soberpay_lab.evaluation.faces import evaluate_embedder, plot_roc_det

    settings = load_settings()
    names = embedder or [settings.embedder]
    if as_json and len(names) != 1:
        raise typer.BadParameter("--json takes a single --embedder")
    detector = build_detector(settings)
    progress_console = err_console if as_json else console
    results = []
    for name in names:
        emb = build_embedder(settings, name)
        results.append(
            evaluate_embedder(
                emb,
                dataset,
                detector=detector,
                gallery_per_person=gallery_per_person,
                max_people=max_people,
                console=progress_console,
            )
        )
    out_dir = plots_dir if plots_dir is not None else settings.data_dir / "eval"
    stem = f"{dataset.name}_{'_'.join(names)}"
    plots = plot_roc_det(results, out_dir, stem=stem)
    if as_json:
        payload = results[0].to_dict()
        payload["plots"] = [str(p) for p in plots]
        print(json.dumps(payload))
        return
    r0 = results[0]
    table = Table(
        title=f"{dataset.name}: {r0.n_people} people, {r0.n_images} images",
        caption=f"gallery = first {gallery_per_person} image(s) per person, probes = the rest; "
        "TAR/threshold at FAR 1% and 0.1%",
    )
    for col in ("embedder", "detect", "rank-1", "TAR@1%", "TAR@0.1%", "EER", "thr@0.1%", "ms/img"):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            r.embedder,
            f"{r.detect_rate:.3f}",
            f"{r.rank1:.3f}",
            f"{r.tar_at_far[1e-2]:.3f}",
            f"{r.tar_at_far[1e-3]:.3f}",
            f"{100 * r.eer:.2f}%",
            f"{r.threshold_at_far[1e-3]:.3f}",
            f"{r.ms_per_image:.0f}",
        )
    console.print(table)
    console.print(
        f"genuine pairs {r0.genuine.size}, impostor pairs {r0.impostor.size} "
        f"(FAR resolution {1 / max(1, r0.impostor.size):.1e}); plots: " + ", ".join(str(p) for p in plots)
    )
