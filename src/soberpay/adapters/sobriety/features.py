"""Shared column orders for sobriety feature vectors (one source of truth for training and inference).

Everything that turns signals into a numeric vector (the fusion SVM, the synthetic generator, the
capture record, model cards) indexes columns through these tuples, never by position literals.
Other sobriety modules may add their own tuples here (e.g. ``EXPRESSION_FEATURES``); extend, don't reorder.
"""

from __future__ import annotations

# Face vector (method step S105: eye openness, mouth, colour change; plus blink physiology and the
# expression-model score, which may be missing -> NaN, imputed by the fusion pipeline).
FACE_FEATURES: tuple[str, ...] = (
    "eye_openness",  # 0..1, 0 closed, 1 wide open (EAR scaled)
    "mouth_openness",  # 0..1
    "colour_change",  # -1..1, CIELAB a* vs the guest's own baseline, illumination-normalised
    "blink_rate_per_min",
    "blink_duration_s",  # mean duration of blinks in the window
    "perclos",  # fraction of time eyes >= 80 % closed
    "gaze_jitter",  # iris position jitter, in eye widths per second
    "head_micro_movement",  # nose-tip jitter, in inter-ocular distances per second
    "expression_score",  # P(alcohol-influenced) from the expression classifier, NaN when absent
)

# Pose vector (method step S104/S105: activity, change rates, tilt, sway, isolation score).
ACTIVITIES: tuple[str, ...] = ("standing", "sitting", "walking")
POSE_FEATURES: tuple[str, ...] = (
    "activity_standing",
    "activity_sitting",
    "activity_walking",
    "head_angle_rate_deg_s",
    "arm_angle_rate_deg_s",
    "leg_angle_rate_deg_s",
    "trunk_tilt_deg",
    "sway_path_per_s",  # centre-of-mass path length per second, torso lengths
    "sway_freq_hz",  # dominant frequency of the centre-of-mass sway
    "isolation_score",  # mean distance of the current pose embedding to the guest's normal ones
)

# Features compared against the guest's own baseline (delta = value - baseline mean).
BASELINE_FEATURES: tuple[str, ...] = (
    "eye_openness",
    "mouth_openness",
    "blink_rate_per_min",
    "blink_duration_s",
    "perclos",
    "gaze_jitter",
    "head_micro_movement",
    "head_angle_rate_deg_s",
    "arm_angle_rate_deg_s",
    "leg_angle_rate_deg_s",
    "trunk_tilt_deg",
    "sway_path_per_s",
    "sway_freq_hz",
)

# Combined vector fed to the fusion SVM: raw face + raw pose + deltas from the guest's baseline.
FUSION_FEATURES: tuple[str, ...] = (
    FACE_FEATURES + POSE_FEATURES + tuple(f"delta_{name}" for name in BASELINE_FEATURES)
)

# Per-frame pose channels fed to the 1-D pose CNN: torso-normalised (x, y) of these joints,
# centred on the hip midpoint. MediaPipe Pose indices.
POSE_CNN_JOINTS: tuple[int, ...] = (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
POSE_CNN_CHANNELS: int = 2 * len(POSE_CNN_JOINTS)
POSE_CNN_WINDOW: int = 32  # frames per window (about 2-3 s at 10-15 fps)

# Per-frame columns of the expression classifier's input, a (T, F) float32 sequence sampled at
# EXPRESSION_FPS. Build it from raw per-frame signals with
# ``soberpay.adapters.sobriety.expression_features.expression_sequence`` (one implementation shared
# by the synthetic generator and MediaPipe inference). Units per column:
EXPRESSION_FEATURES: tuple[str, ...] = (
    "eye_openness",  # 0..1, mean of both eyes (same scale as FACE_FEATURES)
    "blink",  # 1.0 while the eyes are closed (eye_openness < EXPRESSION_BLINK_CLOSED), else 0.0
    "perclos",  # trailing-window fraction of frames with eyes >= 80 % closed (eye_openness <= 0.2)
    "gaze_speed",  # iris displacement speed, eye widths per second (saccades show as peaks)
    "gaze_jitter",  # |gaze - 3-frame running median|, eye widths (nystagmus-like tremor)
    "mouth_openness",  # 0..1
    "head_speed",  # nose-tip speed, inter-ocular distances per second (head micro-movement / sway)
    "colour_change",  # -1..1, CIELAB a* vs the guest's own baseline (never a trigger on its own)
)
EXPRESSION_FPS: float = 15.0  # frames per second the sequence is sampled at (resample before use)
EXPRESSION_WINDOW: int = 150  # frames per classified window (10 s at 15 fps); any T >= 32 works

__all__ = [
    "ACTIVITIES",
    "EXPRESSION_FEATURES",
    "EXPRESSION_FPS",
    "EXPRESSION_WINDOW",
    "BASELINE_FEATURES",
    "FACE_FEATURES",
    "FUSION_FEATURES",
    "POSE_CNN_CHANNELS",
    "POSE_CNN_JOINTS",
    "POSE_CNN_WINDOW",
    "POSE_FEATURES",
]
