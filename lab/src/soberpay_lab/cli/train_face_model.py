"""CLI command ``soberpay train face-model`` (registered on import by soberpay_lab.cli).

``soberpay train face-model`` trains the finance patent's semi-supervised convolutional autoencoder
face model, exports the embedding branch to ONNX and writes a JSON model card and loss curves.
torch is imported only when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from soberpay.cli._common import console, handle_errors
from soberpay.errors import ConfigError
from soberpay_lab.cli._apps import train_app
from soberpay_lab.cli._torch import need_torch


@train_app.command("face-model")
@handle_errors
def train_face_model(
    labelled: Annotated[
        Path, typer.Option("--labelled", help="folder with one sub-folder per person (e.g. ORL)")
    ],
    unlabelled: Annotated[
        Path | None,
        typer.Option(
            "--unlabelled",
            help="folder of unlabelled face images (any layout). Omit it to split --labelled: "
            "held-out people for evaluation, and part of the training people's labels withheld",
        ),
    ] = None,
    gamma: Annotated[
        float, typer.Option(help="Loss = gamma*LossA + (1-gamma)*LossB; (0.5, 1), 1 = supervised-only ablation")
    ] = 0.7,
    out: Annotated[Path, typer.Option(help="output folder for the ONNX file, model card and plot")] = Path(
        "var/models/autoencoder"
    ),
    seed: Annotated[int, typer.Option(help="seed for the split, label withholding and training")] = 0,
    heldout_people: Annotated[int, typer.Option(help="people held out for evaluation (never trained on)")] = 10,
    labelled_fraction: Annotated[
        float | None,
        typer.Option(help="share of each training person's images that keep their label (default 0.5 "
                     "with one folder, 1.0 with --unlabelled)"),
    ] = None,
    loss_a: Annotated[str, typer.Option(help="supervised loss: cosface | arcface | softmax")] = "cosface",
    no_pool: Annotated[
        bool, typer.Option("--no-pool", help="ablation: no unlabelled pool, LossB on the labelled images only")
    ] = False,
    max_epochs: Annotated[int, typer.Option(help="safety cap; training normally stops on convergence")] = 100,
    threads: Annotated[int, typer.Option(help="torch CPU threads")] = 2,
) -> None:
    """Train the semi-supervised autoencoder face model and export it to ONNX."""
    need_torch()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from soberpay_lab.training.autoencoder import ModelConfig, TrainConfig, validate_gamma
    from soberpay_lab.training.autoencoder_pipeline import fit, prepare_dataset, write_artifacts

    validate_gamma(gamma)
    if loss_a not in ("cosface", "arcface", "softmax"):
        raise ConfigError(f"unknown --loss-a {loss_a!r} (cosface, arcface or softmax)")
    config = TrainConfig(
        gamma=gamma,
        use_unlabelled=not no_pool,
        model=ModelConfig(loss_a=loss_a),  # type: ignore[arg-type]
        max_epochs=max_epochs,
        min_epochs=min(15, max_epochs),
        seed=seed,
        threads=threads,
    )
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
    ) as progress:
        task = progress.add_task("detect + align faces", total=None, info="")
        ds = prepare_dataset(
            labelled,
            unlabelled,
            heldout_people=heldout_people,
            labelled_fraction=labelled_fraction,
            seed=seed,
            on_image=lambda: progress.advance(task),
        )
        progress.update(task, total=progress.tasks[task].completed)
        train_task = progress.add_task("train", total=config.max_epochs, info="")

        def on_epoch(log: object) -> None:
            e = log  # EpochLog
            plateau = [k for k in ("loss_a", "loss_b") if getattr(e, "plateau", {}).get(k)]
            progress.update(
                train_task,
                completed=getattr(e, "epoch", 0),
                info=f"LossA {getattr(e, 'loss_a', 0):.3f}  LossB {getattr(e, 'loss_b', 0):.3f}  "
                f"plateau: {','.join(plateau) or '-'}",
            )

        result = fit(ds, config, on_epoch=on_epoch)
        progress.update(train_task, total=len(result.history), completed=len(result.history))
    card = write_artifacts(out, result, ds)
    m = card["metrics_heldout"]
    console.print(
        f"data: {ds.info['labelled_images']} labelled + {ds.info['unlabelled_images']} unlabelled images "
        f"of {len(ds.split.train_people)} people (labelled fraction {ds.info['labelled_fraction']:.2f}); "
        f"held out: {len(ds.split.heldout_people)} people, {ds.info['heldout_images']} images"
    )
    console.print(
        f"stopped after {len(result.history)} epochs ({result.stop_reason}); "
        f"plateau epochs: {result.convergence_epoch}"
    )
    console.print(
        f"held-out: rank-1 {m['rank1']:.3f}  TAR@FAR1% {m['tar_at_far_1pct']:.3f}  "
        f"TAR@FAR0.1% {m['tar_at_far_0.1pct']:.3f}  EER {m['eer']:.3%}  "
        f"threshold@FAR0.1% {m['threshold_at_far_0.1pct']:.3f}"
    )
    console.print(f"wrote {out}/ (autoencoder_face.onnx, model_card.json, loss_curves.png)")
