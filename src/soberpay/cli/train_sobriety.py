"""CLI commands: ``soberpay train sobriety <model>`` (registered on import by soberpay.cli).

``sobriety_train_app`` is a typer sub-app so each sobriety model registers its own sub-command here
(``thermal`` and ``expression`` below; other sobriety modules may add theirs to the same app).
torch is imported only when a command runs (the ``[train]`` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from soberpay.cli._apps import train_app
from soberpay.cli._common import console, handle_errors
from soberpay.errors import ConfigError, InvalidInput

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


def _need_torch() -> None:
    """Fail early with a clear message; torch itself is imported only inside soberpay.training."""
    import importlib.util

    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("onnx") is None:
        raise ConfigError("training needs the [train] extra (torch, onnx): pip install -e '.[train]'")


def _fmt(v: float) -> str:
    return "n/a" if v != v else f"{v:.3f}"


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
    _need_torch()
    view_list = [v.strip() for v in views.split(",") if v.strip()]
    if not view_list or any(v not in ("e", "f", "r") for v in view_list):
        raise InvalidInput("--views must list e, f and/or r")
    from soberpay.training.thermal_resnet import train_and_ship

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
    _need_torch()
    from soberpay.training.expression_resnet import train_and_ship

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
