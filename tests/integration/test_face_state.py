"""Thermal face-state model: shipped artifacts, report fields, subject-disjoint splits, eval thermal CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from soberpay.adapters.sobriety.face_state import FaceStateAnalyzer, FaceStateReport
from soberpay.adapters.sobriety.thermal_preprocess import INPUT_H, INPUT_W, preprocess_thermal
from soberpay.errors import BadImage, ConfigError, InvalidInput, NotFound
from soberpay_lab.evaluation.thermal import (
    binary_metrics,
    roc_auc,
    scan_thermal_folder,
    stratified_subject_split,
    subject_group_folds,
)

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "patras_thermal"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared Patras thermal data not present")


@pytest.fixture(scope="module")
def analyzer() -> FaceStateAnalyzer:
    return FaceStateAnalyzer()


@needs_data
def test_shipped_model_loads_and_reports(analyzer: FaceStateAnalyzer) -> None:
    data = (DATA / "40mins" / "01_petros_3_e_M_20_71_032.jpg").read_bytes()
    report = analyzer.analyse(data, view="e")
    assert isinstance(report, FaceStateReport)
    assert report.state in ("normal", "abnormal", "uncertain")
    assert report.severity in ("none", "mild", "moderate", "severe")
    assert 0.0 <= report.p_abnormal <= 1.0 and 0.0 <= report.severity_score <= 1.0
    assert report.distance >= 0.0
    assert len(report.nearest) == analyzer.store.k
    assert all(h.view == "e" for h in report.nearest)  # view index restricts matching
    assert {"sharpness", "brightness", "contrast"} <= set(report.quality)
    d = json.loads(report.to_json())
    assert d["modality"] == "thermal" and d["nearest"][0]["ref_id"].startswith("ref-")
    assert "Face state (thermal)" in report.summary()
    assert analyzer.card["honest_numbers"].startswith("cross_validation")


@needs_data
def test_exclude_same_subject_and_store_has_no_names(analyzer: FaceStateAnalyzer) -> None:
    img = (DATA / "sober" / "02_giorgos_1_f_M_30_83.jpg").read_bytes()
    report = analyzer.analyse(img, view="f", exclude_subject="02")
    rows = [int(h.ref_id.split("-")[1]) for h in report.nearest]
    assert all(analyzer.store.subjects[r] != "02" for r in rows)
    assert all(s.isdigit() for s in analyzer.store.subjects)  # subject ids only, never first names


def test_bad_images_raise(analyzer: FaceStateAnalyzer) -> None:
    with pytest.raises(BadImage):
        analyzer.analyse(b"not an image")
    with pytest.raises(BadImage):
        analyzer.analyse(b"")
    with pytest.raises(BadImage):
        preprocess_thermal(np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(ConfigError):
        FaceStateAnalyzer(model_dir=Path("/nonexistent")).analyse(np.zeros((128, 160), dtype=np.uint8))


def test_preprocess_shape_and_bright_background() -> None:
    img = np.full((128, 160), 220, dtype=np.uint8)  # bright background...
    img[30:100, 50:110] = np.linspace(60, 120, 60, dtype=np.uint8)[None, :]  # darker head: the other palette
    x, q = preprocess_thermal(img)
    assert x.shape == (1, INPUT_H, INPUT_W) and x.dtype == np.float32
    assert q.bright_background_fixed
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1.0) < 1e-3


@needs_data
def test_scan_excludes_hands_and_duplicates() -> None:
    folder = scan_thermal_folder(DATA)
    assert len(folder.skipped["hand_not_face"]) == 4
    assert len(folder.skipped["byte_identical_duplicate"]) == 2
    assert len(folder.samples) == 365 and len(folder.subjects) == 31
    assert all("petros" not in s.subject_id for s in folder.samples)


@needs_data
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_subject_disjoint_splits(seed: int) -> None:
    samples = scan_thermal_folder(DATA).samples
    train, test = stratified_subject_split(samples, 0.3, seed=seed)
    assert not set(train) & set(test)
    assert len(set(train) | set(test)) == 31 and 8 <= len(test) <= 10
    sexes = {s.subject_id: s.sex for s in samples}
    assert {sexes[t] for t in test} == {"M", "F"}  # stratified by sex
    folds = subject_group_folds(samples, 5, seed=seed)
    flat = [s for f in folds for s in f]
    assert len(flat) == len(set(flat)) == 31


def test_cv_roc_plot_and_settings(tmp_path: Path) -> None:
    from soberpay.config import Settings
    from soberpay_lab.evaluation.thermal import plot_cv_roc

    preds = [{"fold": i % 2, "y": i % 4 != 0, "p_knn": (i % 5) / 4} for i in range(20)]
    out = plot_cv_roc(preds, tmp_path / "roc.png", "test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    settings = Settings(sobriety={"face_state_uncertain_low": 0.2, "face_state_uncertain_high": 0.8})
    a = FaceStateAnalyzer.from_settings(settings)
    assert (a.uncertain_low, a.uncertain_high) == (0.2, 0.8)


def test_metrics_known_answers() -> None:
    m = binary_metrics([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.2])
    assert m["accuracy"] == 0.5 and m["recall"] == 0.5 and m["f1"] == 0.5
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3]))


@needs_data
def test_eval_thermal_json_on_tiny_subset(tmp_path: Path) -> None:
    from soberpay.cli import app

    for p in sorted(DATA.rglob("3[34]_*.jpg")):  # two subjects, all sessions and views
        dest = tmp_path / p.parent.name / p.name
        dest.parent.mkdir(exist_ok=True)
        shutil.copyfile(p, dest)
    result = CliRunner().invoke(app, ["eval", "thermal", "--dataset", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {"accuracy", "recall", "f1", "auc", "n_subjects", "n_images"} <= set(out)
    assert out["n_subjects"] == 2 and out["n_images"] == 8 * len(out["views"])
    assert out["views"] == list(FaceStateAnalyzer().views)


def test_eval_thermal_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    from soberpay.cli import app

    result = CliRunner().invoke(app, ["eval", "thermal", "--dataset", str(tmp_path / "nope"), "--json"])
    assert result.exit_code != 0
    with pytest.raises(NotFound):
        scan_thermal_folder(tmp_path / "nope")


@needs_data
def test_thermal_training_smoke(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from soberpay_lab.training.thermal_resnet import train_and_ship

    small = tmp_path / "data"
    for p in sorted(DATA.rglob("0[1-4]_*_e_*.jpg")):
        dest = small / p.parent.name / p.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dest)
    out = tmp_path / "model"
    card = train_and_ship(small, out, seed=0, epochs=1, views=["e"], run_cv=False)
    assert card["cross_validation"] is None
    rep = FaceStateAnalyzer(model_dir=out).analyse((small / "sober" / "01_petros_1_e_M_20_71.jpg").read_bytes())
    assert rep.state in ("normal", "abnormal", "uncertain")


@needs_data
def test_unsupported_view_is_never_acted_on(analyzer: FaceStateAnalyzer) -> None:
    assert analyzer.views == ("e",)  # shipped model: eye close-ups only (measured best)
    img = (DATA / "60mins" / "01_petros_4_f_M_20_71.jpg").read_bytes()
    report = analyzer.analyse(img, view="f")
    assert report.state == "uncertain"
    assert any("not supported" in w for w in report.warnings)


@needs_data
def test_shipped_hog_model_scores_every_view_and_fuses_a_visit() -> None:
    """The live model (HOG + calibrated LR per view, visit fusion) on one visit of the shared data."""
    from soberpay.adapters.sobriety.face_state import HogFaceState

    model = HogFaceState()
    assert model.views == ("e", "f", "r")
    visit = {
        "e": (DATA / "40mins" / "01_petros_3_e_M_20_71_032.jpg").read_bytes(),
        "f": next((DATA / "40mins").glob("01_*_3_f_*.jpg")).read_bytes(),
    }
    report = model.analyse(visit)
    assert report.state in ("normal", "abnormal", "uncertain") and len(report.views) == 2
    assert report.degree in ("none", "mild", "moderate", "severe") and report.anomaly_type
    assert 0.0 <= report.p_abnormal <= 1.0 and report.model_version.endswith("-hog")
    with pytest.raises(InvalidInput):
        model.analyse({"x": visit["e"]})
