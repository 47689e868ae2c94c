"""Video frames from a camera, a file, an RTSP stream or uploaded bytes — frames stay in memory.

* :class:`OpenCVFrameSource` (``FrameSource`` port): ``"0"`` (camera index), a file path or a URL
  such as ``rtsp://…``; yields ``(timestamp_seconds, frame)``.
* :func:`frames_from_video_bytes`: decodes an uploaded video **without writing it to disk**: the
  bytes go into an anonymous memory file (``os.memfd_create``, RAM-backed, never linked into any
  file system) that OpenCV reads through ``/proc/self/fd/N``. Linux only.

Undecodable input raises :class:`soberpay.errors.BadImage`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from soberpay.errors import BadImage
from soberpay.ports import ImageBGR

__all__ = [
    "CLIP_MAX_FRAME_PIXELS",
    "DEFAULT_MAX_VIDEO_BYTES",
    "MemoryVideoSource",
    "OpenCVFrameSource",
    "frames_from_video_bytes",
]

DEFAULT_MAX_VIDEO_BYTES = 200_000_000
DEFAULT_MAX_FRAME_PIXELS = 40_000_000
CLIP_MAX_FRAME_PIXELS = 1280 * 720  # a tablet liveness clip: 60 such frames are ~170 MB decoded


def _as_bgr(frame: Any) -> ImageBGR | None:
    if frame is None:
        return None
    arr = np.asarray(frame)
    if arr.dtype != np.uint8:
        return None
    if arr.ndim == 2:
        return np.ascontiguousarray(cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR))
    if arr.ndim == 3 and arr.shape[2] == 4:
        return np.ascontiguousarray(cv2.cvtColor(arr, cv2.COLOR_BGRA2BGR))
    if arr.ndim == 3 and arr.shape[2] == 3:
        return arr
    return None


def _position_seconds(cap: Any) -> float:
    """The capture's position in the container, in seconds."""
    return float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0


def _strided_frames(
    cap: Any, stride: int, max_frames: int | None, stamp: Callable[[], float]
) -> Iterator[tuple[float, ImageBGR]]:
    """Read ``cap`` to its end keeping every ``stride``-th frame (undecodable ones are skipped), at most
    ``max_frames`` (``None``: no cap); each kept frame is yielded with ``stamp()``."""
    yielded = 0
    i = 0
    while max_frames is None or yielded < max_frames:
        ok, raw = cap.read()
        if not ok:
            break
        i += 1
        if (i - 1) % stride:
            continue
        frame = _as_bgr(raw)
        if frame is None:
            continue
        yielded += 1
        yield stamp(), frame


class OpenCVFrameSource:
    """``FrameSource`` over ``cv2.VideoCapture``: a camera index (``"0"``), a video file or an RTSP URL.

    ``max_frames`` caps how many frames are yielded; ``stride`` keeps every n-th frame. Timestamps
    come from the container for files and from a monotonic clock for live sources. The capture is
    released when iteration ends or :meth:`close` is called. A network stream that cannot be opened
    within ``open_timeout_s``, or whose read blocks longer than ``read_timeout_s`` (a camera that fell
    off the network without closing the connection), ends instead of hanging, so the room worker can
    reconnect.
    """

    def __init__(
        self,
        spec: str | int | Path,
        *,
        max_frames: int | None = None,
        stride: int = 1,
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 5.0,
    ) -> None:
        self.spec = spec
        self.max_frames = max_frames
        self.stride = max(1, stride)
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self._cap: Any = None

    @property
    def is_live(self) -> bool:
        s = str(self.spec)
        return isinstance(self.spec, int) or s.isdigit() or "://" in s

    def _open(self) -> Any:
        spec = self.spec
        if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
            cap = cv2.VideoCapture(int(spec))
            what = f"camera {spec}"
        else:
            s = str(spec)
            if "://" not in s and not Path(s).is_file():
                raise BadImage(f"video file not found: {s}", source=s)
            if "://" in s:
                timeouts = [
                    cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                    int(self.open_timeout_s * 1000),
                    cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                    int(self.read_timeout_s * 1000),
                ]
                cap = cv2.VideoCapture(s, cv2.CAP_FFMPEG, timeouts)
                what = "video stream"
            else:
                cap = cv2.VideoCapture(s)
                what = f"video file {Path(s).name}"
        if not cap.isOpened():
            cap.release()
            raise BadImage(f"cannot open {what}", source=str(spec))
        return cap

    def frames(self) -> Iterator[tuple[float, ImageBGR]]:
        self._cap = cap = self._open()
        start = time.monotonic()
        live = self.is_live

        def stamp() -> float:
            return time.monotonic() - start if live else _position_seconds(cap)

        try:
            yield from _strided_frames(cap, self.stride, self.max_frames, stamp)
        finally:
            self.close()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class MemoryVideoSource:
    """``FrameSource`` over encoded video bytes held in an anonymous memory file (never on disk)."""

    def __init__(
        self,
        data: bytes,
        *,
        max_frames: int = 300,
        stride: int = 1,
        max_bytes: int = DEFAULT_MAX_VIDEO_BYTES,
        max_frame_pixels: int = DEFAULT_MAX_FRAME_PIXELS,
    ) -> None:
        if not hasattr(os, "memfd_create") or not sys.platform.startswith("linux"):
            raise BadImage("decoding uploaded video in memory needs Linux (memfd_create)")
        if len(data) == 0:
            raise BadImage("empty video (0 bytes)")
        if len(data) > max_bytes:
            raise BadImage(f"video too large: {len(data)} bytes > limit {max_bytes}", size=len(data), limit=max_bytes)
        self._data = data
        self.max_frames = max_frames
        self.stride = max(1, stride)
        self.max_frame_pixels = max_frame_pixels
        self._fd: int | None = None
        self._cap: Any = None

    def _open(self) -> Any:
        fd = os.memfd_create("soberpay-upload", os.MFD_CLOEXEC)
        self._fd = fd
        view = memoryview(self._data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.lseek(fd, 0, os.SEEK_SET)
        cap = cv2.VideoCapture(f"/proc/self/fd/{fd}", cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            self.close()
            raise BadImage("not a decodable video")
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if w * h > self.max_frame_pixels:
            cap.release()
            self.close()
            raise BadImage(f"video frames {w}x{h} exceed the pixel limit {self.max_frame_pixels}")
        self._cap = cap
        return cap

    def frames(self) -> Iterator[tuple[float, ImageBGR]]:
        cap = self._open()
        try:
            yield from _strided_frames(cap, self.stride, self.max_frames, lambda: _position_seconds(cap))
        finally:
            self.close()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def frames_from_video_bytes(
    data: bytes,
    *,
    max_frames: int = 300,
    stride: int = 1,
    max_bytes: int = DEFAULT_MAX_VIDEO_BYTES,
) -> list[ImageBGR]:
    """Decode up to ``max_frames`` frames (every ``stride``-th) of an uploaded video, in memory.

    Raises ``BadImage`` for empty, oversized or undecodable input, or a video without any frame.
    """
    source = MemoryVideoSource(data, max_frames=max_frames, stride=stride, max_bytes=max_bytes)
    frames = [frame for _, frame in source.frames()]
    if not frames:
        raise BadImage("the video contains no decodable frames")
    return frames
