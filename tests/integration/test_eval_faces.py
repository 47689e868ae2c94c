"""`soberpay eval faces` and evaluate_embedder on a small ORL subset (5 people) and on bundled faces."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from soberpay.adapters.vision.sface import SFaceEmbedder
from soberpay.assets import asset_path
from soberpay.cli import app
from soberpay.errors import InvalidInput
from soberpay_lab.evaluation.faces import evaluate_embedder, list_dataset, plot_roc_det
from tests.conftest import SHARED_DATA, need

ORL = SHARED_DATA / "orl_faces"
REQUIRED_KEYS = {"rank1", "tar_at_far_1e-2", "tar_at_far_1e-3", "eer", "n_people", "n_images", "detect_rate"}


@pytest.fixture
def orl() -> Path:
    need(ORL.is_dir(), f"ORL faces not found at {ORL}")
    return ORL


@pytest.fixture
def bundled_dataset(tmp_path: Path) -> Path:
    root = tmp_path / "people"
    layout = {
        "obama": ["obama.jpg", "obama2.jpg", "obama3.jpg"],
        "biden": ["biden.jpg"],
        "hopper": ["grace_hopper.jpg"],
        "collins": ["astronaut.jpg"],
    }
    for person, files in layout.items():
        (root / person).mkdir(parents=True)
        for f in files:
            shutil.copy(asset_path("faces", f), root / person / f)
    (root / "notes.txt").write_text("not a person folder")
    return root


def test_list_dataset_natural_order(orl: Path) -> None:
    people = list_dataset(orl, max_people=3)
    assert [p for p, _ in people] == ["s1", "s2", "s3"]
    assert [x.name for x in people[0][1]][:3] == ["1.pgm", "2.pgm", "3.pgm"]
    held_out = list_dataset(orl, only_people={"s40", "s7"}, max_images_per_person=2)
    assert [(p, len(x)) for p, x in held_out] == [("s7", 2), ("s40", 2)]


def test_list_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not found"):
        list_dataset(tmp_path / "missing")
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "a.png").write_bytes(b"x")
    with pytest.raises(InvalidInput, match="at least 2 people"):
        list_dataset(tmp_path)


def test_sface_on_orl_subset(orl: Path, tmp_path: Path) -> None:
    result = evaluate_embedder(SFaceEmbedder(), orl, max_people=5)
    d = result.to_dict()
    assert REQUIRED_KEYS <= set(d)
    assert d["n_people"] == 5 and d["n_images"] == 50
    assert d["detect_rate"] == 1.0  # small-image preparation lets YuNet find every ORL face
    assert result.n_probes == 45 and result.genuine.size == 45 and result.impostor.size == 180
    assert d["rank1"] >= 0.95 and d["eer"] <= 0.05
    paths = plot_roc_det([result], tmp_path, stem="orl5")
    assert all(p.is_file() and p.read_bytes()[:4] == b"\x89PNG" for p in paths)


def test_cli_json_is_one_object(bundled_dataset: Path, tmp_path: Path) -> None:
    plots = tmp_path / "plots"
    res = CliRunner().invoke(
        app, ["eval", "faces", "--dataset", str(bundled_dataset), "--json", "--plots-dir", str(plots)]
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert REQUIRED_KEYS <= set(payload)
    assert payload["n_people"] == 4 and payload["n_images"] == 6 and payload["detect_rate"] == 1.0
    assert payload["rank1"] == 1.0  # obama2 and obama3 find obama.jpg
    assert sorted(p.name for p in plots.iterdir()) == ["people_sface_det.png", "people_sface_roc.png"]


def test_cli_table(bundled_dataset: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["eval", "faces", "--dataset", str(bundled_dataset), "--plots-dir", str(tmp_path), "--embedder", "sface"]
    )
    assert res.exit_code == 0, res.output
    assert "rank-1" in res.stdout and "sface" in res.stdout


def test_cli_bad_dataset_is_one_line_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["eval", "faces", "--dataset", str(tmp_path / "nope"), "--json"])
    assert res.exit_code != 0
    assert "not found" in res.output
