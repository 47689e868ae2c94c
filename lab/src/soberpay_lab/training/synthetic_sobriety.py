"""SYNTHETIC sober/drunk sessions for training and evaluating the fusion SVM.

There is no labelled real video of sober and drunk guests here, so this generator simulates guests
and runs the simulated raw signals through the SAME code as live inference (FaceSignalWindow,
PoseTimeSeries, pose CNN + the guest's normal model, GuestBaseline, fusion_vector). Everything it
produces is SYNTHETIC; numbers measured on it are synthetic and are labelled so.

Each synthetic subject has personal traits (eye-opening, blink rate and duration, skin redness,
a habitual lean or camera roll, sway, fidgeting) and an intoxication level k (0 sober … 1 very
drunk). Effects follow the direction reported in the literature, with large person-to-person
spread and overlap on purpose:

* eyes: lid droop (lower openness), longer blinks, more long closures → higher PERCLOS
  (e.g. drowsiness/alcohol studies of blink duration and PERCLOS);
* gaze: slower saccades and more jitter (alcohol gaze nystagmus);
* head and trunk: more micro-movement, larger and slower body sway, more lean (standing balance
  studies);
* colour: modest reddening for most; a strong flush after LITTLE alcohol for "flushers" (ALDH2*2,
  common in East Asian populations) — so colour alone cannot separate light drinkers from drunk
  ones;
* confounders independent of the label: singing (mouth), dancing/gesturing (arm rates), walking,
  sitting, lighting residue after grey-world, missing face (turned away) and missing expression
  score.

"sober" sessions have k in [0, 0.35] (including light drinking); "drunk" sessions k in [0.45, 1].

**Measurement noise floor.** The simulated face frames carry the same per-subject camera +
MediaPipe noise floor as the expression generator (``synthetic_faces.draw_noise_floor`` /
``measurement_noise`` / ``measured_nose_iod``, measured on real MediaPipe output of still faces,
``benchmarks/expression_signal_scales.py``): it is drawn per subject independently of the label,
and every alcohol effect above is a change of the physiological component on top of it. Frames
carry nose pixels + inter-ocular distance like real ones, so the head trajectory goes through the
live ``head_trajectory``. Blinks follow a close / hold / reopen lid profile sampled at the frame
times (a 0.15 s blink is not 0.15 s of fully shut eyes), and the physiological gaze tremor is drawn
on the scale of the expression generator's, so PERCLOS and gaze jitter of sober windows sit at the
scale the expression classifier was trained on (the first version's were 3-10x larger, and the
classifier scored its sober windows ≈ 0.79).

**Real signal scales** (``benchmarks/sobriety_false_alarms.py --scales``, measured on the singer clip,
the pedestrian video and still sample photos with simulated camera noise; docs/research/
sobriety-models.md): gaze jitter runs from 0.005 eye widths/s (a still face: landmark noise only) to
≈ 0.2 (a singer reading the room), so saccade size and fixation length are per-subject traits over
that whole range (the first generator's 0.26–0.56 put every real window outside the model's range);
a singer's head moves at 3–5 inter-ocular distances/s and turns at 15–25 °/s, so singing windows
(a label-independent confounder) carry that head motion in both the face and the pose stream; and
upper-body-only views read a 15–40° "trunk tilt", so a fifth of the subjects have a large habitual
tilt (the guest's own baseline removes it; the absolute 3° rule cannot).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from soberpay.adapters.sobriety.face_signals import FaceFrame, FaceSignalWindow, expression_score_from_frames
from soberpay.adapters.sobriety.features import FUSION_FEATURES
from soberpay.adapters.sobriety.fusion import fusion_vector
from soberpay.adapters.sobriety.pose import PoseCnnEmbedder, PoseNormalModel, PoseTimeSeries
from soberpay.domain.sobriety import GuestBaseline
from soberpay_lab.training.synthetic_faces import NoiseFloor, draw_noise_floor, measured_nose_iod, measurement_noise
from soberpay_lab.training.synthetic_pose import SyntheticPoseParams, synthetic_pose_sequence

FPS = 15.0
POSE_FPS = 7.5  # pose runs on every 2nd frame by default (SobrietySettings.pose_every_n_frames)
WINDOW_S = 10.0
_EMPTY_LM = np.zeros((0, 3), np.float32)


@dataclass(frozen=True)
class SyntheticSubject:
    subject_id: int
    open_ear: float
    blink_rate_hz: float
    blink_dur_s: float
    gaze_noise: float
    gaze_saccade: float  # saccade size, eye widths (still gaze 0.005 … roaming 0.1)
    fixation_s: tuple[float, float]  # fixation length range, seconds
    head_noise: float
    skin_a: float
    flusher: bool
    habit_tilt_deg: float
    sway_amp: float
    sensitivity: float  # how strongly alcohol shows on this person
    fidget: float  # baseline arm/head movement (deg/s scale)
    floor: NoiseFloor = NoiseFloor()  # camera + landmark noise floor (label-independent)


def random_subject(sid: int, rng: np.random.Generator) -> SyntheticSubject:
    return SyntheticSubject(
        subject_id=sid,
        open_ear=float(rng.normal(0.30, 0.03)),
        blink_rate_hz=float(np.clip(rng.normal(17, 6), 4, 40) / 60.0),
        blink_dur_s=float(np.clip(rng.normal(0.15, 0.03), 0.07, 0.3)),
        gaze_noise=float(np.clip(rng.lognormal(np.log(0.001), 0.7), 0.0002, 0.01)),
        gaze_saccade=float(np.clip(rng.lognormal(np.log(0.025), 0.9), 0.003, 0.12)),
        fixation_s=(lambda lo: (lo, lo * float(rng.uniform(1.5, 4.0))))(float(rng.uniform(0.3, 1.5))),
        head_noise=float(rng.uniform(0.002, 0.01)),
        skin_a=float(rng.normal(12.0, 3.0)),
        flusher=bool(rng.random() < 0.3),
        habit_tilt_deg=float(rng.normal(0.0, 2.5))
        if rng.random() < 0.8
        else float(rng.choice([-1, 1]) * rng.uniform(8.0, 40.0)),  # upper-body view / camera roll
        sway_amp=float(rng.uniform(0.003, 0.02)),
        sensitivity=float(np.exp(rng.normal(0.0, 0.45))),
        fidget=float(rng.uniform(0.5, 4.0)),
        floor=draw_noise_floor(rng),
    )


def _lid_closure(u: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Closedness 0..1 over a blink's phase u in [0, 1): close 30 %, hold 20 %, reopen 50 %."""
    return np.asarray(np.where(u < 0.3, u / 0.3, np.where(u < 0.5, 1.0, (1.0 - u) / 0.5)))


def simulate_face_window(
    s: SyntheticSubject, k: float, t0: float, rng: np.random.Generator, lighting: float, singing: bool = False
) -> list[FaceFrame]:
    """Per-frame SYNTHETIC face measurements for one window at intoxication k."""
    e = min(1.0, k * s.sensitivity)
    n = int(WINDOW_S * FPS)
    t = t0 + np.arange(n) / FPS
    noise = measurement_noise(s.floor, n, rng)  # shared, label-independent camera/landmark floor
    open_ear = s.open_ear * (1.0 - 0.22 * e) + rng.normal(0, 0.01)
    ear = open_ear + rng.normal(0, 0.003, n)
    # blinks: Poisson events, duration grows with intoxication
    rate = s.blink_rate_hz * (1.0 + rng.normal(0.15, 0.2) * e)
    dur = s.blink_dur_s * (1.0 + 1.2 * e)
    tt = 0.0
    while True:
        tt += rng.exponential(1.0 / max(rate, 1e-3))
        if tt >= WINDOW_S:
            break
        d = dur * float(np.exp(rng.normal(0, 0.25)))
        if rng.random() < 0.04 * e * 3:  # long closure (eyes shut 0.5–1.5 s)
            d = float(rng.uniform(0.5, 1.5))
        sel = (t - t0 >= tt) & (t - t0 < tt + d)
        depth = float(rng.uniform(0.04, 0.07))
        closed = _lid_closure((t[sel] - t0 - tt) / d)
        ear[sel] = np.minimum(ear[sel], open_ear - closed * (open_ear - depth))
    ear = ear + noise["eye"] * (0.3 - 0.05)  # openness noise of the floor, in EAR units
    # gaze: fixations + saccades (slower when drunk) + jitter
    gaze = np.zeros((n, 2))
    pos = rng.normal(0, 0.05, 2)
    i = 0
    while i < n:
        fix = max(1, int(rng.uniform(*s.fixation_s) * FPS))
        gaze[i : i + fix] = pos
        i += fix
        new = rng.normal(0, s.gaze_saccade, 2)
        ramp = max(1, int((0.05 * (1 + 1.5 * e)) * FPS))
        for r in range(ramp):
            if i + r < n:
                gaze[i + r] = pos + (new - pos) * (r + 1) / ramp
        i += ramp
        pos = new
    gaze += rng.normal(0, s.gaze_noise * (1 + 1.5 * e), gaze.shape)
    # head: drift + micro-movement (more when drunk) + sway coupling
    head = np.cumsum(rng.normal(0, s.head_noise * (1 + 1.5 * e), (n, 2)), axis=0) * 0.3
    head += rng.normal(0, s.head_noise * (1 + 1.2 * e), (n, 2))
    if singing:  # a singer's head keeps moving with the song (singer clip: 3–5 IOD/s)
        amp, hz = rng.uniform(0.02, 0.5, 2), rng.uniform(0.4, 2.0)
        phase = rng.uniform(0, 2 * np.pi, 2)
        head += amp * np.sin(2 * np.pi * hz * (t - t0)[:, None] + phase)
    nose_px, iod_px = measured_nose_iod(head, s.floor.head_offset, noise)
    mouth = np.clip((rng.uniform(0.1, 0.6, n) if singing else rng.uniform(0.0, 0.12, n)) + 0.06 * e, 0, 1)
    mouth = np.clip(mouth + noise["mouth"], 0, 1)
    gaze += noise["gaze"]
    flush = (4.0 * min(1.0, 3 * k) if s.flusher else 0.0) + 2.5 * e
    a_noise = noise["colour"] * 6.0  # floor in colour-change units (≈ a* / colour_scale_a 6) → a*
    skin = s.skin_a + flush + lighting + a_noise + rng.normal(0, 0.1, n)
    sclera = 1.0 + 2.0 * e + lighting * 0.5 + a_noise + rng.normal(0, 0.2, n)
    frames = []
    for j in range(n):
        frames.append(
            FaceFrame(
                t=float(t[j]),
                ear=float(ear[j]),
                eye_openness=float(np.clip((ear[j] - 0.05) / (0.3 - 0.05), 0, 1)),
                mouth_openness=float(mouth[j]),
                gaze_xy=(float(gaze[j, 0]), float(gaze[j, 1])),
                nose_px=(float(nose_px[j, 0]), float(nose_px[j, 1])),
                iod_px=float(iod_px[j]),
                skin_a=float(skin[j]),
                sclera_a=float(sclera[j]),
                box=(0, 0, 0, 0),
                landmarks=_EMPTY_LM,
            )
        )
    return frames


def simulate_pose_params(
    s: SyntheticSubject, k: float, rng: np.random.Generator, singing: bool = False
) -> SyntheticPoseParams:
    e = min(1.0, k * s.sensitivity)
    activity = str(rng.choice(["sitting", "standing", "walking"], p=[0.55, 0.3, 0.15]))
    p = SyntheticPoseParams(
        activity=activity,
        torso_px=float(rng.uniform(50, 180)),
        centre=(float(rng.uniform(150, 450)), float(rng.uniform(200, 300))),
        trunk_tilt_deg=s.habit_tilt_deg
        + float(rng.normal(0, 1.0))
        + e * float(rng.normal(4.0, 2.0)) * float(rng.choice([-1, 1])),
        head_angle_deg=float(rng.normal(0, 4)),
        arm_angle_deg=float(rng.uniform(5, 25)),
        arm_swing_deg=s.fidget * float(rng.uniform(0.5, 1.5)),
        arm_swing_hz=float(rng.uniform(0.2, 0.8)),
        sway_amp=s.sway_amp * (1 + 4 * e) + 0.03 * e,
        sway_hz=float(rng.uniform(0.25, 0.6)) * (1 - 0.3 * e),
        sway_tilt_deg=0.5 + 5.0 * e * float(rng.uniform(0.5, 1.5)),
        jitter_px=float(rng.uniform(0.3, 1.5)),
        seed=int(rng.integers(1 << 30)),
    )
    if singing:  # head moving with the song (singer clip: head angle rate 15–25 °/s)
        p = replace(p, head_swing_deg=float(rng.uniform(3.0, 25.0)), head_swing_hz=float(rng.uniform(0.2, 0.7)))
    if rng.random() < 0.25:  # dancing / big gestures: a label-independent confounder
        p = replace(p, arm_swing_deg=float(rng.uniform(15, 50)), arm_swing_hz=float(rng.uniform(0.5, 2.0)))
    if activity == "walking":
        p = replace(
            p,
            walk_speed=float(rng.choice([-1, 1]) * rng.uniform(0.5, 1.3) * (1 - 0.3 * e)),
            stagger=0.25 * e,
        )
    return p


@dataclass
class SyntheticDataset:
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.int64]
    groups: npt.NDArray[np.int64]
    k: npt.NDArray[np.float64]
    flusher: npt.NDArray[np.bool_]
    face_present: npt.NDArray[np.bool_]
    tilt_rule: npt.NDArray[np.bool_]  # method rule: |tilt| > 3°
    rate_rule: npt.NDArray[np.bool_]  # method rule: any angle rate > 3°/s
    features: tuple[str, ...] = FUSION_FEATURES


def _window_signals(
    s: SyntheticSubject,
    k: float,
    rng: np.random.Generator,
    embedder: PoseCnnEmbedder | None,
    expression: Any = None,
) -> tuple[dict[str, float] | None, dict[str, float] | None, npt.NDArray[np.float32] | None]:
    lighting = float(rng.normal(0, 1.0))  # residual illumination error after grey-world (a* units)
    fw = FaceSignalWindow(window_seconds=WINDOW_S + 1)
    fw.set_colour_baseline(s.skin_a * 0.7 + 1.0 * 0.3)  # the guest's own baseline (set by caller)
    singing = bool(rng.random() < 0.4)
    for f in simulate_face_window(s, k, 0.0, rng, lighting, singing):
        fw.add(f)
    fs = fw.signals()
    face = fs.as_dict() if fs is not None else None
    if face is not None and expression is not None:
        face["expression_score"] = expression_score_from_frames(list(fw.frames), fw.colour_baseline, 6.0, expression)
    pp = simulate_pose_params(s, k, rng, singing)
    t, xy = synthetic_pose_sequence(pp, WINDOW_S, POSE_FPS)
    ts = PoseTimeSeries(window_seconds=WINDOW_S + 1)
    for ti, pts in zip(t, xy, strict=True):
        ts.add(float(ti), pts)
    pf = ts.features()
    pose = pf.as_dict() if pf is not None else None
    emb = None
    if embedder is not None:
        w = ts.cnn_window()
        if w is not None:
            emb = embedder.embed(w)[0]
    return face, pose, emb


def generate(
    n_subjects: int,
    windows_per_session: int = 4,
    baseline_windows: int = 4,
    seed: int = 0,
    embedder: PoseCnnEmbedder | None = None,
    p_face_missing: float = 0.25,
    p_expression: float = 0.5,
    progress: Callable[[int], None] | None = None,
    expression: Any = None,
) -> SyntheticDataset:
    """SYNTHETIC dataset: per subject, a sober baseline period, then one sober and one drunk session."""
    rng = np.random.default_rng(seed)
    xs, ys, gs, ks, fl, fp, tr, rr = [], [], [], [], [], [], [], []
    for sid in range(n_subjects):
        s = random_subject(sid, rng)
        baseline = GuestBaseline()
        normal = PoseNormalModel(min_history=3)
        for _ in range(baseline_windows):
            face, pose, emb = _window_signals(s, float(rng.uniform(0, 0.1)), rng, embedder, expression)
            baseline.update({**(face or {}), **(pose or {})})
            if emb is not None:
                normal.add_normal(emb)
        baseline.freeze()
        for label, (lo, hi) in ((0, (0.0, 0.35)), (1, (0.45, 1.0))):
            k = float(rng.uniform(lo, hi))
            for _ in range(windows_per_session):
                face, pose, emb = _window_signals(s, k, rng, embedder, expression)
                if face is not None and rng.random() < p_face_missing:
                    face = None
                if face is not None:
                    if rng.random() >= p_expression:
                        face["expression_score"] = float("nan")  # the classifier is not always available
                    elif expression is None:
                        # stand-in when the expression classifier is not installed
                        z = -1.2 + 2.6 * min(1.0, k * s.sensitivity) + rng.normal(0, 1.0)
                        face["expression_score"] = float(1 / (1 + math.exp(-z)))
                if pose is not None and emb is not None and normal.ready:
                    chk = normal.check(emb)
                    pose["isolation_score"] = chk.isolation_score if chk else float("nan")
                xs.append(fusion_vector(face, pose, baseline))
                ys.append(label)
                gs.append(sid)
                ks.append(k)
                fl.append(s.flusher)
                fp.append(face is not None)
                tilt = (pose or {}).get("trunk_tilt_deg", 0.0)
                rates = [
                    (pose or {}).get(n, 0.0)
                    for n in ("head_angle_rate_deg_s", "arm_angle_rate_deg_s", "leg_angle_rate_deg_s")
                ]
                tr.append(abs(tilt) > 3.0)
                rr.append(any(np.nan_to_num(r) > 3.0 for r in rates))
        if progress:
            progress(1)
    return SyntheticDataset(
        x=np.array(xs),
        y=np.array(ys, dtype=np.int64),
        groups=np.array(gs, dtype=np.int64),
        k=np.array(ks),
        flusher=np.array(fl),
        face_present=np.array(fp),
        tilt_rule=np.array(tr),
        rate_rule=np.array(rr),
    )


__all__ = [
    "SyntheticDataset",
    "SyntheticSubject",
    "generate",
    "random_subject",
    "simulate_face_window",
    "simulate_pose_params",
]
