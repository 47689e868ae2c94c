"""The placeholder liveness refuses what is certainly not a live capture, and nothing more."""

from __future__ import annotations

import numpy as np

from soberpay.adapters.presence import DistinctFramesPresence


def test_a_single_frame_or_one_still_repeated_is_not_live_two_different_frames_are() -> None:
    check = DistinctFramesPresence().check
    still = np.zeros((8, 8, 3), np.uint8)
    moved = still.copy()
    moved[0, 0, 0] = 1
    assert not check([still], None).live
    assert not check([still, still.copy(), still.copy()], None).live
    assert check([still, moved], "c1").live
