"""Biometric metrics on hand-made score sets whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from soberpay_lab.evaluation.metrics import (
    eer,
    rank1,
    roc_curve,
    tar_at_far,
    threshold_at_far,
    verification_scores,
)


def _unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


def test_rank1_perfect_and_half() -> None:
    gallery = np.stack([_unit([1, 0, 0]), _unit([0, 1, 0])])
    probes = np.stack([_unit([1, 0.1, 0]), _unit([0.1, 1, 0])])
    assert rank1(gallery, ["a", "b"], probes, ["a", "b"]) == 1.0
    assert rank1(gallery, ["a", "b"], probes, ["a", "a"]) == 0.5


def test_rank1_accepts_unnormalised_and_int_labels() -> None:
    gallery = np.array([[10.0, 0.0], [0.0, 0.1]])
    probes = np.array([[0.2, 0.01], [0.0, 5.0]])
    assert rank1(gallery, [1, 2], probes, [1, 2]) == 1.0


def test_verification_scores_best_per_person() -> None:
    gallery = np.stack([_unit([1, 0]), _unit([0.6, 0.8]), _unit([0, 1])])
    labels = ["a", "a", "b"]
    probes = np.stack([_unit([0.6, 0.8])])
    gen, imp = verification_scores(gallery, labels, probes, ["a"])
    # genuine = best over a's two templates = 1.0; impostor = cos with b = 0.8
    assert gen.shape == (1,) and imp.shape == (1,)
    assert gen[0] == pytest.approx(1.0, abs=1e-6)
    assert imp[0] == pytest.approx(0.8, abs=1e-6)


def test_threshold_and_tar_at_far() -> None:
    impostor = np.linspace(0.0, 0.99, 100)  # 100 scores 0.00 .. 0.99
    genuine = np.array([0.5, 0.95, 0.985, 0.995, 1.0])
    t = threshold_at_far(impostor, 0.01)  # may accept 1 impostor: threshold just above the 2nd highest
    assert 0.98 < t <= 0.99
    assert np.mean(impostor >= t) <= 0.01
    assert tar_at_far(genuine, impostor, 0.01) == pytest.approx(3 / 5)
    # FAR 0 → above all impostors
    t0 = threshold_at_far(impostor, 0.0)
    assert t0 > 0.99
    assert tar_at_far(genuine, impostor, 0.0) == pytest.approx(2 / 5)


def test_threshold_at_far_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        threshold_at_far([], 0.01)
    with pytest.raises(ValueError):
        threshold_at_far([0.1], 1.5)


def test_eer_separable_and_overlapping() -> None:
    assert eer([0.9, 0.8, 0.7], [0.1, 0.2, 0.3]) == pytest.approx(0.0)
    assert eer([0.1, 0.2, 0.3], [0.9, 0.8, 0.7]) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    same = rng.normal(0, 1, 20000)
    # identical distributions: EER ≈ 0.5
    assert eer(same[:10000], same[10000:]) == pytest.approx(0.5, abs=0.02)
    # two unit normals 2 sigma apart: EER = Phi(-1) ≈ 0.1587
    gen = rng.normal(2, 1, 20000)
    imp = rng.normal(0, 1, 20000)
    assert eer(gen, imp) == pytest.approx(0.1587, abs=0.01)


def test_roc_curve_monotone_and_bounded() -> None:
    rng = np.random.default_rng(1)
    roc = roc_curve(rng.normal(1, 1, 500), rng.normal(0, 1, 700))
    assert roc.far[0] == 0 and roc.tar[0] == 0
    assert roc.far[-1] == pytest.approx(1.0) and roc.tar[-1] == pytest.approx(1.0)
    assert np.all(np.diff(roc.far) >= 0) and np.all(np.diff(roc.tar) >= 0)
    assert np.all(np.diff(roc.thresholds) <= 0)
    np.testing.assert_allclose(roc.frr, 1 - roc.tar)
