"""SYNTHETIC face-signal sequences for the expression classifier (there is no real RGB drunk data).

Everything produced here is synthetic: it is labelled so in the dataset object, in the model card
and in the docs. It lets the ResNet expression pipeline (training, export, importance analysis) be
built and tested; its accuracy says how well the model recovers the effects written below, NOT how
well it detects real intoxication.

Each synthetic **subject** draws its own baseline (blink rate and duration, eye-opening level,
saccade peak velocity, gaze tremor, head sway, how much they sing, whether they flush), so a
split by synthetic subject is meaningful: the model must recognise the alcohol effect against
another person's baseline. A sequence is simulated at 60 Hz, averaged to the requested frame rate,
and converted with the same ``expression_sequence`` used at inference.

Alcohol effects (effect size ``e = dose * subject sensitivity``; dose 0 = sober, 0.3..1.0 ≈ a BAC
range of about 0.03-0.10 %), each following published physiology:

* **Longer, slower blinks and more long eyelid closures; higher PERCLOS.**
  Cori JM et al. (2023), "The impact of alcohol consumption on commercial eye blink drowsiness
  detection technology", Hum Psychopharmacol 38(4):e2870 (all blink parameters affected at 0.08 % BAC).
  Stern JA et al. (1976), "Aspects of the eyeblink during simulated driving as a function of
  alcohol", Human Factors 18(1) (more long-duration closures when intoxicated).
  "Alcohol-induced drowsiness and vigilance performance", J Stud Alcohol (1978): share of time with
  the eyes closed rose from 2.5 % (placebo) to 6.3 / 11.9 / 17.1 % after 0.5 / 0.8 / 1.2 g/kg.
  Here: blink duration x (1 + 0.6 e), blink rate x (1 + 0.15 e), long closures (0.5-1.5 s) at
  2.5 e per minute, eye-opening level - 0.06 e (heavier lids).
* **Reduced saccade peak velocity.** Lehtinen I et al. (1979), "Acute effects of alcohol on
  saccadic eye movements", Psychopharmacology 63:17-23 (mean and peak velocity -9 %, duration
  +11 % at 0.056-0.116 % BAC); Roche DJO & King AC (2010), Psychopharmacology 212:33-44.
  Here: main-sequence peak velocity x (1 - 0.12 e). Note: at 15 fps a 30-60 ms saccade falls within
  one frame, so this effect is barely visible in ``gaze_speed`` at the product frame rate.
* **Gaze jitter (nystagmus).** Tharp V, Burns M, Moskowitz H (1981), NHTSA DOT-HS-805-864
  (horizontal gaze nystagmus in the standardised field sobriety test). Here: tremor x (1 + 1.0 e)
  plus a 2-4 Hz oscillation of amplitude 0.004 e eye widths.
* **More head sway.** Nieschalk M et al. (1999), "Effects of alcohol on body-sway patterns in
  human subjects", Int J Legal Med 112:253-260 (sway path and area grow with BAC). Here: head-sway
  amplitude x (1 + 0.8 e).
* **Facial flush (a*).** Brooks PJ et al. (2009), "The alcohol flushing response: an unrecognized
  risk factor for esophageal cancer from alcohol consumption", PLoS Med 6(3):e1000050 (ALDH2*2,
  about a third of East Asians flush strongly). Here: 35 % of synthetic subjects are strong
  flushers (a* gain 0.4-0.8 per unit e), the rest weak (0.02-0.15). Flush is a trait, not a
  measure of intoxication: KTV lighting drift and singing exertion also move a* in sober windows.
* **Mouth openness** has NO alcohol effect here (singing and talking only): a control column whose
  permutation importance should come out near zero.

**Measurement noise floor (camera + MediaPipe jitter), label-independent.** Real per-frame
MediaPipe signals of a perfectly still sober face are not smooth: landmark jitter from sensor noise,
JPEG blocks, sub-pixel camera shake and brightness flicker moves every signal from frame to frame
(measured with ``benchmarks/expression_signal_scales.py`` on noisy still-photo sequences, table in
docs/research/sobriety-models.md). Each synthetic subject draws its own noise floor
(:func:`draw_noise_floor`, shared with the fusion generator ``synthetic_sobriety``), added per output
frame after the 60 Hz → fps averaging:

* head: the landmarks are simulated - nose pixels = (head path + the nose's image position, uniform
  1..8 IOD per axis, + nose jitter n ~ log-uniform 0.003-0.025 IOD) x IOD, and the measured IOD
  with relative jitter r ~ log-uniform 0.1-1 % - and measured exactly as live frames are, with
  ``face_signals.head_trajectory_from`` (nose pixels / the window's median IOD). Before the head
  measurement was fixed, each frame was divided by its own IOD and r x the nose's image position
  gave a still head ~0.8 IOD/s; now r only rescales the window and the real still floor is
  ~0.3 IOD/s (nose landmark jitter + camera shake), which n covers;
* gaze: white noise, log-uniform 0.0002-0.004 eye widths per axis;
* eye openness: log-uniform 0.004-0.05; mouth openness: 0.003-0.03; colour change: 0.01-0.12;
* a per-window factor 0.7-1.4 on all of them (lighting and distance change between windows).

The floor is drawn independently of dose and is the same distribution for sober and alcohol
windows, so the noise level itself carries no label information; every alcohol effect above is a
relative change of the *physiological* component on top of that floor (with a large floor the
head-sway effect is mostly buried, as it would be in real footage). The physiological gaze tremor
baseline is drawn lower than before (log-normal around 0.003 eye widths, down to 0.0005) because
the measured real floor of the iris position was below the old synthetic minimum.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import numpy.typing as npt

from soberpay.adapters.sobriety.expression_features import expression_sequence
from soberpay.adapters.sobriety.face_signals import head_trajectory_from
from soberpay.adapters.sobriety.features import EXPRESSION_FEATURES, EXPRESSION_FPS, EXPRESSION_WINDOW

SIM_HZ = 60.0
DEG_PER_EYE_WIDTH = 120.0  # iris travel across the eye opening, roughly


@dataclass(frozen=True)
class NoiseFloor:
    """Per-subject measurement noise floor (camera + MediaPipe landmark jitter), label-independent.

    Shared by both SYNTHETIC generators (this one and ``synthetic_sobriety``), drawn by
    :func:`draw_noise_floor`, realised per window by :func:`measurement_noise`."""

    head_offset: tuple[float, float] = (4.0, 2.5)  # nose position / IOD in image coordinates
    head_iod_jitter: float = 0.005  # relative per-frame jitter of the measured IOD
    head_point_jitter: float = 0.008  # per-frame nose jitter, IOD units
    gaze_noise: float = 0.0008  # eye widths
    eye_noise: float = 0.02  # eye openness
    mouth_noise: float = 0.01  # mouth openness
    colour_noise: float = 0.04  # colour change (tanh units, ~ a* / 6)


@dataclass(frozen=True)
class SyntheticSubject:
    """Per-subject random baseline (all synthetic)."""

    subject_id: int
    blink_rate_per_min: float
    blink_duration_s: float
    eye_open_level: float
    saccade_rate_hz: float
    saccade_vmax_deg_s: float
    gaze_tremor: float  # eye widths
    head_sway: float  # inter-ocular distances
    singing_share: float
    flusher: bool
    flush_gain: float
    sensitivity: float
    # measurement noise floor (camera + landmark jitter), per output frame; label-independent
    head_offset: tuple[float, float] = (4.0, 2.5)  # nose position / IOD in image coordinates
    head_iod_jitter: float = 0.005  # relative per-frame jitter of the measured IOD
    head_point_jitter: float = 0.008  # per-frame nose jitter, IOD units
    gaze_noise: float = 0.0008  # eye widths
    eye_noise: float = 0.02
    mouth_noise: float = 0.01
    colour_noise: float = 0.04

    @property
    def floor(self) -> NoiseFloor:
        return NoiseFloor(self.head_offset, self.head_iod_jitter, self.head_point_jitter, self.gaze_noise,
                          self.eye_noise, self.mouth_noise, self.colour_noise)


@dataclass(frozen=True)
class SyntheticRaw:
    """Raw per-frame signals of one synthetic window (inputs of ``expression_sequence``)."""

    eye_openness: npt.NDArray[np.float64]
    gaze_xy: npt.NDArray[np.float64]
    mouth_openness: npt.NDArray[np.float64]
    head_xy: npt.NDArray[np.float64]
    colour_change: npt.NDArray[np.float64]
    fps: float
    effect: float
    saccade_peak_velocities: tuple[float, ...]  # deg/s of the saccades simulated
    blink_durations: tuple[float, ...]  # s of the blinks / closures simulated


@dataclass(frozen=True)
class SyntheticFaceDataset:
    """SYNTHETIC sequences: x (N, T, F), y (N,) 1 = alcohol, subject (N,), dose (N,)."""

    x: npt.NDArray[np.float32]
    y: npt.NDArray[np.int64]
    subject: npt.NDArray[np.int64]
    dose: npt.NDArray[np.float64]
    features: tuple[str, ...] = EXPRESSION_FEATURES
    synthetic: bool = True


# Ranges of the per-subject floor (log-uniform), set so that the sober windows' 2-98 % range contains
# the real MediaPipe floor measured by benchmarks/expression_signal_scales.py (docs/research/sobriety-models.md).
HEAD_IOD_JITTER = (0.001, 0.01)
HEAD_POINT_JITTER = (0.003, 0.025)
GAZE_NOISE = (0.0002, 0.004)
EYE_NOISE = (0.004, 0.05)
MOUTH_NOISE = (0.003, 0.03)
COLOUR_NOISE = (0.01, 0.12)


def draw_noise_floor(rng: np.random.Generator) -> NoiseFloor:
    """One subject's measurement noise floor (independent of anything label-related)."""
    return NoiseFloor(
        head_offset=(float(rng.uniform(1.0, 8.0)), float(rng.uniform(1.0, 8.0))),
        head_iod_jitter=_log_uniform(rng, *HEAD_IOD_JITTER),
        head_point_jitter=_log_uniform(rng, *HEAD_POINT_JITTER),
        gaze_noise=_log_uniform(rng, *GAZE_NOISE),
        eye_noise=_log_uniform(rng, *EYE_NOISE),
        mouth_noise=_log_uniform(rng, *MOUTH_NOISE),
        colour_noise=_log_uniform(rng, *COLOUR_NOISE),
    )


def synthetic_subject(subject_id: int, rng: np.random.Generator) -> SyntheticSubject:
    flusher = bool(rng.random() < 0.35)
    s = SyntheticSubject(
        subject_id=subject_id,
        blink_rate_per_min=float(np.clip(rng.normal(17.0, 6.0), 5.0, 40.0)),
        blink_duration_s=float(np.clip(rng.normal(0.22, 0.05), 0.1, 0.4)),
        eye_open_level=float(np.clip(rng.normal(0.78, 0.07), 0.55, 0.95)),
        saccade_rate_hz=float(np.clip(rng.normal(2.0, 0.6), 0.5, 4.0)),
        saccade_vmax_deg_s=float(np.clip(rng.normal(500.0, 60.0), 330.0, 700.0)),
        gaze_tremor=float(np.clip(rng.lognormal(np.log(0.003), 0.5), 0.0005, 0.02)),
        head_sway=float(np.clip(rng.lognormal(np.log(0.02), 0.4), 0.004, 0.1)),
        singing_share=float(rng.uniform(0.0, 0.6)),
        flusher=flusher,
        flush_gain=float(rng.uniform(0.4, 0.8) if flusher else rng.uniform(0.02, 0.15)),
        sensitivity=float(np.clip(rng.lognormal(0.0, 0.35), 0.3, 2.5)),
    )
    return replace(s, **asdict(draw_noise_floor(rng)))


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def without_noise_floor(s: SyntheticSubject) -> SyntheticSubject:
    """The same synthetic subject with a noise-free camera (for checking the physiology alone)."""
    return replace(s, head_iod_jitter=0.0, head_point_jitter=0.0, gaze_noise=0.0, eye_noise=0.0,
                   mouth_noise=0.0, colour_noise=0.0)


def measurement_noise(
    floor: NoiseFloor | SyntheticSubject, n_frames: int, rng: np.random.Generator
) -> dict[str, npt.NDArray[np.float64]]:
    """Per-frame camera/landmark noise of one window (independent of dose; see module docstring).

    ``iod_rel`` (T,) is the relative error of the measured inter-ocular distance, ``nose`` (T, 2) the
    nose-tip landmark jitter in IOD units; :func:`measured_head` turns them into what
    ``face_signals.head_trajectory`` would measure."""
    f = floor.floor if isinstance(floor, SyntheticSubject) else floor
    k = float(rng.uniform(0.7, 1.4))  # this window's lighting / distance
    return {
        "iod_rel": rng.normal(0.0, k * f.head_iod_jitter, n_frames),
        "nose": rng.normal(0.0, k * f.head_point_jitter, (n_frames, 2)),
        "gaze": rng.normal(0.0, k * f.gaze_noise, (n_frames, 2)),
        "eye": rng.normal(0.0, k * f.eye_noise, n_frames),
        "mouth": rng.normal(0.0, k * f.mouth_noise, n_frames),
        "colour": rng.normal(0.0, k * f.colour_noise, n_frames),
    }


IOD_PX = 100.0  # simulated inter-ocular distance in pixels (cancels out; any face size works)


def measured_nose_iod(
    head: npt.NDArray[np.float64], offset: tuple[float, float], noise: dict[str, npt.NDArray[np.float64]]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Simulated landmark measurements of a head path ``head`` (T, 2, IOD units): nose-tip pixels
    (path + the nose's image position ``offset`` + nose jitter) and the jittered IOD in pixels."""
    nose_px = (np.asarray(head) + np.asarray(offset) + noise["nose"]) * IOD_PX
    iod_px = IOD_PX * (1.0 + noise["iod_rel"])
    return nose_px, iod_px


def measured_head(
    head: npt.NDArray[np.float64], offset: tuple[float, float], noise: dict[str, npt.NDArray[np.float64]]
) -> npt.NDArray[np.float64]:
    """The head trajectory the live code measures for ``head``: ``face_signals.head_trajectory_from``
    (nose pixels / the window's median IOD) of the simulated landmarks."""
    return head_trajectory_from(*measured_nose_iod(head, offset, noise))


def _blinks(
    s: SyntheticSubject, e: float, n: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.float64], list[float]]:
    eye = np.full(n, s.eye_open_level - 0.06 * e) + rng.normal(0.0, 0.015, n)
    rate = s.blink_rate_per_min * (1.0 + 0.15 * e) / 60.0 / SIM_HZ
    long_rate = 2.5 * e / 60.0 / SIM_HZ
    durations: list[float] = []
    t = 0
    while t < n:
        t += int(rng.exponential(1.0 / (rate + long_rate)))
        if t >= n:
            break
        if rng.random() < long_rate / (rate + long_rate):
            dur = rng.uniform(0.5, 1.5)
        else:
            dur = max(0.08, rng.normal(s.blink_duration_s * (1.0 + 0.6 * e), 0.03))
        durations.append(float(dur))
        k = max(3, int(dur * SIM_HZ))
        close, hold = max(1, int(0.3 * k)), max(1, int(0.2 * k))
        reopen = max(1, k - close - hold)
        base = eye[t]
        depth = rng.uniform(0.02, 0.08)
        profile = np.concatenate(
            [np.linspace(base, depth, close), np.full(hold, depth), np.linspace(depth, base, reopen)]
        )
        end = min(n, t + len(profile))
        eye[t:end] = np.minimum(eye[t:end], profile[: end - t])
        t = end + int(0.1 * SIM_HZ)
    return np.clip(eye, 0.0, 1.0), durations


def _gaze(
    s: SyntheticSubject, e: float, n: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.float64], list[float]]:
    gaze = np.zeros((n, 2))
    pos = rng.normal(0.0, 0.05, 2)
    peaks: list[float] = []
    t = 0
    vmax = s.saccade_vmax_deg_s * (1.0 - 0.12 * e)
    while t < n:
        fix = max(int(0.1 * SIM_HZ), int(rng.exponential(SIM_HZ / s.saccade_rate_hz)))
        end = min(n, t + fix)
        gaze[t:end] = pos
        t = end
        if t >= n:
            break
        target = np.clip(rng.normal(0.0, 0.12, 2), -0.3, 0.3)
        amp_deg = float(np.linalg.norm(target - pos) * DEG_PER_EYE_WIDTH)
        peak = vmax * (1.0 - np.exp(-amp_deg / 14.0))
        peaks.append(float(peak))
        dur_s = max(1.0 / SIM_HZ, 1.6 * amp_deg / max(peak, 1.0))  # ~ amplitude / mean velocity
        k = max(1, int(round(dur_s * SIM_HZ)))
        frac = (1.0 - np.cos(np.linspace(0.0, np.pi, k + 1)[1:])) / 2.0
        end = min(n, t + k)
        gaze[t:end] = pos + np.outer(frac[: end - t], target - pos)
        pos = target
        t = end
    tt = np.arange(n) / SIM_HZ
    freq = rng.uniform(2.0, 4.0)
    nyst = 0.004 * e * np.sin(2 * np.pi * freq * tt + rng.uniform(0, 2 * np.pi))
    gaze[:, 0] += nyst
    gaze += rng.normal(0.0, s.gaze_tremor * (1.0 + 1.0 * e), gaze.shape)
    return gaze, peaks


def _ar1_path(amp: float, n: int, rng: np.random.Generator, tau_s: float = 0.6) -> npt.NDArray[np.float64]:
    a = np.exp(-1.0 / (tau_s * SIM_HZ))
    vel = np.zeros((n, 2))
    noise = rng.normal(0.0, amp * np.sqrt(1 - a * a), (n, 2))
    for i in range(1, n):
        vel[i] = a * vel[i - 1] + noise[i]
    return np.cumsum(vel, axis=0) / SIM_HZ * 3.0


def synthetic_raw(
    s: SyntheticSubject, dose: float, n_frames: int, fps: float, rng: np.random.Generator
) -> SyntheticRaw:
    """Simulate one window of raw signals at 60 Hz and average down to ``fps``."""
    e = float(dose) * s.sensitivity
    factor = max(1, int(round(SIM_HZ / fps)))
    n = n_frames * factor
    eye, blink_durations = _blinks(s, e, n, rng)
    gaze, peaks = _gaze(s, e, n, rng)
    head = _ar1_path(s.head_sway * (1.0 + 0.8 * e), n, rng)
    # singing / talking bouts: alcohol-independent control signal
    singing = np.zeros(n, dtype=bool)
    t = 0
    state = rng.random() < s.singing_share
    while t < n:
        k = int(rng.exponential(3.0 * SIM_HZ)) + 1
        singing[t : t + k] = state
        t += k
        state = rng.random() < s.singing_share
    tt = np.arange(n) / SIM_HZ
    syll = np.abs(np.sin(2 * np.pi * rng.uniform(1.5, 3.0) * tt))
    mouth = np.where(singing, 0.25 + 0.35 * syll, 0.04) + rng.normal(0.0, 0.02, n)
    drift = np.cumsum(rng.normal(0.0, 0.004, n)) + rng.normal(0.0, 0.06)  # lighting / camera drift
    colour = e * s.flush_gain + drift + 0.06 * singing + rng.normal(0.0, 0.02, n)

    def down(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray(x[: n_frames * factor].reshape(n_frames, factor, *x.shape[1:]).mean(axis=1))

    noise = measurement_noise(s, n_frames, rng)
    return SyntheticRaw(
        eye_openness=np.clip(down(eye) + noise["eye"], 0.0, 1.0),
        gaze_xy=down(gaze) + noise["gaze"],
        mouth_openness=np.clip(down(np.clip(mouth, 0.0, 1.0)) + noise["mouth"], 0.0, 1.0),
        head_xy=measured_head(down(head), s.head_offset, noise),
        colour_change=np.clip(down(np.clip(colour, -1.0, 1.0)) + noise["colour"], -1.0, 1.0),
        fps=SIM_HZ / factor,
        effect=e,
        saccade_peak_velocities=tuple(peaks),
        blink_durations=tuple(blink_durations),
    )


def synthetic_window(
    s: SyntheticSubject, dose: float, rng: np.random.Generator, n_frames: int = EXPRESSION_WINDOW,
    fps: float = EXPRESSION_FPS,
) -> npt.NDArray[np.float32]:
    raw = synthetic_raw(s, dose, n_frames, fps, rng)
    return expression_sequence(
        raw.eye_openness, raw.gaze_xy, raw.mouth_openness, raw.head_xy, raw.colour_change, raw.fps
    )


def make_synthetic_dataset(
    n_subjects: int = 200,
    windows_per_state: int = 4,
    n_frames: int = EXPRESSION_WINDOW,
    seed: int = 0,
    fps: float = EXPRESSION_FPS,
) -> SyntheticFaceDataset:
    """``n_subjects`` synthetic people x (``windows_per_state`` sober + as many alcohol windows)."""
    rng = np.random.default_rng(seed)
    xs, ys, subj, doses = [], [], [], []
    for sid in range(n_subjects):
        s = synthetic_subject(sid, rng)
        for label in (0, 1):
            for _ in range(windows_per_state):
                dose = float(rng.uniform(0.3, 1.0)) if label else 0.0
                xs.append(synthetic_window(s, dose, rng, n_frames, fps))
                ys.append(label)
                subj.append(sid)
                doses.append(dose)
    return SyntheticFaceDataset(
        x=np.stack(xs).astype(np.float32),
        y=np.array(ys, dtype=np.int64),
        subject=np.array(subj, dtype=np.int64),
        dose=np.array(doses),
    )


__all__ = [
    "NoiseFloor",
    "draw_noise_floor",
    "measured_head",
    "measured_nose_iod",
    "SyntheticFaceDataset",
    "SyntheticRaw",
    "SyntheticSubject",
    "make_synthetic_dataset",
    "measurement_noise",
    "synthetic_raw",
    "synthetic_subject",
    "synthetic_window",
    "without_noise_floor",
]
