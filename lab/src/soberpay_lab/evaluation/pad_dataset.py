"""Build a GENERATED presentation-attack evaluation set for ``soberpay eval liveness``.

Layout written (every clip an MJPG ``.avi``, 30 fps, 1.5 s)::

    OUT/bona_fide/singer_*.avi        windows of the real face video (one person, stage light)
    OUT/attack/print_hand/*.avi       a sample photo as a print held by a moving hand (homography warps)
    OUT/attack/bent_print/*.avi       the print bent into a cylinder that flexes while it moves
    OUT/attack/screen_replay/*.avi    the photo on a screen: pixel-grid moiré, gamma, bezel, moving
    OUT/attack/cutout/*.avi           the face cut out and held over another background, moving
    OUT/attack/video_replay/*.avi     the real face video replayed on a screen (a harder species:
                                      the recorded head really is 3-D)

Attacks are GENERATED from ``/work/shared/data/samples`` photos: they imitate real attacks and are
not real attacks (no paper texture, no real screen optics, no hand occlusion); numbers measured on
them are labelled as such in the docs. Deterministic for a given ``--seed``.

Usage: ``python -m soberpay_lab.evaluation.pad_dataset OUT [--samples DIR] [--seed N]``
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

# OpenCV's stubs type every returned array loosely (Mat | ndarray[integer | floating]); frames here are
# only generated and written, so they are typed as Any rather than cast at every call.
Image = Any
FPS = 30.0
CLIP_FRAMES = 45
SIZE = (640, 480)
PHOTOS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "grace_hopper.jpg", "astronaut.png")
VIDEO = "singer_stage_whitehouse.mp4"


def write_clip(path: Path, frames: list[Image]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), FPS, (w, h))
    for f in frames:
        out.write(f)
    out.release()


def _rotation(yaw: float, pitch: float, roll: float) -> Any:
    cy, sy, cp, sp, cr, sr = (
        math.cos(yaw),
        math.sin(yaw),
        math.cos(pitch),
        math.sin(pitch),
        math.cos(roll),
        math.sin(roll),
    )
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ rx @ ry


def _project(points: npt.NDArray[np.float64], pose: tuple[float, ...], focal: float) -> Any:
    """Project 3-D points (object frame, centred) held at ``pose`` = (yaw, pitch, roll, tx, ty, dist)."""
    yaw, pitch, roll, tx, ty, dist = pose
    p = points @ _rotation(yaw, pitch, roll).T + (tx, ty, dist)
    return np.stack([focal * p[:, 0] / p[:, 2] + SIZE[0] / 2, focal * p[:, 1] / p[:, 2] + SIZE[1] / 2], 1).astype(
        np.float32
    )


def _hand_poses(rng: np.random.Generator, n: int) -> Iterator[tuple[float, ...]]:
    """A smooth hand trajectory: a few degrees to ~25° of tilt, drift, a little tremor."""
    amp = rng.uniform(0.1, 0.45, 3) * (1.0, 0.6, 0.3)
    freq = rng.uniform(0.3, 1.0, 3)
    phase = rng.uniform(0, 2 * math.pi, 3)
    for i in range(n):
        t = i / FPS
        ang = amp * np.sin(2 * math.pi * freq * t + phase) + rng.normal(0, 0.004, 3)
        yield (ang[0], ang[1], ang[2], 20 * math.sin(t * 1.3 + phase[0]), 10 * math.cos(t), rng.uniform(-3, 3) + 600)


def _background(rng: np.random.Generator) -> Image:
    base = rng.integers(30, 160, 3)
    noise = rng.normal(0, 12, (SIZE[1] // 8, SIZE[0] // 8, 3))
    bg = cv2.resize((base + noise).clip(0, 255).astype(np.uint8), SIZE, interpolation=cv2.INTER_CUBIC)
    return bg


def _render(photo: Image, pose: tuple[float, ...], bg: Image, bend: float = 0.0, mask: Image | None = None) -> Image:
    """Render the photo as a (possibly bent) sheet at ``pose`` over ``bg`` with a mesh of quads."""
    h, w = photo.shape[:2]
    scale = 460.0 / max(h, w)
    gx, gy = np.meshgrid(np.linspace(0, w, 17), np.linspace(0, h, 17))
    x = (gx - w / 2) * scale
    y = (gy - h / 2) * scale
    z = bend * (x / (w * scale / 2)) ** 2 * 60.0  # a cylinder about the vertical axis
    pts3 = np.stack([x.ravel(), y.ravel(), z.ravel()], 1)
    proj = _project(pts3, pose, focal=700.0).reshape(17, 17, 2)
    out = bg.copy()
    src_mask = np.full((h, w), 255, np.uint8) if mask is None else mask
    for r in range(16):
        for c in range(16):
            src: Any = np.array(
                [
                    [gx[r, c], gy[r, c]],
                    [gx[r, c + 1], gy[r, c + 1]],
                    [gx[r + 1, c + 1], gy[r + 1, c + 1]],
                    [gx[r + 1, c], gy[r + 1, c]],
                ],
                np.float32,
            )
            dst: Any = np.array([proj[r, c], proj[r, c + 1], proj[r + 1, c + 1], proj[r + 1, c]], np.float32)
            # warp only into the cell's bounding box (a full-frame warp per cell is 256x slower)
            x0, y0 = np.floor(dst.min(0)).astype(int).clip(0, (SIZE[0] - 1, SIZE[1] - 1))
            x1, y1 = np.ceil(dst.max(0)).astype(int).clip(1, SIZE)
            if x1 <= x0 or y1 <= y0:
                continue
            m = cv2.getPerspectiveTransform(src, dst - np.array([x0, y0], np.float32))
            box = (int(x1 - x0), int(y1 - y0))
            warped = cv2.warpPerspective(photo, m, box, flags=cv2.INTER_LINEAR)
            wm = cv2.warpPerspective(src_mask, m, box, flags=cv2.INTER_NEAREST)
            cell: Any = np.zeros(box[::-1], np.uint8)
            cv2.fillConvexPoly(cell, (dst - np.array([x0, y0], np.float32)).round().astype(np.int32), (255,))
            sel = (cell > 0) & (wm > 0)
            out[y0:y1, x0:x1][sel] = warped[sel]
    return out


def _camera(frame: Image, rng: np.random.Generator) -> Image:
    """Camera look: slight blur, sensor noise, JPEG-like softness."""
    f = cv2.GaussianBlur(frame, (3, 3), 0.6).astype(np.float32) + rng.normal(0, 2.0, frame.shape)
    return np.asarray(f.clip(0, 255), dtype=np.uint8)


def _screen(photo: Image, rng: np.random.Generator) -> Image:
    """The photo as shown on an LCD filmed by a camera: gamma, RGB sub-pixel grid (moiré), bezel."""
    h, w = photo.shape[:2]
    gamma = rng.uniform(0.7, 1.4)
    img = (255.0 * (photo / 255.0) ** gamma).astype(np.float32)
    pitch = rng.uniform(2.2, 3.4)  # screen pixels per photo pixel after the camera's resampling
    yy, xx = np.mgrid[0:h, 0:w]
    grid = 0.82 + 0.18 * np.cos(2 * math.pi * xx / pitch) * np.cos(2 * math.pi * yy / pitch)
    img = img * grid[..., None] * rng.uniform(0.8, 1.0, 3)
    border = int(0.06 * max(h, w))
    framed = cv2.copyMakeBorder(
        img.clip(0, 255).astype(np.uint8), border, border, border, border, cv2.BORDER_CONSTANT, value=(12, 12, 12)
    )
    return framed


def _face_box(photo: Image) -> tuple[int, int, int, int]:
    """The largest face a Haar cascade finds (OpenCV's bundled model), else the centre."""
    h, w = photo.shape[:2]
    casc = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")  # type: ignore[attr-defined]
    faces = casc.detectMultiScale(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), 1.1, 5)
    box = max(faces, key=lambda f: f[2] * f[3]) if len(faces) else (w // 4, h // 4, w // 2, h // 2)
    return int(box[0]), int(box[1]), int(box[2]), int(box[3])


def _cutout_mask(photo: Image) -> Image:
    """An elliptical cut-out around the face."""
    h, w = photo.shape[:2]
    x, y, fw, fh = _face_box(photo)
    mask: Any = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (int(x + fw / 2), int(y + fh / 2)), (int(fw * 0.75), int(fh * 0.95)), 0, 0, 360, (255,), -1)
    return mask


def attack_clip(photo: Image, species: str, rng: np.random.Generator) -> list[Image]:
    bg = _background(rng)
    poses = list(_hand_poses(rng, CLIP_FRAMES))
    source, mask = photo, None
    if species == "screen_replay":
        source = _screen(photo, rng)
    elif species == "cutout":
        mask = _cutout_mask(photo)
    bend0 = rng.uniform(0.3, 0.8) if species == "bent_print" else 0.0
    frames = []
    for i, pose in enumerate(poses):
        bend = bend0 * (1.0 + 0.3 * math.sin(i / FPS * 2.0)) if bend0 else 0.0
        frames.append(_camera(_render(source, pose, bg, bend=bend, mask=mask), rng))
    return frames


def video_windows(video: Path, length: int = CLIP_FRAMES, stride: int = 15) -> Iterator[list[Image]]:
    """Windows of ``length`` frames with a usable face and no scene cut, every ``stride`` frames."""
    from soberpay.adapters.vision.pipeline import build_detector
    from soberpay.adapters.vision.video import OpenCVFrameSource
    from soberpay.config import load_settings

    detector = build_detector(load_settings())
    frames: list[Image] = [f for _, f in OpenCVFrameSource(video).frames()]
    start = 0
    while start + length <= len(frames):
        win = frames[start : start + length]
        hists = [cv2.calcHist([cv2.cvtColor(f, cv2.COLOR_BGR2GRAY)], [0], None, [32], [0, 256]) for f in win]
        cut = any(cv2.compareHist(a, b, cv2.HISTCMP_CORREL) < 0.8 for a, b in zip(hists, hists[1:], strict=False))
        faces = [detector.detect(f) for f in win[:: length // 3]]
        if not cut and all(len(fs) == 1 and fs[0].box[2] >= 50 for fs in faces):
            yield win
            start += stride
        else:
            start += 5


def build(out: Path, samples: Path, seed: int = 7, clips_per_photo: int = 3) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    counts: dict[str, int] = {}
    windows = list(video_windows(samples / VIDEO))
    for i, win in enumerate(windows):
        write_clip(out / "bona_fide" / f"singer_{i:02d}.avi", win)
    counts["bona_fide"] = len(windows)
    for species in ("print_hand", "bent_print", "screen_replay", "cutout"):
        n = 0
        for name in PHOTOS:
            photo = cv2.imread(str(samples / name))
            if photo is None:
                continue
            for k in range(clips_per_photo):
                write_clip(out / "attack" / species / f"{Path(name).stem}_{k}.avi", attack_clip(photo, species, rng))
                n += 1
        counts[species] = n
    for i, win in enumerate(windows):
        x, y, w, h = _face_box(win[0])
        crop = (slice(max(0, y - h), y + 2 * h), slice(max(0, x - w), x + 2 * w))  # the face fills the screen
        replay = [_screen(np.ascontiguousarray(f[crop]), rng) for f in win]
        poses = list(_hand_poses(rng, len(replay)))
        bg = _background(rng)
        write_clip(
            out / "attack" / "video_replay" / f"singer_{i:02d}.avi",
            [_camera(_render(f, p, bg), rng) for f, p in zip(replay, poses, strict=True)],
        )
    counts["video_replay"] = len(windows)
    return counts


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--samples", type=Path, default=Path("/work/shared/data/samples"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--clips-per-photo", type=int, default=3)
    args = ap.parse_args(argv)
    print(build(args.out, args.samples, args.seed, args.clips_per_photo))


if __name__ == "__main__":
    main()
