"""The shipped behaviour LSTM (ONNX) and a tiny training run (torch → ONNX parity)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from soberpay.adapters.behaviour_onnx import DEFAULT_MODEL, OnnxBehaviourScorer
from soberpay.domain.behaviour import N_FEATURES, encode_sequence
from soberpay.errors import ConfigError, InvalidInput
from soberpay_lab.training.synthetic_visits import make_synthetic_dataset


def test_shipped_model_and_card() -> None:
    card = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    assert "SYNTHETIC" in card["data"] and card["input"]["features"]
    m = card["metrics_synthetic_test_full_visits"]
    assert 0.0 <= m["precision"] <= 1.0 and m["n"] > 0
    scorer = OnnxBehaviourScorer()
    _, visits = make_synthetic_dataset(40, 3, 0.5, seed=1234)  # guests unseen in training (other seed)
    scores = [(scorer.score(encode_sequence(v.events, v.start, v.mean_order_fen)), v.label) for v in visits]
    assert all(0.0 <= s <= 1.0 for s, _ in scores)
    mean_pos = sum(s for s, y in scores if y) / max(1, sum(y for _, y in scores))
    mean_neg = sum(s for s, y in scores if not y) / max(1, sum(1 - y for _, y in scores))
    assert mean_pos > mean_neg + 0.3


def test_scorer_rejects_bad_shapes_and_missing_model(tmp_path: Path) -> None:
    assert OnnxBehaviourScorer().score([]) == 0.0
    with pytest.raises(InvalidInput):
        OnnxBehaviourScorer().score([[0.0] * (N_FEATURES - 1)])
    with pytest.raises(ConfigError):
        OnnxBehaviourScorer(tmp_path / "missing.onnx").score([[0.0] * N_FEATURES])


def test_tiny_training_run_exports_matching_onnx(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from soberpay_lab.training.behaviour_lstm import BehaviourConfig, BehaviourLSTM, train_behaviour

    card = train_behaviour(tmp_path, BehaviourConfig(n_guests=30, visits_per_guest=3, epochs=1, threads=1))
    assert (tmp_path / "behaviour_lstm.onnx").is_file() and card["n_guests"]["test"] == 4
    assert "metrics_synthetic_test_prefixes" in card
    # parity: the exported graph computes what the torch module computes
    model = BehaviourLSTM()
    from soberpay_lab.training.behaviour_lstm import export_onnx

    export_onnx(model, tmp_path / "m.onnx")
    rows = [[0.1 * (i + j) for j in range(N_FEATURES)] for i in range(7)]
    with torch.no_grad():
        expected = float(model(torch.tensor([rows], dtype=torch.float32))[0])
    assert OnnxBehaviourScorer(tmp_path / "m.onnx").score(rows) == pytest.approx(expected, abs=1e-5)
