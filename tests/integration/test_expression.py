"""Expression classifier: torch vs ONNX parity on a tiny model, shipped model output range, smoke training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from soberpay.adapters.sobriety.expression import ExpressionClassifier
from soberpay.adapters.sobriety.features import EXPRESSION_FEATURES
from soberpay.errors import ConfigError, InvalidInput
from soberpay_lab.training.synthetic_faces import make_synthetic_dataset

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny_data():  # type: ignore[no-untyped-def]
    return make_synthetic_dataset(n_subjects=6, windows_per_state=2, n_frames=96, seed=3)


def test_tiny_resnet1d_torch_onnx_parity(tmp_path: Path, tiny_data) -> None:  # type: ignore[no-untyped-def]
    from soberpay_lab.training.export import export_onnx, parity_max_abs_diff
    from soberpay_lab.training.resnet1d2d import ResNet1d

    torch.manual_seed(0)
    model = ResNet1d(len(EXPRESSION_FEATURES), widths=(8, 8), mean=[0.1] * 8, std=[2.0] * 8).eval()
    path = export_onnx(model, torch.zeros(2, 64, 8), tmp_path / "m.onnx", "features", "logit", {1: "time"})
    for t in (40, 96, 150):  # dynamic time axis
        x = torch.from_numpy(make_synthetic_dataset(1, 1, n_frames=t, seed=t).x)
        assert parity_max_abs_diff(model, path, x) < 1e-4


def test_tiny_resnet2d_torch_onnx_parity(tmp_path: Path) -> None:
    from soberpay_lab.training.export import export_onnx, parity_max_abs_diff
    from soberpay_lab.training.resnet1d2d import ResNet2d

    torch.manual_seed(0)
    model = ResNet2d(widths=(4, 8), embed_dim=8).eval()
    path = export_onnx(model, torch.zeros(1, 1, 64, 80), tmp_path / "f.onnx", "image", "feature")
    assert parity_max_abs_diff(model, path, torch.randn(3, 1, 64, 80)) < 1e-4


def test_shipped_classifier_outputs_probabilities(tiny_data) -> None:  # type: ignore[no-untyped-def]
    clf = ExpressionClassifier()
    assert clf.card["synthetic"] is True
    assert tuple(clf.card["input"]["columns"]) == EXPRESSION_FEATURES
    probs = clf.predict_proba(tiny_data.x)
    assert isinstance(probs, np.ndarray) and probs.shape == (len(tiny_data.y),)
    assert np.all((probs >= 0.0) & (probs <= 1.0))
    one = clf.score(tiny_data.x[0][:60])
    assert 0.0 <= one <= 1.0
    # on synthetic data the shipped model separates the classes clearly on average
    assert probs[tiny_data.y == 1].mean() > probs[tiny_data.y == 0].mean()


def test_classifier_rejects_bad_input(tmp_path: Path) -> None:
    clf = ExpressionClassifier()
    with pytest.raises(InvalidInput):
        clf.predict_proba(np.zeros((100, 5), dtype=np.float32))
    with pytest.raises(InvalidInput):
        clf.predict_proba(np.zeros((10, len(EXPRESSION_FEATURES)), dtype=np.float32))
    bad = np.zeros((100, len(EXPRESSION_FEATURES)), dtype=np.float32)
    bad[3, 2] = np.nan
    with pytest.raises(InvalidInput):
        clf.predict_proba(bad)
    with pytest.raises(ConfigError):
        ExpressionClassifier(model_dir=tmp_path).predict_proba(np.zeros((100, 8), dtype=np.float32))


def test_expression_training_smoke(tmp_path: Path) -> None:
    from soberpay_lab.training.expression_resnet import subject_split, train_and_ship

    data = make_synthetic_dataset(n_subjects=10, windows_per_state=2, n_frames=100, seed=5)
    tr, te = subject_split(data.subject, 0.2, seed=0)
    assert not set(data.subject[tr]) & set(data.subject[te])
    card = train_and_ship(tmp_path, seed=0, epochs=1, widths=(8, 8), dataset=data)
    assert card["synthetic"] is True
    assert set(card["permutation_importance"]) == set(EXPRESSION_FEATURES)
    assert card["onnx_parity_max_abs_diff"] < 1e-4
    saved = json.loads((tmp_path / "model_card.json").read_text())
    assert saved["input"]["columns"] == list(EXPRESSION_FEATURES)
    p = ExpressionClassifier(model_dir=tmp_path).predict_proba(data.x[:3])
    assert isinstance(p, np.ndarray) and p.shape == (3,)
