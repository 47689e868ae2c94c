"""Sobriety judgement: per-guest baselines, method rules, a debounced drunk verdict, abnormal-pattern book.

Pure Python (no numpy): adapters turn frames into floats; this module turns floats into decisions
that carry their evidence. Nothing here is a trigger on its own: the fusion probability drives the
state, rules and baseline deviations are evidence shown to staff, and doubt means ``ABSTAIN``.

Time is a float number of seconds on the stream's clock (monotonic per visit), so the same code runs
on a live camera and on a replayed video.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class SobrietyState(StrEnum):
    SOBER = "sober"
    DRUNK = "drunk"
    ABSTAIN = "abstain"  # not sure: staff decide


@dataclass(frozen=True)
class Evidence:
    """One signal and how far it is from the guest's own normal."""

    signal: str
    value: float
    baseline: float | None = None  # guest's own baseline mean, if known
    deviation: float | None = None  # z-score against the guest's baseline (None: no baseline yet)
    flagged: bool = False
    note: str = ""

    def describe(self) -> str:
        text = f"{self.signal}={self.value:.3g}"
        if self.baseline is not None and self.deviation is not None:
            text += f" (own baseline {self.baseline:.3g}, z={self.deviation:+.1f})"
        if self.note:
            text += f" [{self.note}]"
        return text


# --------------------------------------------------------------------------------------------------
# Rules of the method (S104): trunk tilt and angle change rates
# --------------------------------------------------------------------------------------------------


def trunk_tilt_flag(tilt_deg: float, threshold_deg: float) -> bool:
    """Balance problem: trunk tilted from vertical by more than the threshold (method: 5° > 3°)."""
    return abs(tilt_deg) > threshold_deg


def angle_rate_flags(rates_deg_s: Mapping[str, float | None], threshold_deg_s: float) -> tuple[str, ...]:
    """Names of the body parts whose angle changes faster than the threshold (method: 3°/s)."""
    return tuple(name for name, rate in rates_deg_s.items() if rate is not None and abs(rate) > threshold_deg_s)


def angle_change_rate(previous_deg: float, current_deg: float, dt_s: float) -> float:
    """|Δangle| / Δt, the method's example: (10° − 8°) / 1 s = 2°/s."""
    if dt_s <= 0:
        raise ValueError("dt must be positive")
    return abs(current_deg - previous_deg) / dt_s


# --------------------------------------------------------------------------------------------------
# Per-guest baseline
# --------------------------------------------------------------------------------------------------


@dataclass
class _Moments:
    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        d = x - self.mean
        self.mean += d / self.n
        self.m2 += d * (x - self.mean)

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else 0.0


class GuestBaseline:
    """Running mean/std (Welford) of each signal while the guest is in a known-normal period.

    ``min_std`` floors each feature's spread so that a very steady baseline does not turn tiny
    changes into huge z-scores. Call :meth:`freeze` when the baseline period ends.
    """

    def __init__(self, min_std: Mapping[str, float] | None = None, default_min_std: float = 1e-3) -> None:
        self._m: dict[str, _Moments] = {}
        self._min_std = dict(min_std or {})
        self._default_min_std = default_min_std
        self.frozen = False

    def update(self, values: Mapping[str, float | None]) -> None:
        if self.frozen:
            return
        for name, value in values.items():
            if value is None or not math.isfinite(value):
                continue
            self._m.setdefault(name, _Moments()).add(value)

    def freeze(self) -> None:
        self.frozen = True

    def count(self, name: str) -> int:
        m = self._m.get(name)
        return m.n if m else 0

    def mean(self, name: str) -> float | None:
        m = self._m.get(name)
        return m.mean if m and m.n else None

    def std(self, name: str) -> float | None:
        m = self._m.get(name)
        if not m or not m.n:
            return None
        return max(m.std, self._min_std.get(name, self._default_min_std))

    def zscore(self, name: str, value: float, min_count: int = 3) -> float | None:
        m = self._m.get(name)
        if m is None or m.n < min_count:
            return None
        sd = self.std(name)
        assert sd is not None
        return (value - m.mean) / sd

    def names(self) -> tuple[str, ...]:
        return tuple(self._m)

    def to_dict(self) -> dict[str, tuple[int, float, float]]:
        return {k: (m.n, m.mean, m.m2) for k, m in self._m.items()}

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Sequence[float]], min_std: Mapping[str, float] | None = None
    ) -> GuestBaseline:
        b = cls(min_std)
        for k, (n, mean, m2) in data.items():
            b._m[k] = _Moments(int(n), float(mean), float(m2))
        b.frozen = True
        return b


def compare_to_baseline(
    values: Mapping[str, float | None], baseline: GuestBaseline, z_flag: float = 2.5
) -> list[Evidence]:
    """Evidence list: each signal, the guest's own baseline and the z-score; |z| ≥ z_flag is flagged."""
    out: list[Evidence] = []
    for name, value in values.items():
        if value is None or not math.isfinite(value):
            continue
        z = baseline.zscore(name, value)
        out.append(
            Evidence(
                signal=name,
                value=value,
                baseline=baseline.mean(name) if z is not None else None,
                deviation=z,
                flagged=z is not None and abs(z) >= z_flag,
            )
        )
    return out


def similarity_to_baseline(
    values: Mapping[str, float | None], baseline: GuestBaseline, scale: float = 3.0
) -> float | None:
    """Similarity 0..1 of the current signals to the guest's normal: mean of exp(−z²/(2·scale²)).

    With scale 3 a guest drawn from their own baseline distribution scores ≈ 0.95 on average
    (E[exp(−z²/18)] = 1/√(1+1/9) for z ~ N(0,1)); two standard deviations off on every signal ≈ 0.80.
    """
    terms: list[float] = []
    for name, value in values.items():
        if value is None or not math.isfinite(value):
            continue
        z = baseline.zscore(name, value)
        if z is None:
            continue
        terms.append(math.exp(-(z * z) / (2.0 * scale * scale)))
    if not terms:
        return None
    return sum(terms) / len(terms)


# --------------------------------------------------------------------------------------------------
# Vector helpers and the abnormal-pattern book (method S104)
# --------------------------------------------------------------------------------------------------


def cosine_similarity(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        raise ValueError("vectors differ in length")
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return dot / (na * nb)


def isolation_score(point: Sequence[float], others: Iterable[Sequence[float]]) -> float:
    """The method's isolation degree s_i = (1/(n−1)) Σ_j dist(D_i, D_j): mean Euclidean distance."""
    dists = [math.dist(point, o) for o in others]
    if not dists:
        return 0.0
    return sum(dists) / len(dists)


@dataclass
class AbnormalPattern:
    pattern_id: str
    vector: tuple[float, ...]
    count: int = 1
    label: str = "abnormal"


@dataclass(frozen=True)
class PatternUpdate:
    pattern_id: str
    reinforced: bool  # True: matched a known pattern (count + 1); False: stored as a new pattern
    similarity: float  # best cosine similarity to a known pattern (0 when the book was empty)
    count: int


class AbnormalPatternBook:
    """Known abnormal pose patterns. A new anomaly with cosine ≥ threshold to a known pattern
    reinforces it (count + 1, centroid moves towards it); otherwise it becomes a new pattern.

    (The patent text literally says "similar → record as new pattern"; we read it as the usual
    match-or-add so that repeated anomalies of the same kind accumulate evidence instead of
    duplicating rows.)
    """

    def __init__(
        self,
        similarity_threshold: float,
        new_id: Callable[[], str],
        patterns: Iterable[AbnormalPattern] = (),
    ) -> None:
        if not 0.0 <= similarity_threshold <= 1.0:
            raise ValueError("similarity threshold must be within 0..1")
        self.similarity_threshold = similarity_threshold
        self._new_id = new_id
        self._patterns: dict[str, AbnormalPattern] = {p.pattern_id: p for p in patterns}

    @property
    def patterns(self) -> list[AbnormalPattern]:
        return list(self._patterns.values())

    def __len__(self) -> int:
        return len(self._patterns)

    def best_match(self, vector: Sequence[float]) -> tuple[AbnormalPattern | None, float]:
        best: AbnormalPattern | None = None
        best_sim = 0.0
        for p in self._patterns.values():
            s = cosine_similarity(vector, p.vector)
            if best is None or s > best_sim:
                best, best_sim = p, s
        return best, best_sim

    def record(self, vector: Sequence[float], label: str = "abnormal") -> PatternUpdate:
        best, sim = self.best_match(vector)
        if best is not None and sim >= self.similarity_threshold:
            n = best.count
            best.vector = tuple((c * n + v) / (n + 1) for c, v in zip(best.vector, vector, strict=True))
            best.count = n + 1
            return PatternUpdate(best.pattern_id, True, sim, best.count)
        pid = self._new_id()
        self._patterns[pid] = AbnormalPattern(pid, tuple(float(v) for v in vector), 1, label)
        return PatternUpdate(pid, False, sim, 1)


# --------------------------------------------------------------------------------------------------
# Judgement over time: a debounced verdict (the latch and the recovery are the risk machine's)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SobrietyPolicy:
    sober_probability: float = 0.3  # P(drunk) ≤ this → sober
    drunk_probability: float = 0.7  # P(drunk) ≥ this (for enter_seconds) → drunk; between → abstain
    enter_seconds: float = 10.0  # debounce: how long P must stay high before DRUNK
    smoothing_seconds: float = 5.0  # EMA time constant on P(drunk)
    max_gap_seconds: float = 5.0  # longer gaps reset the running timer
    # Entering DRUNK needs a corroborating signal besides facial colour: alcohol flush (common in
    # East Asian guests after little alcohol) or lighting must never decide on its own.
    require_corroboration: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.sober_probability <= self.drunk_probability <= 1.0:
            raise ValueError("need 0 ≤ sober_probability ≤ drunk_probability ≤ 1")
        if self.enter_seconds < 0 or self.smoothing_seconds < 0:
            raise ValueError("durations must be non-negative")

    def band(self, p: float) -> SobrietyState:
        """Instantaneous reading of one probability (no hysteresis)."""
        if p >= self.drunk_probability:
            return SobrietyState.DRUNK
        if p <= self.sober_probability:
            return SobrietyState.SOBER
        return SobrietyState.ABSTAIN


# Evidence that may raise P(drunk) but never corroborates a drunk judgement on its own.
NON_CORROBORATING_SIGNALS = frozenset({"colour_change", "out_of_model_range"})


@dataclass(frozen=True)
class Observation:
    at: float  # seconds
    p_drunk: float | None  # fused, calibrated probability; None when no usable signal
    similarity_to_normal: float | None = None
    posture_abnormal: bool = False
    evidence: tuple[Evidence, ...] = ()

    @property
    def corroborated(self) -> bool:
        """Something other than facial colour is abnormal: posture, or a signal flagged against the
        guest's own baseline or by a method rule."""
        return self.posture_abnormal or any(
            e.flagged and e.signal not in NON_CORROBORATING_SIGNALS for e in self.evidence
        )


@dataclass(frozen=True)
class SobrietyJudgement:
    at: float
    state: SobrietyState
    p_drunk: float | None  # smoothed
    raw_p_drunk: float | None
    posture_abnormal: bool
    similarity_to_normal: float | None
    evidence: tuple[Evidence, ...] = ()
    recovered: bool = False  # True exactly on the judgement where DRUNK ended (P left the drunk band)
    reason: str = ""

    @property
    def flagged_evidence(self) -> tuple[Evidence, ...]:
        return tuple(e for e in self.evidence if e.flagged)

    def explain(self) -> str:
        p = "n/a" if self.p_drunk is None else f"{self.p_drunk:.2f}"
        parts = [f"{self.state.value} (P(drunk)={p}): {self.reason}"]
        parts += [e.describe() for e in self.flagged_evidence]
        return "; ".join(parts)


@dataclass
class SobrietyTracker:
    """Turns a stream of fused P(drunk) into a debounced verdict per observation.

    DRUNK needs the smoothed P ≥ ``drunk_probability`` for ``enter_seconds`` and a corroborating
    signal besides facial colour; it lasts while P stays in the drunk band. SOBER is P ≤
    ``sober_probability``; in between (or without a signal) the verdict is ABSTAIN.

    There is deliberately no latch and no recovery dwell here: the payment risk machine
    (``soberpay.domain.risk``) is the one hysteresis that keeps a guest tagged until they have been
    back to their own normal for the dwell time. Its state is persisted, covers staff and
    warning tags and the minimum lock; a second latch in series only added its dwell to the risk
    machine's (recovery took two dwell times) and was lost whenever the camera process restarted.
    """

    policy: SobrietyPolicy = field(default_factory=SobrietyPolicy)
    _smoothed: float | None = None
    _last_at: float | None = None
    _high_since: float | None = None
    _drunk: bool = False

    @property
    def is_drunk(self) -> bool:
        return self._drunk

    def observe(self, obs: Observation) -> SobrietyJudgement:
        pol = self.policy
        gap = None if self._last_at is None else obs.at - self._last_at
        if gap is not None and gap < 0:
            raise ValueError("observations must be in time order")
        if gap is not None and gap > pol.max_gap_seconds:
            self._high_since = None
        if obs.p_drunk is not None:
            p = min(1.0, max(0.0, obs.p_drunk))
            if self._smoothed is None or gap is None or pol.smoothing_seconds == 0:
                self._smoothed = p
            else:
                alpha = 1.0 - math.exp(-gap / pol.smoothing_seconds)
                self._smoothed += alpha * (p - self._smoothed)
        self._last_at = obs.at
        sp = self._smoothed if obs.p_drunk is not None else None

        was_drunk = self._drunk
        if was_drunk and sp is not None and sp >= pol.drunk_probability:
            return self._judge(obs, SobrietyState.DRUNK, sp, "P(drunk) still high")
        self._drunk = False
        ended = was_drunk  # DRUNK ends here: P left the drunk band (or the signal is gone)

        if sp is None:
            self._high_since = None
            return self._judge(obs, SobrietyState.ABSTAIN, sp, "no usable face or pose signal", ended)

        if sp >= pol.drunk_probability and pol.require_corroboration and not obs.corroborated:
            self._high_since = None
            return self._judge(
                obs,
                SobrietyState.ABSTAIN,
                sp,
                "P(drunk) high but nothing besides facial colour differs from the guest's own normal; "
                "colour never decides alone (alcohol flush, lighting): ask staff",
            )
        if sp >= pol.drunk_probability:
            if self._high_since is None:
                self._high_since = obs.at
            held = obs.at - self._high_since
            if held >= pol.enter_seconds:
                self._drunk = True
                return self._judge(obs, SobrietyState.DRUNK, sp, f"P(drunk) high for {held:.0f} s")
            return self._judge(
                obs,
                SobrietyState.ABSTAIN,
                sp,
                f"P(drunk) high for {held:.0f}/{pol.enter_seconds:.0f} s (debounce)",
            )
        self._high_since = None
        if sp <= pol.sober_probability:
            return self._judge(obs, SobrietyState.SOBER, sp, "P(drunk) low", ended)
        return self._judge(obs, SobrietyState.ABSTAIN, sp, "P(drunk) in reject band: ask staff", ended)

    def _judge(
        self,
        obs: Observation,
        state: SobrietyState,
        sp: float | None,
        reason: str,
        recovered: bool = False,
    ) -> SobrietyJudgement:
        return SobrietyJudgement(
            at=obs.at,
            state=state,
            p_drunk=sp,
            raw_p_drunk=obs.p_drunk,
            posture_abnormal=obs.posture_abnormal,
            similarity_to_normal=obs.similarity_to_normal,
            evidence=obs.evidence,
            recovered=recovered,
            reason=reason,
        )


# --------------------------------------------------------------------------------------------------
# Activity states and the guest's own posture normal per activity
# --------------------------------------------------------------------------------------------------

# Activity states the method names; each has its own normal (a singer's head moves fast, a walker's
# legs swing): "unknown" when neither body nor face says enough.
ACTIVITY_STATES: tuple[str, ...] = ("singing", "dancing", "walking", "sitting", "standing", "unknown")
# Posture signals judged against the guest's normal for the current activity. Rates, sway: only
# more than normal is abnormal; tilt: a change either way from the guest's habitual lean.
POSTURE_SIGNALS: tuple[str, ...] = (
    "head_angle_rate_deg_s",
    "arm_angle_rate_deg_s",
    "leg_angle_rate_deg_s",
    "trunk_tilt_deg",
    "sway_path_per_s",
)
TWO_SIDED: frozenset[str] = frozenset({"trunk_tilt_deg"})


@dataclass(frozen=True)
class ActivityCues:
    """What the window shows, from pose and face (thresholds in ``ActivityThresholds``)."""

    body: str  # from pose alone: standing / sitting / walking / unknown
    mouth_motion: float | None = None  # std of mouth openness over the window (talking, singing)
    hand_at_mouth: bool = False  # a wrist next to the mouth for most of the window (microphone)
    arm_rate_deg_s: float | None = None
    sway_path_per_s: float | None = None


@dataclass(frozen=True)
class ActivityThresholds:
    singing_mouth_motion: float = 0.06  # with a hand at the mouth (singer clip: 0.2; still faces: ≤ 0.02)
    singing_mouth_motion_alone: float = 0.12  # without a microphone in view
    dancing_arm_rate_deg_s: float = 40.0  # rhythmic big arm movement …
    dancing_sway_path_per_s: float = 0.4  # … with whole-body sway, without walking away


def classify_activity(cues: ActivityCues, th: ActivityThresholds | None = None) -> str:
    """Activity state of one window: walking beats everything (the legs say so), then singing
    (mouth moving, microphone at the mouth), dancing (big arm movement and sway in place), else the
    body posture."""
    th = th or ActivityThresholds()
    if cues.body == "walking":
        return "walking"
    mm = cues.mouth_motion
    if mm is not None and (
        (cues.hand_at_mouth and mm >= th.singing_mouth_motion) or mm >= th.singing_mouth_motion_alone
    ):
        return "singing"
    arm, sway = cues.arm_rate_deg_s, cues.sway_path_per_s
    if arm is not None and sway is not None and arm >= th.dancing_arm_rate_deg_s and sway >= th.dancing_sway_path_per_s:
        return "dancing"
    return cues.body if cues.body in ACTIVITY_STATES else "unknown"


def _median(xs: Sequence[float]) -> float:
    v = sorted(xs)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


class PostureBaseline:
    """The guest's own posture normal, per activity: robust centre (median) and spread (1.4826·MAD)
    of each posture signal over their normal windows, and the robust z-score of a new window.

    The spread is floored (``min_spread`` per signal, and ``rel_spread`` × |median|): consecutive
    1-s windows overlap, so a short baseline underestimates how much a person varies. Samples are
    bounded (``max_samples`` per activity and signal, oldest dropped).
    """

    def __init__(
        self,
        min_spread: Mapping[str, float],
        rel_spread: float = 0.25,
        min_windows: int = 5,
        max_samples: int = 600,
    ) -> None:
        self._min_spread = dict(min_spread)
        self.rel_spread = rel_spread
        self.min_windows = min_windows
        self.max_samples = max_samples
        self._s: dict[str, dict[str, list[float]]] = {}

    def add(self, activity: str, values: Mapping[str, float | None]) -> None:
        per = self._s.setdefault(activity, {})
        for name in POSTURE_SIGNALS:
            v = values.get(name)
            if v is None or not math.isfinite(v):
                continue
            xs = per.setdefault(name, [])
            xs.append(float(v))
            if len(xs) > self.max_samples:
                del xs[0]

    def windows(self, activity: str) -> int:
        per = self._s.get(activity, {})
        return max((len(v) for v in per.values()), default=0)

    def knows(self, activity: str) -> bool:
        return self.windows(activity) >= self.min_windows

    def normal(self, activity: str, name: str) -> tuple[float, float] | None:
        """(median, spread) of one signal in one activity; None until ``min_windows`` windows."""
        xs = self._s.get(activity, {}).get(name, [])
        if len(xs) < self.min_windows:
            return None
        med = _median(xs)
        mad = _median([abs(x - med) for x in xs])
        spread = max(1.4826 * mad, self._min_spread.get(name, 1e-3), self.rel_spread * abs(med))
        return med, spread

    def zscore(self, activity: str, name: str, value: float) -> float | None:
        n = self.normal(activity, name)
        if n is None:
            return None
        z = (value - n[0]) / n[1]
        return abs(z) if name in TWO_SIDED else z

    def summary(self) -> dict[str, dict[str, tuple[float, float, int]]]:
        """Per activity and signal: (median, spread, windows) — what ``soberpay assess`` shows."""
        out: dict[str, dict[str, tuple[float, float, int]]] = {}
        for act, per in self._s.items():
            for name, xs in per.items():
                n = self.normal(act, name)
                if n is not None:
                    out.setdefault(act, {})[name] = (n[0], n[1], len(xs))
        return out

    def to_dict(self) -> dict[str, dict[str, list[float]]]:
        return {a: {k: list(v) for k, v in per.items()} for a, per in self._s.items()}

    def load(self, data: Mapping[str, Mapping[str, Sequence[float]]]) -> None:
        for act, per in data.items():
            for name, xs in per.items():
                if name in POSTURE_SIGNALS:
                    self._s.setdefault(str(act), {})[name] = [float(x) for x in xs][-self.max_samples :]


def posture_abnormal(
    activity: str,
    values: Mapping[str, float | None],
    baseline: PostureBaseline,
    tilt_threshold_deg: float,
    rate_threshold_deg_s: float,
    z_flag: float = 3.0,
    isolation_flag: bool = False,
) -> tuple[bool, list[Evidence]]:
    """Posture verdict against the guest's own normal for this activity.

    The method's absolute rules (tilt > 3°, angle rate > 3°/s) are still computed and reported in
    each signal's note, but they do not decide: on real sober people they fire all the time (a
    walker's legs turn at 10–16°/s, a singer's head at 15–25°/s, landmark jitter on a still face
    alone crosses 3°/s). A signal is flagged when it is ``z_flag`` robust standard deviations above
    the guest's normal for the same activity (tilt: away from their habitual lean); until that
    activity has a normal, nothing is flagged. The pose-CNN isolation forest (also fitted on the
    guest's own normal windows) counts only together with a flagged signal.
    """
    ev: list[Evidence] = []
    flagged_any = False
    known = baseline.knows(activity)
    for name in POSTURE_SIGNALS:
        v = values.get(name)
        if v is None or not math.isfinite(v):
            continue
        if name == "trunk_tilt_deg":
            over = trunk_tilt_flag(v, tilt_threshold_deg)
            rule = f"rule |tilt| > {tilt_threshold_deg:g}°: {'over' if over else 'under'}"
        elif name.endswith("rate_deg_s"):
            over = bool(angle_rate_flags({name: v}, rate_threshold_deg_s))
            rule = f"rule > {rate_threshold_deg_s:g}°/s: {'over' if over else 'under'}"
        else:
            rule = ""
        nrm = baseline.normal(activity, name)
        z = baseline.zscore(activity, name, v)
        flagged = z is not None and z >= z_flag
        flagged_any = flagged_any or flagged
        if flagged:
            note = f"{activity}: {z:.1f} robust SD above own normal"
        elif known:
            note = f"{activity}: within own normal"
        else:
            note = f"{activity}: no own normal for this activity yet"
        ev.append(
            Evidence(
                name,
                v,
                baseline=None if nrm is None else nrm[0],
                deviation=z,
                flagged=flagged,
                note="; ".join(x for x in (note, rule) if x),
            )
        )
    if isolation_flag:
        ev.append(
            Evidence(
                "pose_anomaly",
                1.0,
                flagged=flagged_any,
                note="isolation forest vs own normal poses" + ("" if flagged_any else " (alone: not abnormal)"),
            )
        )
    return flagged_any, ev


__all__ = [
    "ACTIVITY_STATES",
    "POSTURE_SIGNALS",
    "AbnormalPattern",
    "ActivityCues",
    "ActivityThresholds",
    "PostureBaseline",
    "classify_activity",
    "AbnormalPatternBook",
    "Evidence",
    "GuestBaseline",
    "Observation",
    "PatternUpdate",
    "SobrietyJudgement",
    "SobrietyPolicy",
    "SobrietyState",
    "SobrietyTracker",
    "angle_change_rate",
    "angle_rate_flags",
    "compare_to_baseline",
    "cosine_similarity",
    "isolation_score",
    "posture_abnormal",
    "similarity_to_baseline",
    "trunk_tilt_flag",
]
