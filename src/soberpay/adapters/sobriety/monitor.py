"""Per-guest sobriety monitors: the array work behind ``SobrietyService``.

``GuestMonitor`` keeps one guest's signal windows (from ``analyzer.FrameAnalyzer``), own baseline,
normal pose model and tracker, and turns them into an ``Assessment`` about once per second
(``guests.py`` serves monitors to ``SobrietyService``). The CLI and the benchmarks use it directly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from soberpay.adapters.sobriety.analyzer import FrameAnalysis
from soberpay.adapters.sobriety.face_signals import FaceSignalWindow
from soberpay.adapters.sobriety.features import BASELINE_FEATURES
from soberpay.adapters.sobriety.fusion import FusionModel, fusion_vector
from soberpay.adapters.sobriety.pose import (
    NormalCheck,
    PoseCnnEmbedder,
    PoseNormalModel,
    PoseTimeSeries,
    PoseWindowFeatures,
)
from soberpay.adapters.sobriety.store import PersistentPatternBook
from soberpay.config import SobrietySettings
from soberpay.domain.sobriety import (
    POSTURE_SIGNALS,
    AbnormalPatternBook,
    ActivityCues,
    Evidence,
    GuestBaseline,
    Observation,
    PatternUpdate,
    PostureBaseline,
    SobrietyJudgement,
    SobrietyPolicy,
    SobrietyState,
    SobrietyTracker,
    classify_activity,
    compare_to_baseline,
    posture_abnormal,
    similarity_to_baseline,
)

# Floors on each signal's baseline spread, so a very steady baseline does not inflate z-scores.
MIN_STD: dict[str, float] = {
    "eye_openness": 0.03,
    "mouth_openness": 0.05,
    "blink_rate_per_min": 3.0,
    "blink_duration_s": 0.03,
    "perclos": 0.02,
    "gaze_jitter": 0.05,
    "head_micro_movement": 0.05,
    "head_angle_rate_deg_s": 1.0,
    "arm_angle_rate_deg_s": 2.0,
    "leg_angle_rate_deg_s": 1.0,
    "trunk_tilt_deg": 1.0,
    "sway_path_per_s": 0.05,
    "sway_freq_hz": 0.1,
}

# Floors on the spread of the guest's per-activity posture normal (robust z-scores). Measured on real
# sober footage: landmark jitter alone moves a still person's head angle by ≈ 1–3°/s and their
# median tilt by ≈ 0.5° from window to window (docs/research/sobriety-assessment.md).
POSTURE_MIN_SPREAD: dict[str, float] = {
    "head_angle_rate_deg_s": 2.0,
    "arm_angle_rate_deg_s": 3.0,
    "leg_angle_rate_deg_s": 3.0,
    "trunk_tilt_deg": 2.0,
    "sway_path_per_s": 0.05,
}


def _expression_available(model: Any) -> bool:
    from soberpay.adapters.sobriety.expression import MODEL_FILE

    return bool((Path(model.model_dir) / MODEL_FILE).is_file())


def default_expression() -> Any:
    """The expression classifier (other module) when its model ships; else None (fusion imputes)."""
    try:
        from soberpay.adapters.sobriety.expression import ExpressionClassifier
    except ImportError:  # pragma: no cover - module not present
        return None
    model = ExpressionClassifier()
    return model if _expression_available(model) else None


def policy_from_settings(s: SobrietySettings) -> SobrietyPolicy:
    return SobrietyPolicy(
        sober_probability=s.sober_probability,
        drunk_probability=s.drunk_probability,
        enter_seconds=s.enter_seconds,
        smoothing_seconds=s.smoothing_seconds,
        require_corroboration=s.require_corroboration,
    )


# --------------------------------------------------------------------------------------------------
# One guest
# --------------------------------------------------------------------------------------------------


@dataclass
class Assessment:
    """One assessment step (normally once per second)."""

    t: float
    judgement: SobrietyJudgement
    face: dict[str, float] | None
    pose: dict[str, float] | None
    activity: str | None  # activity state (singing, dancing, walking, sitting, standing, unknown)
    activity_normal: dict[str, tuple[float, float, int]] | None  # own normal for it: median, spread, windows
    normal_check: NormalCheck | None
    pattern_update: PatternUpdate | None
    in_baseline: bool
    flags: tuple[str, ...]
    posture_reason: str = ""  # why the posture is or is not abnormal, in one line

    def to_dict(self) -> dict[str, Any]:
        def clean(d: Mapping[str, float] | None) -> dict[str, float | None] | None:
            if d is None:
                return None
            return {k: (round(v, 4) if math.isfinite(v) else None) for k, v in d.items()}

        j = self.judgement
        return {
            "t": round(self.t, 2),
            "state": j.state.value,
            "p_drunk": None if j.p_drunk is None else round(j.p_drunk, 4),
            "raw_p_drunk": None if j.raw_p_drunk is None else round(j.raw_p_drunk, 4),
            "posture_abnormal": j.posture_abnormal,
            "similarity_to_normal": None if j.similarity_to_normal is None else round(j.similarity_to_normal, 4),
            "recovered": j.recovered,
            "in_baseline": self.in_baseline,
            "activity": self.activity,
            "activity_normal": None
            if self.activity_normal is None
            else {
                k: {"median": round(m, 4), "spread": round(sd, 4), "windows": n}
                for k, (m, sd, n) in self.activity_normal.items()
            },
            "posture_reason": self.posture_reason,
            "posture_evidence": [
                e.describe() for e in j.evidence if e.signal in POSTURE_SIGNALS or e.signal == "pose_anomaly"
            ],
            "flags": list(self.flags),
            "reason": j.reason,
            "evidence": [e.describe() for e in j.evidence if e.flagged],
            "face": clean(self.face),
            "pose": clean(self.pose),
            "pose_similarity": None if self.normal_check is None else round(self.normal_check.similarity, 4),
            "to_verify": None if self.normal_check is None else self.normal_check.to_verify,
            "pose_anomaly": None if self.normal_check is None else self.normal_check.anomaly,
            "pattern": None
            if self.pattern_update is None
            else {
                "id": self.pattern_update.pattern_id,
                "reinforced": self.pattern_update.reinforced,
                "count": self.pattern_update.count,
            },
        }


class GuestMonitor:
    """Everything the method keeps per guest: windows, baseline, normal pose model, tracker."""

    def __init__(
        self,
        guest_id: str,
        settings: SobrietySettings,
        fusion: FusionModel | None,
        embedder: PoseCnnEmbedder | None,
        pattern_book: AbnormalPatternBook | PersistentPatternBook | None = None,
        baseline: GuestBaseline | None = None,
        normal_embeddings: Iterable[Iterable[float]] = (),
        start_t: float | None = None,
        expression: Any = None,
        posture_baseline: Mapping[str, Mapping[str, Iterable[float]]] | None = None,
    ) -> None:
        self.guest_id = guest_id
        self.expression = expression if expression is not None and _expression_available(expression) else None
        self.s = settings
        self.fusion = fusion if fusion is not None and fusion.available else None
        self.embedder = embedder if embedder is not None and embedder.available else None
        self.pattern_book = pattern_book
        self.face_window = FaceSignalWindow(
            settings.window_seconds,
            settings.blink_close_openness,
            settings.blink_reopen_openness,
            settings.perclos_closed_openness,
            settings.colour_scale_a,
        )
        self.pose_series = PoseTimeSeries(settings.window_seconds, settings.min_pose_visibility)
        self.baseline = baseline or GuestBaseline(MIN_STD)
        self.stored_baseline = baseline is not None
        self.posture = PostureBaseline(POSTURE_MIN_SPREAD)
        if posture_baseline:
            self.posture.load({a: {k: list(v) for k, v in per.items()} for a, per in posture_baseline.items()})
        self.normal = PoseNormalModel(
            settings.pose_similarity_threshold, settings.isolation_contamination, min_history=5
        )
        for e in normal_embeddings:
            self.normal.add_normal(np.asarray(list(e), np.float32))
        self.tracker = SobrietyTracker(policy_from_settings(settings))
        self.start_t = start_t
        self.last_face_t: float | None = None
        self.last_pose_t: float | None = None
        self.last: Assessment | None = None
        self.baseline_just_frozen = False
        self.pose_track = -1

    def in_baseline(self, t: float) -> bool:
        if self.stored_baseline or self.start_t is None:
            return False if self.stored_baseline else True
        return t - self.start_t < self.s.baseline_seconds

    def add(self, a: FrameAnalysis) -> None:
        if self.start_t is None:
            self.start_t = a.t
        if a.face is not None:
            self.face_window.add(a.face, in_baseline=self.in_baseline(a.t) and not self.stored_baseline)
            self.last_face_t = a.t
        if a.pose is not None:
            if a.pose.track != self.pose_track:
                self.pose_series.reset()  # re-acquired or switched person: never mix two series
                self.pose_track = a.pose.track
            self.pose_series.add(a.t, a.pose.xy, a.pose.visibility)
            self.last_pose_t = a.t

    def assess(self, t: float) -> Assessment:
        s = self.s
        self.face_window.drop_older_than(t)
        self.pose_series.drop_older_than(t)
        fresh_face = self.last_face_t is not None and t - self.last_face_t <= 2.0
        fresh_pose = self.last_pose_t is not None and t - self.last_pose_t <= 2.0
        fs = self.face_window.signals() if fresh_face else None
        face = fs.as_dict() if fs is not None else None
        if face is not None and self.expression is not None:
            face["expression_score"] = self._expression_score()
        pf: PoseWindowFeatures | None = self.pose_series.features() if fresh_pose else None
        pose = pf.as_dict() if pf is not None else None
        in_base = self.in_baseline(t)

        chk: NormalCheck | None = None
        emb = None
        if pf is not None and self.embedder is not None:
            w = self.pose_series.cnn_window()
            if w is not None:
                emb = self.embedder.embed(w)[0]
                chk = self.normal.check(emb)
                if pose is not None and chk is not None:
                    pose["isolation_score"] = chk.isolation_score
        pattern_update: PatternUpdate | None = None
        if chk is not None and chk.anomaly and not in_base and self.pattern_book is not None and emb is not None:
            pattern_update = self.pattern_book.record([float(x) for x in emb])

        values: dict[str, float | None] = {}
        for src in (face, pose):
            if src:
                values.update({k: v for k, v in src.items() if k in BASELINE_FEATURES})
        activity = self._activity(pf, fresh_face) if pf is not None or fs is not None else None
        posture_values: dict[str, float | None] = {k: values.get(k) for k in POSTURE_SIGNALS if k in values}
        # Face signals against the guest's own (visit-start) baseline; posture against the normal of
        # the current activity (below), not against a pooled normal of whatever they did at the start.
        face_values = {k: v for k, v in values.items() if k not in POSTURE_SIGNALS}

        if in_base:
            if values:
                self.baseline.update(values)
            if activity is not None and posture_values:
                self.posture.add(activity, posture_values)
            if emb is not None:
                self.normal.add_normal(emb)
        elif not self.baseline.frozen:
            self.baseline.freeze()
            self.baseline_just_frozen = True

        vec = fusion_vector(face, pose, self.baseline)
        p = self.fusion.p_drunk(vec) if self.fusion is not None and (face or pose) else None
        ood = self.fusion.out_of_range(vec) if p is not None and self.fusion is not None else []

        evidence: list[Evidence] = []
        flags: list[str] = []
        posture_flag = False
        if pf is not None and activity is not None:
            posture_flag, pev = posture_abnormal(
                activity,
                posture_values,
                self.posture,
                s.trunk_tilt_flag_deg,
                s.angle_rate_flag_deg_s,
                s.posture_z_flag,
                bool(chk and chk.anomaly),
            )
            if in_base:  # the baseline period defines the normal: shown, never flagged
                posture_flag, pev = False, [replace(e, flagged=False) for e in pev]
            evidence += pev
            flags += [e.signal for e in pev if e.flagged]
        if not in_base and self.baseline.frozen:
            evidence += compare_to_baseline(face_values, self.baseline)
        if face and math.isfinite(face.get("colour_change", float("nan"))):
            cc = face["colour_change"]
            evidence.append(
                Evidence(
                    "colour_change",
                    cc,
                    flagged=abs(cc) >= 0.5,
                    note="vs own baseline; never a trigger alone (alcohol flush, lighting)",
                )
            )
        flags += [e.signal for e in evidence if e.flagged and e.signal not in flags and e.deviation is not None]

        sims = []
        sb = similarity_to_baseline(values, self.baseline) if self.baseline.frozen else None
        if sb is not None:
            sims.append(sb)
        if chk is not None:
            sims.append(max(0.0, chk.similarity))
        similarity = float(np.mean(sims)) if sims else None

        if ood:
            # The model never saw signals like these (e.g. a tiny, noisy far-away person): do not
            # let the SVM extrapolate; the tracker abstains and the evidence says why.
            evidence.append(
                Evidence(
                    "out_of_model_range",
                    float(len(ood)),
                    flagged=True,
                    note="outside the training range: " + ", ".join(ood[:4]),
                )
            )
            flags.append("out_of_model_range")
            p = None
        judgement = self.tracker.observe(Observation(t, p, similarity, posture_flag, tuple(evidence)))
        if ood and judgement.state is SobrietyState.ABSTAIN:
            judgement = replace(
                judgement, reason="signals outside the fusion model's training range (" + ", ".join(ood[:3]) + ")"
            )
        if in_base and judgement.state is not SobrietyState.DRUNK:
            judgement = replace(
                judgement,
                state=SobrietyState.ABSTAIN,
                recovered=False,
                reason="building the guest's own baseline; " + judgement.reason,
            )
        else:
            if judgement.state is SobrietyState.SOBER and chk is not None and not chk.to_verify and emb is not None:
                # Grow the historical normal with windows judged sober that already look normal.
                self.normal.add_normal(emb)
            if activity is not None and posture_values and judgement.state is not SobrietyState.DRUNK:
                # A first-seen activity (the guest stands up to sing) learns its own normal from its first
                # windows; a known one only grows with windows judged sober and within the normal.
                if not self.posture.knows(activity) or (judgement.state is SobrietyState.SOBER and not posture_flag):
                    self.posture.add(activity, posture_values)
        summary = self.posture.summary().get(activity) if activity is not None else None
        self.last = Assessment(t, judgement, face, pose, activity, summary, chk, pattern_update, in_base, tuple(flags))
        return self.last

    def _posture_reason(
        self, pf: PoseWindowFeatures | None, activity: str | None, in_base: bool, evidence: list[Evidence]
    ) -> str:
        if pf is None or activity is None:
            return "no pose in view"
        if in_base:
            return f"baseline period: learning the guest's own {activity} normal"
        hits = [e for e in evidence if e.flagged and e.signal in POSTURE_SIGNALS and e.deviation is not None]
        if hits:
            return f"abnormal vs own {activity} normal: " + ", ".join(
                f"{e.signal} {e.value:.3g} (normal {e.baseline:.3g}, z={e.deviation:+.1f})" for e in hits
            )
        if not self.posture.knows(activity):
            return f"no own {activity} normal yet (learning it from this activity's first windows)"
        return f"within own {activity} normal (all z < {self.s.posture_z_flag:g}); 3°/s and 3° rules: reported only"

    def _activity(self, pf: PoseWindowFeatures | None, fresh_face: bool) -> str:
        mouth = [f.mouth_openness for f in self.face_window.frames] if fresh_face else []
        cues = ActivityCues(
            body=pf.activity if pf is not None else "unknown",
            mouth_motion=float(np.std(mouth)) if len(mouth) >= 10 else None,
            hand_at_mouth=bool(pf and pf.hand_at_mouth),
            arm_rate_deg_s=pf.arm_angle_rate_deg_s
            if pf is not None and math.isfinite(pf.arm_angle_rate_deg_s)
            else None,
            sway_path_per_s=pf.sway_path_per_s if pf is not None else None,
        )
        return classify_activity(cues)

    def _expression_score(self) -> float:
        """The expression classifier's P(alcohol-influenced) on the face window (NaN if unusable)."""
        from soberpay.adapters.sobriety.face_signals import expression_score_from_frames

        return expression_score_from_frames(
            list(self.face_window.frames), self.face_window.colour_baseline, self.s.colour_scale_a, self.expression
        )

    def normal_state(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline.to_dict(),
            "posture_baseline": self.posture.to_dict(),
            "normal_embeddings": [[round(float(x), 5) for x in e] for e in list(self.normal.history)[-100:]],
        }


__all__ = [
    "MIN_STD",
    "POSTURE_MIN_SPREAD",
    "Assessment",
    "GuestMonitor",
    "default_expression",
    "policy_from_settings",
]
