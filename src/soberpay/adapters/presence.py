"""PLACEHOLDER liveness: the conservative stand-in ``PresenceCheck`` until the real presentation-attack
detection (``adapters/vision/liveness*``) is wired in bootstrap.

It only refuses what is certainly not a live capture: fewer than two frames, or frames that are all
pixel-identical (one still uploaded several times). A printed photo moved in front of the camera, or a
screen replay, passes it: it is NOT presentation-attack detection.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from soberpay.ports import ImageBGR, PresenceResult


class DistinctFramesPresence:
    def check(self, frames: Sequence[ImageBGR], challenge_id: str | None) -> PresenceResult:
        if len(frames) < 2:
            return PresenceResult(False, ("send at least two frames (a short burst or video)",))
        first = frames[0]
        if all(f.shape == first.shape and np.array_equal(f, first) for f in frames[1:]):
            return PresenceResult(False, ("the frames are identical: a still image, not a live capture",))
        return PresenceResult(True, ())
