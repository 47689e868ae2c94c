"""SYNTHETIC 33-landmark pose sequences (MediaPipe Pose layout) from a parametric stick figure.

Used for (a) tests with known answers (a trunk tilted 5° must trip the 3° rule, 2° must not; an arm
swinging at 5°/s must trip the 3°/s rule), (b) cheap training of the pose CNN, and (c) the
SYNTHETIC sobriety generator. No real people: numbers measured on these sequences are synthetic.

Coordinates are image pixels (y down). No torch here, so tests can import it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SyntheticPoseParams:
    activity: str = "standing"  # standing / sitting / walking
    torso_px: float = 120.0  # shoulder-mid ↔ hip-mid length in pixels
    centre: tuple[float, float] = (320.0, 260.0)  # hip midpoint at t=0
    trunk_tilt_deg: float = 0.0  # constant lean from vertical (+ = towards image +x)
    tilt_rate_deg_s: float = 0.0  # linear drift of the trunk tilt
    head_angle_deg: float = 0.0
    head_rate_deg_s: float = 0.0  # linear drift of the head angle
    head_swing_deg: float = 0.0  # sinusoidal head movement amplitude (singing: 15–25 °/s measured)
    head_swing_hz: float = 0.4
    arm_angle_deg: float = 10.0  # upper arm from vertical (down)
    arm_rate_deg_s: float = 0.0  # linear drift of both upper arms
    arm_swing_deg: float = 0.0  # sinusoidal swing amplitude
    arm_swing_hz: float = 0.5
    sway_amp: float = 0.0  # lateral trunk-centre sway, torso lengths
    sway_hz: float = 0.3
    sway_tilt_deg: float = 0.0  # trunk tilt oscillation amplitude (in phase with sway)
    walk_speed: float = 0.0  # torso lengths per second (walking)
    step_hz: float = 1.8
    stagger: float = 0.0  # random lateral lurches (torso lengths), drunk-like walking
    jitter_px: float = 0.0  # landmark noise (detector noise)
    seed: int = 0


def _rot(v: F64, deg: float) -> F64:
    r = math.radians(deg)
    c, s = math.cos(r), math.sin(r)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def synthetic_pose_frame(p: SyntheticPoseParams, t: float, rng: np.random.Generator | None = None) -> F64:
    """33×2 landmarks at time t."""
    L = p.torso_px
    sway_phase = 2 * math.pi * p.sway_hz * t
    lateral = p.sway_amp * math.sin(sway_phase) * L
    hip = np.array([p.centre[0] + p.walk_speed * L * t + lateral, p.centre[1]], dtype=np.float64)
    if p.stagger and rng is not None:
        hip[0] += p.stagger * L * float(np.sin(2 * math.pi * 0.7 * t + 1.3) * rng.normal(1.0, 0.3))
    tilt = p.trunk_tilt_deg + p.tilt_rate_deg_s * t + p.sway_tilt_deg * math.sin(sway_phase)
    up = np.array([math.sin(math.radians(tilt)), -math.cos(math.radians(tilt))])  # + tilt leans to +x
    right = np.array([-up[1], up[0]])  # perpendicular
    sh = hip + up * L
    pts = np.zeros((33, 2))
    # Head: nose along the head direction from the shoulder midpoint.
    head_deg = (
        tilt + p.head_angle_deg + p.head_rate_deg_s * t + p.head_swing_deg * math.sin(2 * math.pi * p.head_swing_hz * t)
    )
    hdir = np.array([math.sin(math.radians(head_deg)), -math.cos(math.radians(head_deg))])
    nose = sh + hdir * 0.45 * L
    pts[0] = nose
    eye_off = np.array([-hdir[1], hdir[0]]) * 0.08 * L
    for i, k in ((1, 0.6), (2, 0.8), (3, 1.0)):  # left eye inner/centre/outer
        pts[i] = nose + eye_off * k - hdir * 0.04 * L
    for i, k in ((4, 0.6), (5, 0.8), (6, 1.0)):
        pts[i] = nose - eye_off * k - hdir * 0.04 * L
    pts[7] = nose + eye_off * 1.6 - hdir * 0.02 * L
    pts[8] = nose - eye_off * 1.6 - hdir * 0.02 * L
    pts[9] = nose + eye_off * 0.4 + hdir * -0.0 - up * 0.06 * L
    pts[10] = nose - eye_off * 0.4 - up * 0.06 * L
    # Shoulders and arms (11 left = image +x side here, 12 right).
    ls, rs = sh + right * 0.4 * L, sh - right * 0.4 * L
    pts[11], pts[12] = ls, rs
    walk_phase = 2 * math.pi * p.step_hz / 2 * t
    swing = p.arm_swing_deg * math.sin(2 * math.pi * p.arm_swing_hz * t)
    arm_base = p.arm_angle_deg + p.arm_rate_deg_s * t
    for side, (s_idx, e_idx, w_idx), sign in ((1, (11, 13, 15), 1.0), (-1, (12, 14, 16), -1.0)):
        walk_sw = 15.0 * math.sin(walk_phase + (0 if side > 0 else math.pi)) if p.walk_speed else 0.0
        ang = sign * arm_base + swing + walk_sw
        d = np.array([math.sin(math.radians(ang)), math.cos(math.radians(ang))])
        elbow = pts[s_idx] + d * 0.55 * L
        d2 = _rot(d, sign * 15.0)
        wrist = elbow + d2 * 0.5 * L
        pts[e_idx], pts[w_idx] = elbow, wrist
        for j, off in zip((17, 19, 21) if side > 0 else (18, 20, 22), (0.08, 0.1, 0.05), strict=True):
            pts[j] = wrist + d2 * off * L
    # Hips and legs.
    lh, rh = hip + right * 0.2 * L, hip - right * 0.2 * L
    pts[23], pts[24] = lh, rh
    for side, (h_idx, k_idx, a_idx, heel, toe) in ((1, (23, 25, 27, 29, 31)), (-1, (24, 26, 28, 30, 32))):
        if p.activity == "sitting":
            thigh_ang, shin_ang = 80.0, 0.0  # thigh forward (near horizontal), shin down
        else:
            step = 20.0 * math.sin(walk_phase + (0 if side > 0 else math.pi)) if p.walk_speed else 0.0
            thigh_ang, shin_ang = step + side * 2.0, step * 0.5 + side * 2.0
        d = np.array([math.sin(math.radians(thigh_ang)), math.cos(math.radians(thigh_ang))])
        knee = pts[h_idx] + d * 0.85 * L
        d2 = np.array([math.sin(math.radians(shin_ang)), math.cos(math.radians(shin_ang))])
        ankle = knee + d2 * 0.85 * L
        pts[k_idx], pts[a_idx] = knee, ankle
        pts[heel] = ankle + np.array([-0.05, 0.05]) * L
        pts[toe] = ankle + np.array([0.12, 0.07]) * L
    if p.jitter_px and rng is not None:
        pts = pts + rng.normal(0.0, p.jitter_px, pts.shape)
    return pts


def synthetic_pose_sequence(
    p: SyntheticPoseParams, seconds: float, fps: float = 15.0, t0: float = 0.0
) -> tuple[F64, F64]:
    """(t: N, xy: N×33×2) sampled at fps."""
    rng = np.random.default_rng(p.seed)
    n = int(round(seconds * fps))
    t = t0 + np.arange(n) / fps
    return t, np.stack([synthetic_pose_frame(p, float(ti - t0), rng) for ti in t])


# Classes used to pre-train the pose CNN (synthetic, self-explanatory names).
CNN_CLASSES: tuple[str, ...] = (
    "stand_still",
    "stand_sway",
    "sit_still",
    "sit_sway",
    "walk",
    "walk_stagger",
    "gesture",  # singing/dancing: big arm movement, upright trunk
)


def random_class_params(cls: str, rng: np.random.Generator) -> SyntheticPoseParams:
    base = SyntheticPoseParams(
        torso_px=float(rng.uniform(40, 200)),
        centre=(float(rng.uniform(100, 500)), float(rng.uniform(150, 350))),
        trunk_tilt_deg=float(rng.normal(0, 2.0)),
        head_angle_deg=float(rng.normal(0, 5.0)),
        arm_angle_deg=float(rng.uniform(5, 25)),
        arm_swing_deg=float(rng.uniform(0, 3)),
        arm_swing_hz=float(rng.uniform(0.2, 1.0)),
        sway_amp=float(rng.uniform(0.0, 0.01)),
        sway_hz=float(rng.uniform(0.2, 0.6)),
        jitter_px=float(rng.uniform(0.2, 1.5)),
        seed=int(rng.integers(1 << 30)),
    )
    if cls.startswith("sit"):
        base = replace(base, activity="sitting")
    if cls.endswith("sway"):
        base = replace(
            base,
            sway_amp=float(rng.uniform(0.04, 0.15)),
            sway_hz=float(rng.uniform(0.2, 1.0)),
            sway_tilt_deg=float(rng.uniform(2, 8)),
            trunk_tilt_deg=float(rng.normal(0, 5.0)),
        )
    if cls.startswith("walk"):
        base = replace(
            base,
            activity="walking",
            walk_speed=float(rng.choice([-1, 1]) * rng.uniform(0.5, 1.5)),
            step_hz=float(rng.uniform(1.5, 2.2)),
        )
    if cls == "walk_stagger":
        base = replace(
            base,
            stagger=float(rng.uniform(0.1, 0.3)),
            sway_amp=float(rng.uniform(0.05, 0.15)),
            sway_tilt_deg=float(rng.uniform(3, 10)),
            walk_speed=base.walk_speed * 0.6,
        )
    if cls == "gesture":
        base = replace(
            base,
            arm_swing_deg=float(rng.uniform(15, 60)),
            arm_swing_hz=float(rng.uniform(0.5, 2.0)),
            head_rate_deg_s=0.0,
        )
    return base


__all__ = [
    "CNN_CLASSES",
    "SyntheticPoseParams",
    "random_class_params",
    "synthetic_pose_frame",
    "synthetic_pose_sequence",
]
