"""``soberpay eval fusion``'s rules on hand-made frames (no model): the numbers in docs/guide/liveness.md
come from this code, so its ranking, fusion and failure-to-acquire bookkeeping are checked here."""

from __future__ import annotations

import numpy as np
import pytest

from soberpay_lab.evaluation.fusion import Frame, evaluate_fusion


def _person(name: str, axis: int, probes: list[tuple[list[float], float] | None]) -> list[Frame]:
    gallery = np.zeros(3, dtype=np.float32)
    gallery[axis] = 1.0
    frames = [Frame(name, gallery, 1.0)]
    for p in probes:
        frames.append(Frame(name, None, 0.0) if p is None else Frame(name, np.asarray(p[0], np.float32), p[1]))
    return frames


def test_best_frame_is_the_highest_quality_one_and_top_k_averages() -> None:
    # a's best-quality frame points at b: the single best frame is fooled, the top-3 mean is not
    a = _person("a", 0, [([0.0, 1.0, 0.0], 0.9), ([1.0, 0.0, 0.0], 0.5), ([1.0, 0.0, 0.0], 0.4)])
    b = _person("b", 1, [([0.0, 1.0, 0.0], 0.9)] * 3)
    c = _person("c", 2, [([0.0, 0.0, 1.0], 0.9)] * 3)
    r = evaluate_fusion([a, b, c], fuse_top=3)
    assert r.n_genuine == 3 and r.n_impostor == 6
    assert r.eer["best"] > 0.0
    assert r.eer["top-k mean"] == 0.0
    # quality weights favour the bad frame: a scores (0.5 + 0.4) / 1.8 = 0.5 for a and for b, a tie
    assert r.eer["top-k quality-weighted"] > 0.0
    assert r.tar["top-k mean"] == pytest.approx(1.0)


def test_clip_without_qualified_frame_is_a_failure_to_acquire_not_a_score() -> None:
    a = _person("a", 0, [None, None])
    b = _person("b", 1, [([0.0, 1.0, 0.0], 0.9)] * 2)
    r = evaluate_fusion([a, b])
    assert r.failed_to_acquire == 1
    assert r.n_genuine == 1 and r.n_impostor == 1
