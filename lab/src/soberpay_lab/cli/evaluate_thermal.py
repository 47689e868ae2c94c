"""CLI command ``soberpay eval thermal`` (registered on import by soberpay.cli).

Evaluates the SHIPPED thermal face-state model (or ``--model-dir``) on any folder laid out like
``patras_thermal`` (file names are parsed; no manifest needed). By default a probe image is never
matched against reference features of the same subject id (``--allow-same-subject`` turns this
off). Note: the shipped extractor was trained on all 31 subjects of the shared folder, so numbers
on that folder are optimistic even with same-subject references excluded; the honest numbers are
the subject-held-out cross-validation in the model card and docs/research/sobriety-models.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from soberpay.cli._common import console, handle_errors
from soberpay.errors import InvalidInput
from soberpay_lab.cli._apps import eval_app


@eval_app.command("thermal")
@handle_errors
def eval_thermal(
    dataset: Annotated[Path, typer.Option(help="folder laid out like patras_thermal")],
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object only")] = False,
    model_dir: Annotated[Path | None, typer.Option(help="model folder (default: the shipped model)")] = None,
    views: Annotated[
        str | None,
        typer.Option(help="views to evaluate, comma-separated e (eyes), f (front), r (profile); default: the model's"),
    ] = None,
    allow_same_subject: Annotated[
        bool, typer.Option("--allow-same-subject", help="let a probe match references of its own subject id")
    ] = False,
) -> None:
    """Accuracy, recall, F1 and ROC-AUC of the face-state model on a Patras-style thermal folder."""
    from soberpay.adapters.sobriety.face_state import FaceStateAnalyzer
    from soberpay_lab.evaluation.thermal import ThermalSample, evaluate_thermal_folder, scan_thermal_folder

    analyzer = FaceStateAnalyzer(model_dir=model_dir)
    view_list = [v.strip() for v in views.split(",") if v.strip()] if views else list(analyzer.views)
    if not view_list or any(v not in ("e", "f", "r") for v in view_list):
        raise InvalidInput("--views must list e, f and/or r")
    subjects_in_store = set(analyzer.store.subjects.tolist())

    def score(sample: ThermalSample, data: bytes) -> float:
        exclude = None if allow_same_subject else sample.subject_id
        if exclude is not None and exclude not in subjects_in_store:
            exclude = None
        return analyzer.analyse(data, view=sample.view, exclude_subject=exclude).p_abnormal

    if json_out:
        result = evaluate_thermal_folder(dataset, score, views=view_list)
    else:
        with Progress(TextColumn("[bold]scoring"), BarColumn(), MofNCompleteColumn(), console=console) as bar:
            task = bar.add_task("scoring", total=None)
            result = evaluate_thermal_folder(
                dataset, score, views=view_list, progress=lambda d, n: bar.update(task, completed=d, total=n)
            )
    evaluated = set(scan_thermal_folder(dataset, views=view_list).subjects)
    overlap = sorted(evaluated & subjects_in_store)
    result["subjects_seen_in_training"] = len(overlap)
    result["views"] = view_list
    if json_out:
        typer.echo(json.dumps(result, default=float))
        return
    table = Table(title=f"Thermal face state on {dataset}")
    for col in ("images", "subjects", "accuracy", "recall", "F1", "ROC-AUC", "balanced acc."):
        table.add_column(col)
    table.add_row(
        str(result["n_images"]), str(result["n_subjects"]), f"{result['accuracy']:.3f}", f"{result['recall']:.3f}",
        f"{result['f1']:.3f}", f"{result['auc']:.3f}", f"{result['balanced_accuracy']:.3f}",
    )
    console.print(table)
    if result["skipped"]:
        console.print(f"skipped: {result['skipped']}")
    if overlap:
        console.print(
            f"[yellow]note:[/] {len(overlap)} of {len(evaluated)} subjects were in the shipped model's training "
            "data; these numbers are optimistic. Honest numbers: subject-held-out CV, docs/research/sobriety-models.md."
        )


@eval_app.command("thermal-compare")
@handle_errors
def eval_thermal_compare(
    dataset: Annotated[Path, typer.Option(help="folder laid out like patras_thermal")],
    out: Annotated[Path, typer.Option(help="JSON file for the comparison (metrics and out-of-fold predictions)")],
    epochs: Annotated[int, typer.Option(min=1, max=200, help="ResNet epochs per fold")] = 40,
    seed: Annotated[int, typer.Option(help="fold and training seed")] = 0,
    ship: Annotated[
        Path | None, typer.Option(help="also fit the HOG + LR model on all subjects and write it to this folder")
    ] = None,
) -> None:
    """ResNet vs HOG + logistic regression per view and fused per visit, subject-disjoint 5-fold CV."""
    from soberpay_lab.evaluation.thermal_compare import compare, save
    from soberpay_lab.training.thermal_resnet import load_arrays

    data = load_arrays(dataset)
    result = compare(data, seed=seed, epochs=epochs, progress=lambda m: console.print(m))
    save(result, out)
    table = Table(title="Thermal face state, subject-disjoint 5-fold CV (ROC-AUC, 95 % subject bootstrap)")
    for col in ("method", "eyes", "front", "profile", "visit fusion"):
        table.add_column(col)
    for name, per_view in result["per_view"].items():
        cells = [
            f"{per_view[v]['auc']:.3f} [{per_view[v]['auc_ci_low']:.2f}, {per_view[v]['auc_ci_high']:.2f}]"
            for v in ("e", "f", "r")
        ]
        fused = result["visit_fusion"][name]
        table.add_row(name, *cells, f"{fused['auc']:.3f} [{fused['auc_ci_low']:.2f}, {fused['auc_ci_high']:.2f}]")
    console.print(table)
    if ship is not None:
        from soberpay_lab.training.thermal_hog import train_and_ship_hog

        train_and_ship_hog(dataset, ship, result)
        console.print(f"HOG + LR face-state model written to {ship}")
