"""Per-frame sobriety analysis: Face Mesh + Pose on one (downscaled) frame, for the guest monitor,
the ``soberpay assess`` CLI and the benchmarks. Frames stay in memory."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from soberpay.adapters.sobriety.face_signals import FaceFrame, FaceMeshSignals, grey_world_gains
from soberpay.adapters.sobriety.pose import PoseEstimator, PoseFrame
from soberpay.config import SobrietySettings
from soberpay.errors import InvalidInput

ImageBGR = npt.NDArray[np.uint8]


@dataclass
class FrameAnalysis:
    t: float
    face: FaceFrame | None
    pose: PoseFrame | None
    pose_ran: bool
    scale: float  # analysed image = original × scale
    image: ImageBGR | None = field(default=None, repr=False)  # the downscaled frame (memory only)


class FrameAnalyzer:
    """Face Mesh + Pose on one frame, downscaled to ``max_side``; pose on every n-th frame."""

    def __init__(
        self,
        face: FaceMeshSignals | None,
        pose: PoseEstimator | None,
        max_side: int = 640,
        pose_every_n: int = 1,
    ) -> None:
        self.face = face
        self.pose = pose
        self.max_side = max_side
        self.pose_every_n = max(1, pose_every_n)
        self._n = 0

    @classmethod
    def from_settings(cls, s: SobrietySettings, static_image: bool = False) -> FrameAnalyzer:
        return cls(
            FaceMeshSignals(static_image_mode=static_image, open_ear=s.open_ear),
            PoseEstimator(min_visibility=s.min_pose_visibility),
            max_side=s.max_frame_side,
            pose_every_n=1 if static_image else s.pose_every_n_frames,
        )

    def analyse(self, frame: ImageBGR, t: float, keep_image: bool = False) -> FrameAnalysis:
        if frame is None or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise InvalidInput("frame must be an H×W×3 uint8 BGR image")
        h, w = frame.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        img = (
            np.asarray(cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR), np.uint8)
            if scale < 1.0
            else frame
        )
        gains = grey_world_gains(img)
        face = self.face.analyse(img, t, gains) if self.face is not None else None
        pose = None
        ran = False
        if self.pose is not None and self._n % self.pose_every_n == 0:
            pose = self.pose.estimate(img, t)
            ran = True
        self._n += 1
        return FrameAnalysis(t, face, pose, ran, scale, img if keep_image else None)

    def close(self) -> None:
        if self.face is not None:
            self.face.close()
        if self.pose is not None:
            self.pose.close()


__all__ = ["FrameAnalysis", "FrameAnalyzer", "ImageBGR"]
