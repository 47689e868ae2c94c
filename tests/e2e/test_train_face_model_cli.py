"""`soberpay train face-model` end to end on a tiny ORL subset (2 epochs): artifacts and model card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")

from soberpay.cli import app  # noqa: E402


def _tiny_orl(src: Path, dst: Path, people: int = 5, images: int = 4) -> Path:
    for i in range(1, people + 1):
        (dst / f"s{i}").mkdir(parents=True)
        for j in range(1, images + 1):
            (dst / f"s{i}" / f"{j}.pgm").write_bytes((src / f"s{i}" / f"{j}.pgm").read_bytes())
    return dst


def test_train_face_model_writes_onnx_card_and_plot(shared_data: Path, tmp_path: Path) -> None:
    orl = _tiny_orl(shared_data / "orl_faces", tmp_path / "orl")
    out = tmp_path / "model"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "face-model",
            "--labelled",
            str(orl),
            "--gamma",
            "0.7",
            "--heldout-people",
            "2",
            "--max-epochs",
            "2",
            "--threads",
            "1",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    card = json.loads((out / "model_card.json").read_text())
    assert (out / "autoencoder_face.onnx").stat().st_size > 100_000
    assert (out / "loss_curves.png").is_file()
    assert card["gamma"] == 0.7 and card["split"]["kind"] == "subject-disjoint"
    assert card["labelled_fraction"] == pytest.approx(0.5)
    assert set(card["data"]["heldout_people"]).isdisjoint(card["data"]["train_people"])
    assert card["training"]["epochs"] == 2 and card["training"]["converged"] is False
    assert "loss_a" in card["training"]["convergence_epoch"]
    assert card["torch_onnx_max_abs_diff"] < 1e-4
    assert "threshold_at_far_0.1pct" in card["metrics_heldout"]


def test_gamma_outside_the_patent_range_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "face-model", "--labelled", str(tmp_path), "--gamma", "0.4", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code != 0
    assert "gamma" in result.output
    assert not (tmp_path / "o").exists()
