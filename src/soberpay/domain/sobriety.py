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


def posture_abnormal(
    tilt_deg: float | None,
    rates_deg_s: Mapping[str, float | None],
    tilt_threshold_deg: float,
    rate_threshold_deg_s: float,
    isolation_flag: bool = False,
) -> tuple[bool, list[Evidence]]:
    """The method's posture verdict: tilt or any angle rate over its threshold, or a pose anomaly."""
    ev: list[Evidence] = []
    abnormal = isolation_flag
    if tilt_deg is not None:
        t = trunk_tilt_flag(tilt_deg, tilt_threshold_deg)
        abnormal = abnormal or t
        ev.append(Evidence("trunk_tilt_deg", tilt_deg, flagged=t, note=f"rule > {tilt_threshold_deg:g}°"))
    flagged = angle_rate_flags(rates_deg_s, rate_threshold_deg_s)
    for name, rate in rates_deg_s.items():
        if rate is None:
            continue
        ev.append(Evidence(name, rate, flagged=name in flagged, note=f"rule > {rate_threshold_deg_s:g}°/s"))
    abnormal = abnormal or bool(flagged)
    if isolation_flag:
        ev.append(Evidence("pose_anomaly", 1.0, flagged=True, note="isolation forest vs own normal"))
    return abnormal, ev


__all__ = [
    "AbnormalPattern",
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
