"""Real MediaPipe signal scales of a *sober, still* guest vs the SYNTHETIC expression generator.

Plain script (not part of the test suite). It builds "webcam watching a still person" sequences
from the bundled still photos - per frame: sub-pixel translation, tiny scale jitter, brightness
flicker, Gaussian sensor noise and an in-memory JPEG re-compression - and runs them through the
REAL live path: ``FrameAnalyzer`` (MediaPipe Face Mesh, video tracking mode) →
``expression_score_from_frames`` (resample to 15 fps → ``expression_sequence`` → classifier).
Nothing is written to disk; frames are decoded from bytes and stay in memory.

It prints, per ``expression_sequence`` column, mean / std / frame-to-frame diff std for
(a) the real still-photo sequences, (b) sober windows of the SYNTHETIC generator, and the shipped
classifier's P(drunk) on both, plus synthetic drunk windows for reference.

    .venv/bin/python benchmarks/expression_signal_scales.py [--reps 2] [--frames 150] [--level 1.0]

``--level`` scales every nuisance (noise sigma, jitter, flicker) together (0.5 = clean studio
camera, 2 = poor webcam in dim light).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from soberpay.adapters.sobriety.analyzer import FrameAnalyzer  # noqa: E402
from soberpay.adapters.sobriety.expression import ExpressionClassifier  # noqa: E402
from soberpay.adapters.sobriety.face_signals import (  # noqa: E402
    FaceFrame,
    FaceMeshSignals,
    expression_score_from_frames,
    head_trajectory,
    path_speed,
)
from soberpay.adapters.sobriety.features import EXPRESSION_FEATURES, EXPRESSION_FPS  # noqa: E402

FACE_DIR = ROOT / "src" / "soberpay" / "assets" / "faces"
SAMPLES = ROOT.parent / "shared" / "data" / "samples"
COLOUR_SCALE_A = 6.0  # Settings.sobriety.colour_scale_a default


@dataclass(frozen=True)
class Nuisance:
    """Per-frame camera nuisances of a webcam filming a still person (level 1 = ordinary webcam)."""

    shift_px: float = 0.35  # std of the sub-pixel translation (camera/mount micro-vibration)
    scale: float = 0.002  # std of the relative scale jitter
    flicker: float = 0.02  # std of the brightness gain (mains flicker, auto-exposure)
    sensor_sigma: float = 3.0  # Gaussian sensor noise, grey levels
    jpeg_quality: tuple[int, int] = (80, 92)

    def scaled(self, level: float) -> Nuisance:
        q0 = int(np.clip(92 - 10 * level, 50, 95))
        return Nuisance(self.shift_px * level, self.scale * level, self.flicker * level,
                        self.sensor_sigma * level, (q0 - 10, q0))


def load_faces() -> list[tuple[str, npt.NDArray[np.uint8]]]:
    """Decode the bundled faces (and the shared sample photos, if present) from bytes in memory."""
    out = []
    paths = sorted(FACE_DIR.glob("*.jpg"))
    if SAMPLES.is_dir():
        paths += [SAMPLES / n for n in ("obama.jpg", "biden.jpg", "grace_hopper.jpg", "astronaut.png")
                  if (SAMPLES / n).is_file()]
    for p in paths:
        img = cv2.imdecode(np.frombuffer(p.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
        if img is not None:
            out.append((f"{p.parent.name}/{p.name}", np.asarray(img, np.uint8)))
    return out


def noisy_still_frames(
    img: npt.NDArray[np.uint8], n: int, rng: np.random.Generator, nz: Nuisance
) -> Iterator[npt.NDArray[np.uint8]]:
    """``n`` frames of a still photo as a webcam would deliver them (all in memory)."""
    h, w = img.shape[:2]
    base = img.astype(np.float32)
    for _ in range(n):
        s = 1.0 + rng.normal(0.0, nz.scale)
        dx, dy = rng.normal(0.0, nz.shift_px, 2)
        m = np.array([[s, 0.0, (1 - s) * w / 2 + dx], [0.0, s, (1 - s) * h / 2 + dy]], np.float32)
        f = cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        f = f * (1.0 + rng.normal(0.0, nz.flicker)) + rng.normal(0.0, nz.sensor_sigma, f.shape)
        f8 = np.clip(f + 0.5, 0, 255).astype(np.uint8)
        quality = int(rng.integers(*nz.jpeg_quality, endpoint=True))
        ok, enc = cv2.imencode(".jpg", f8, [cv2.IMWRITE_JPEG_QUALITY, quality])
        yield np.asarray(cv2.imdecode(enc, cv2.IMREAD_COLOR), np.uint8) if ok else f8


class _Recorder:
    """Wraps the classifier: keeps the exact sequence the live path builds, returns its score."""

    def __init__(self, model: ExpressionClassifier) -> None:
        self.model = model
        self.seqs: list[npt.NDArray[np.float32]] = []

    def score(self, seq: npt.NDArray[np.float32]) -> float:
        self.seqs.append(np.asarray(seq, np.float32))
        return self.model.score(seq)


def real_still_sequence(
    img: npt.NDArray[np.uint8], n_frames: int, seed: int, nz: Nuisance, model: ExpressionClassifier,
    baseline_frames: int = 45,
) -> tuple[npt.NDArray[np.float32], float, list[FaceFrame]] | None:
    """Run one noisy-still sequence through FrameAnalyzer + expression_score_from_frames.

    The colour baseline is the guest's own mean a* over the first ``baseline_frames`` (as the
    monitor's baseline period does). Returns (sequence, P(drunk), frames) or None if no face."""
    rng = np.random.default_rng(seed)
    analyser = FrameAnalyzer(FaceMeshSignals(static_image_mode=False, open_ear=0.3), None, max_side=640)
    frames: list[FaceFrame] = []
    try:
        for i, fr in enumerate(noisy_still_frames(img, n_frames, rng, nz)):
            res = analyser.analyse(fr, i / EXPRESSION_FPS)
            if res.face is not None:
                frames.append(res.face)
    finally:
        analyser.close()
    if len(frames) < 0.8 * n_frames:
        return None
    red = np.array([f.redness for f in frames[:baseline_frames]])
    red = red[np.isfinite(red)]
    baseline = float(red.mean()) if red.size else None
    rec = _Recorder(model)
    p = expression_score_from_frames(frames, baseline, COLOUR_SCALE_A, rec)
    if not rec.seqs or not np.isfinite(p):
        return None
    return rec.seqs[-1], p, frames


def column_stats(seqs: list[npt.NDArray[np.float32]]) -> dict[str, tuple[float, float, float]]:
    """Per column: mean over windows of (window mean, window std, std of frame-to-frame diff)."""
    out = {}
    for j, name in enumerate(EXPRESSION_FEATURES):
        m = np.mean([s[:, j].mean() for s in seqs])
        sd = np.mean([s[:, j].std() for s in seqs])
        dd = np.mean([np.diff(s[:, j]).std() for s in seqs])
        out[name] = (float(m), float(sd), float(dd))
    return out


def raw_stats(frames_list: list[list[FaceFrame]]) -> dict[str, float]:
    """Raw landmark-level jitter: frame-to-frame step std of gaze (eye widths) / head (IOD) / openness."""
    g, h, e = [], [], []
    for frames in frames_list:
        gz = np.array([f.gaze_xy for f in frames])
        hd = head_trajectory(frames)
        op = np.array([f.eye_openness for f in frames])
        g.append(np.diff(gz, axis=0).std(axis=0).mean())
        h.append(np.diff(hd, axis=0).std(axis=0).mean())
        e.append(np.diff(op).std())
    return {"gaze_step_std": float(np.mean(g)), "head_step_std": float(np.mean(h)),
            "openness_step_std": float(np.mean(e))}


def head_speed_definitions(frames_list: list[list[FaceFrame]]) -> tuple[float, float, float, float]:
    """Mean head speed (IOD/s, 1-s detrended path speed, as FaceSignalWindow) and raw step std (IOD)
    of the real still sequences under the OLD per-frame definition (nose px / that frame's IOD) and
    the CURRENT one (nose px / the window's median IOD), measured on the same frames."""
    old_v, new_v, old_s, new_s = [], [], [], []
    for frames in frames_list:
        t = np.array([f.t for f in frames])
        old = np.array([f.nose_px for f in frames]) / np.array([f.iod_px for f in frames])[:, None]
        new = head_trajectory(frames)
        det = max(3, int(EXPRESSION_FPS))
        old_v.append(path_speed(t, old, det))
        new_v.append(path_speed(t, new, det))
        old_s.append(float(np.diff(old, axis=0).std(axis=0).mean()))
        new_s.append(float(np.diff(new, axis=0).std(axis=0).mean()))
    return float(np.mean(old_v)), float(np.mean(new_v)), float(np.mean(old_s)), float(np.mean(new_s))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2, help="noisy sequences per photo")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--level", type=float, default=1.0, help="scale of all camera nuisances")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model-dir", type=Path, default=None)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    nz = Nuisance().scaled(args.level)
    model = ExpressionClassifier(args.model_dir)
    t0 = time.time()
    real_seqs, real_p, real_frames, names = [], [], [], []
    for k, (name, img) in enumerate(load_faces()):
        for r in range(args.reps):
            out = real_still_sequence(img, args.frames, args.seed * 1000 + 10 * k + r, nz, model)
            if out is None:
                print(f"  {name} rep {r}: no face in enough frames, skipped")
                continue
            seq, p, frames = out
            real_seqs.append(seq)
            real_p.append(p)
            real_frames.append(frames)
            names.append(f"{name}#{r}")
    real_s = time.time() - t0
    if not real_seqs:
        raise SystemExit("no face found in any sequence")

    from soberpay_lab.training.synthetic_faces import synthetic_subject, synthetic_window

    rng = np.random.default_rng(args.seed + 7)
    syn_sober, syn_drunk = [], []
    for sid in range(40):
        subj = synthetic_subject(sid, rng)
        syn_sober.append(synthetic_window(subj, 0.0, rng, args.frames))
        syn_drunk.append(synthetic_window(subj, float(rng.uniform(0.3, 1.0)), rng, args.frames))
    p_sober = np.asarray(model.predict_proba(np.stack(syn_sober)), np.float64)
    p_drunk = np.asarray(model.predict_proba(np.stack(syn_drunk)), np.float64)

    print(f"\nnuisance level {args.level}: shift {nz.shift_px:.2f} px, scale {nz.scale:.4f}, flicker {nz.flicker:.3f}, "
          f"sensor sigma {nz.sensor_sigma:.1f}, JPEG q {nz.jpeg_quality}")
    print(f"model: {model.model_dir} (version {model.card.get('version')})")
    print(f"{len(real_seqs)} REAL MediaPipe still sequences x {args.frames} frames ({real_s:.0f} s); "
          f"40 SYNTHETIC sober + 40 SYNTHETIC drunk windows\n")
    rs, ss, ds = column_stats(real_seqs), column_stats(syn_sober), column_stats(syn_drunk)
    print("| column | real still: mean / std / diff std | synthetic sober: mean / std / diff std | "
          "synthetic drunk: mean / std / diff std | diff-std ratio real / syn. sober |")
    print("|---|---|---|---|---|")
    for name in EXPRESSION_FEATURES:
        a, b, c = rs[name], ss[name], ds[name]
        ratio = a[2] / b[2] if b[2] > 1e-9 else float("nan")
        print(f"| `{name}` | {a[0]:.4f} / {a[1]:.4f} / {a[2]:.4f} | {b[0]:.4f} / {b[1]:.4f} / {b[2]:.4f} | "
              f"{c[0]:.4f} / {c[1]:.4f} / {c[2]:.4f} | {ratio:.2f} |")
    raw = raw_stats(real_frames)
    print(f"\nraw per-frame step std (real still): gaze {raw['gaze_step_std']:.5f} eye widths, "
          f"head {raw['head_step_std']:.5f} IOD, eye openness {raw['openness_step_std']:.4f}")
    ov, nv, os_, ns = head_speed_definitions(real_frames)
    print(f"head micro-movement of the real still faces (same frames): per-frame-IOD definition (old) "
          f"{ov:.3f} IOD/s, step std {os_:.4f} IOD; window-median-IOD definition (current) {nv:.3f} IOD/s, "
          f"step std {ns:.4f} IOD; ratio old/current {ov / max(nv, 1e-9):.1f}")
    rp = np.array(real_p)
    print(f"\nP(drunk) of the classifier: REAL still (sober) mean {rp.mean():.3f} median {np.median(rp):.3f} "
          f"min {rp.min():.3f} max {rp.max():.3f}; share >= 0.5: {np.mean(rp >= 0.5):.2f}, "
          f">= 0.7: {np.mean(rp >= 0.7):.2f}")
    print(f"                            SYNTHETIC sober mean {p_sober.mean():.3f}, "
          f"SYNTHETIC drunk mean {p_drunk.mean():.3f}")
    for n, p in zip(names, real_p, strict=True):
        print(f"  {n:40s} P = {p:.3f}")


if __name__ == "__main__":
    main()
