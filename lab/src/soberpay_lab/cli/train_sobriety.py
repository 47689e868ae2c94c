"""CLI commands: ``soberpay train sobriety <model>`` (registered on import by soberpay_lab.cli).

One sub-command per sobriety model: ``thermal`` (face state), ``expression``, ``fusion`` and
``pose-cnn``. torch is imported only when a command runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from soberpay.cli._common import console, handle_errors
from soberpay.config import Settings
from soberpay.errors import InvalidInput
from soberpay_lab.cli._apps import train_app
from soberpay_lab.cli._torch import need_torch

sobriety_train_app = typer.Typer(help="Train the sobriety models (face state, expression, ...).", no_args_is_help=True)
train_app.add_typer(sobriety_train_app, name="sobriety")

DEFAULT_THERMAL_DATA = Path("../shared/data/patras_thermal")


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console,
    ) as bar:

        def update(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done, total=total)

        yield update


def _fmt(v: float | None) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.3f}"


@sobriety_train_app.command("thermal")
@handle_errors
def train_thermal(
    dataset: Annotated[Path, typer.Option(help="Patras-style thermal folder")] = DEFAULT_THERMAL_DATA,
    out: Annotated[Path, typer.Option(help="output folder (ONNX + reference store + model card)")] = Path(
        "var/models/face_state"
    ),
    seed: Annotated[int, typer.Option(help="seed for subject folds, split and training")] = 0,
    epochs: Annotated[int, typer.Option(min=1, max=500, help="training epochs per model")] = 40,
    folds: Annotated[int, typer.Option(min=2, max=20, help="subject-group cross-validation folds")] = 5,
    views: Annotated[
        str, typer.Option(help="views to use, comma-separated from e (eyes), f (front), r (profile)")
    ] = "e,f,r",
    no_cv: Annotated[bool, typer.Option("--no-cv", help="skip cross-validation (smoke runs only)")] = False,
) -> None:
    """Train the thermal ResNet face-state model: subject-held-out CV, then the shipped model on all subjects."""
    need_torch()
    view_list = [v.strip() for v in views.split(",") if v.strip()]
    if not view_list or any(v not in ("e", "f", "r") for v in view_list):
        raise InvalidInput("--views must list e, f and/or r")
    from soberpay_lab.training.thermal_resnet import train_and_ship

    with _progress() as update:
        card = train_and_ship(dataset, out, seed=seed, epochs=epochs, n_folds=folds, views=view_list,
                              run_cv=not no_cv, progress=update)
    cv = card.get("cross_validation")
    if cv:
        table = Table(title="Thermal face state, subject-held-out CV (REAL data, kNN matching)")
        for col in ("fold", "subjects", "images", "accuracy", "recall", "F1", "ROC-AUC"):
            table.add_column(col)
        for i, f in enumerate(cv["folds"]):
            m = f["knn"]
            table.add_row(str(i + 1), " ".join(f["subjects"]), str(f["n_images"]), _fmt(m["accuracy"]),
                          _fmt(m["recall"]), _fmt(m["f1"]), _fmt(m["auc"]))
        m = cv["pooled"]["knn"]
        table.add_row("pooled", str(cv["n_subjects"]), str(cv["n_images"]), _fmt(m["accuracy"]),
                      _fmt(m["recall"]), _fmt(m["f1"]), _fmt(m["auc"]))
        b = cv["majority_baseline"]
        table.add_row("all-drunk baseline", "", "", _fmt(b["accuracy"]), _fmt(b["recall"]), _fmt(b["f1"]), "0.500")
        console.print(table)
    console.print(f"wrote {out}/ (ONNX, reference store, model card); {card['training']['seconds']} s")


@sobriety_train_app.command("expression")
@handle_errors
def train_expression(
    out: Annotated[Path, typer.Option(help="output folder (ONNX + model card)")] = Path("var/models/expression"),
    seed: Annotated[int, typer.Option(help="seed for the synthetic data, split and training")] = 0,
    epochs: Annotated[int, typer.Option(min=1, max=500, help="training epochs")] = 15,
    subjects: Annotated[int, typer.Option(min=10, max=5000, help="number of SYNTHETIC subjects")] = 200,
    windows: Annotated[int, typer.Option(min=1, max=50, help="windows per subject and state")] = 4,
) -> None:
    """Train the 1-D ResNet expression classifier on SYNTHETIC sequences (80/20 split by subject)."""
    need_torch()
    from soberpay_lab.training.expression_resnet import train_and_ship

    with _progress() as update:
        card = train_and_ship(out, seed=seed, epochs=epochs, n_subjects=subjects, windows_per_state=windows,
                              progress=update)
    m = card["synthetic_test_metrics"]
    b = card["synthetic_baseline_logreg_on_means"]
    console.print("[bold yellow]SYNTHETIC data[/] - these numbers are not a measured accuracy on real guests.")
    table = Table(title="Expression classifier on held-out SYNTHETIC subjects")
    for col in ("model", "accuracy", "recall", "F1", "ROC-AUC"):
        table.add_column(col)
    table.add_row("ResNet1d", _fmt(m["accuracy"]), _fmt(m["recall"]), _fmt(m["f1"]), _fmt(m["auc"]))
    table.add_row("logistic regression on window means", _fmt(b["accuracy"]), _fmt(b["recall"]), _fmt(b["f1"]),
                  _fmt(b["auc"]))
    console.print(table)
    imp = Table(title="Permutation importance (drop in ROC-AUC when the column is shuffled)")
    imp.add_column("feature")
    imp.add_column("AUC drop")
    imp.add_column("gradient x input share")
    for name, v in sorted(card["permutation_importance"].items(), key=lambda kv: -kv[1]["auc_drop"]):
        imp.add_row(name, f"{v['auc_drop']:.3f} ± {v['auc_drop_std']:.3f}", f"{card['gradient_saliency'][name]:.3f}")
    console.print(imp)
    console.print(f"wrote {out}/ (ONNX, model card); ONNX parity {card['onnx_parity_max_abs_diff']:.1e}")


def _bar_factory(bar: Progress) -> Any:
    def make(name: str, total: int) -> Any:
        task = bar.add_task(name, total=total)
        return lambda n=1: bar.advance(task, n)

    return make


@sobriety_train_app.command("fusion")
@handle_errors
def train_fusion_cmd(
    out: Annotated[Path | None, typer.Option(help="output folder (default: the shipped models folder)")] = None,
    subjects: Annotated[int, typer.Option(min=10, max=5000, help="number of SYNTHETIC subjects")] = 150,
    seed: Annotated[int, typer.Option(help="seed for the synthetic data and split")] = 0,
    method: Annotated[str, typer.Option(help="calibration: sigmoid (Platt) or isotonic")] = "sigmoid",
) -> None:
    """Train + calibrate the fusion SVM on SYNTHETIC subjects; evaluate on held-out synthetic subjects."""
    if method not in ("sigmoid", "isotonic"):
        raise InvalidInput("--method must be sigmoid or isotonic")
    from soberpay.adapters.sobriety.pose import default_model_dir
    from soberpay_lab.training.sobriety_fusion import train_fusion

    target = out or default_model_dir()
    s = Settings().sobriety
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("synthetic subjects", total=subjects)
        r = train_fusion(
            target,
            n_subjects=subjects,
            seed=seed,
            band=(s.sober_probability, s.drunk_probability),
            method=method,
            progress=lambda n: bar.advance(task, n),
        )
    console.print("[bold yellow]SYNTHETIC data[/] - held-out synthetic subjects, not real guests.")
    table = Table(title="Fusion SVM on held-out SYNTHETIC subjects")
    table.add_column("metric")
    table.add_column("value")
    for k in (
        "accuracy",
        "roc_auc",
        "brier",
        "ece",
        "abstain_rate",
        "decided_accuracy",
        "pose_only_accuracy",
        "sober_flusher_false_positive_rate",
        "sober_nonflusher_false_positive_rate",
        "rule_tilt_accuracy",
        "rule_rate_accuracy",
    ):
        table.add_row(k, _fmt(getattr(r, k)))
    console.print(table)
    console.print(f"wrote {target}/fusion_svm.joblib ({r.model_bytes} bytes) + model card")


@sobriety_train_app.command("pose-cnn")
@handle_errors
def train_pose_cnn_cmd(
    out: Annotated[Path | None, typer.Option(help="output folder (default: the shipped models folder)")] = None,
    per_class: Annotated[int, typer.Option(min=10, max=5000, help="SYNTHETIC windows per class")] = 250,
    epochs: Annotated[int, typer.Option(min=1, max=200)] = 12,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Pre-train the 1-D pose CNN on SYNTHETIC movement classes and export its embedding to ONNX."""
    need_torch()
    from soberpay.adapters.sobriety.pose import default_model_dir
    from soberpay_lab.training.pose_cnn import train_pose_cnn

    target = out or default_model_dir()
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        r = train_pose_cnn(target, n_per_class=per_class, epochs=epochs, seed=seed, progress_factory=_bar_factory(bar))
    console.print(
        f"SYNTHETIC held-out accuracy {r.test_accuracy:.3f} on {r.test_windows} windows; "
        f"wrote {target}/pose_cnn.onnx ({r.onnx_bytes} bytes)"
    )
