"""Risk state machine per guest (pure Python): normal → tagged → recovering → normal.

```
            drunk judgement (fused P(drunk) ≥ drunk_probability)
            or drunk WARNING (abnormal consumption AND abnormal posture)
            or staff tag (sticky, reason required)
  NORMAL ──────────────────────────────────────────────────────────▶ TAGGED
    ▲                                                                 │  ▲
    │  similarity held ≥ recovery_similarity for recovery_dwell       │  │ similarity drops /
    │  AND eBAC < recovery_bac_limit (when drinks are known)          │  │ drunk again
    │  AND min_lock elapsed since the last trigger                    │  │
    │                                                                 ▼  │
    └──────────────────────────────────────────────────────────── RECOVERING
  staff untag (reason required): any state → NORMAL, automatic re-tagging paused for min_lock
```

Hysteresis: the tag comes from a high P(drunk) (or the warning rule), but leaving needs a *different*,
stricter condition — similarity to the guest's own normal ≥ ``recovery_similarity`` with P(drunk)
back at/below ``sober_probability``, normal posture and, when the guest's drinks this visit are known,
the Widmark estimate below ``recovery_bac_limit`` — held for a dwell time, and never before the
minimum lock time. The eBAC gate exists because a face that looks normal again says nothing about the
alcohol still in the blood: a guest estimated at 0.25 g/100 mL must not be unlocked to buy a bottle.
Readings arrive when sampled (each purchase, each refresh, each room frame), so the dwell counts
from the first good reading; a bad reading in between resets it.

This is the ONE hysteresis between "drunk" and "recovered". The sobriety tracker
(``soberpay.domain.sobriety.SobrietyTracker``) only smooths and debounces the camera's P(drunk) into
a verdict per frame (drunk / sober / abstain) and does not latch. One is enough because the tag is
what payments act on: it is persisted (a restarted camera process forgets nothing), it also holds
staff and warning tags and the minimum lock, and its recovery rule already requires the guest to be
back in the sober band, similar to their own normal, for the dwell time. A second latch in series
(as before) only made recovery wait for two dwell times and could disagree with this one. The
thresholds are defined once in ``Settings``: the P(drunk) band in ``sobriety``, the recovery
similarity and dwell (with the minimum lock) in ``payment``.

The *risk level* (low / elevated / high) is reported with every decision: consumption anomalies
(spending, BAC estimate, LSTM behaviour score) or abnormal posture alone raise it to elevated and
notify staff; only the drunk judgement, the warning rule or staff put on the tag.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, runtime_checkable

from soberpay.domain.bac import BacEstimate
from soberpay.domain.spending import SpendingCheck
from soberpay.errors import InvalidInput


class RiskState(StrEnum):
    NORMAL = "normal"
    TAGGED = "tagged"
    RECOVERING = "recovering"


class RiskLevel(StrEnum):
    LOW = "low"
    ELEVATED = "elevated"
    HIGH = "high"


class TagSource(StrEnum):
    SOBRIETY = "sobriety"  # fused drunk judgement
    WARNING = "warning"  # abnormal consumption AND abnormal posture
    STAFF = "staff"


# --- the sobriety input port ---------------------------------------------------------------------


@dataclass(frozen=True)
class SobrietyObservation:
    """What the sobriety assessment tells payments about one guest right now."""

    p_drunk: float | None  # fused probability, None when not enough signal
    posture_abnormal: bool
    similarity_to_normal: float | None  # 0..1 similarity of face+posture to the guest's own normal
    judged_drunk: bool | None = None  # the sobriety tracker's verdict; when given it overrides p_drunk
    reason: str = ""
    # The tracker ran and abstained (in doubt: debounce not yet over, facial colour alone, out of the
    # model's range). Unlike "no tracker" (judged_drunk None, abstained False), its P(drunk) must not tag
    # on its own: that would skip the tracker's debounce and its rule that colour never decides alone.
    abstained: bool = False

    def __post_init__(self) -> None:
        if self.abstained and self.judged_drunk is not None:
            raise InvalidInput("an abstaining tracker gives no verdict", field="judged_drunk")
        for name in ("p_drunk", "similarity_to_normal"):
            v = getattr(self, name)
            if v is not None and not 0.0 <= v <= 1.0:
                raise InvalidInput(f"{name} must be within 0..1", field=name)


@runtime_checkable
class SobrietySignal(Protocol):
    """Input port: the sobriety service (issue 5) implements it; tests and the demo use a fake."""

    def latest(self, guest_id: str) -> SobrietyObservation | None: ...


# --- consumption signals -------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsumptionSignals:
    spending: SpendingCheck | None = None
    bac: BacEstimate | None = None
    bac_abnormal: bool = False
    behaviour_score: float | None = None  # LSTM anomaly score 0..1, None when the model is off
    behaviour_abnormal: bool = False

    @property
    def abnormal(self) -> bool:
        return bool(self.spending and self.spending.abnormal) or self.bac_abnormal or self.behaviour_abnormal

    def reasons(self) -> list[str]:
        out: list[str] = []
        if self.spending and self.spending.abnormal:
            out.extend(self.spending.reasons)
        if self.bac is not None and self.bac_abnormal:
            out.append(self.bac.explain())
        if self.behaviour_abnormal and self.behaviour_score is not None:
            out.append(f"behaviour model anomaly score {self.behaviour_score:.2f}")
        return out


# --- state ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskPolicy:
    drunk_probability: float = 0.7
    sober_probability: float = 0.3
    recovery_similarity: float = 0.9
    recovery_dwell_seconds: float = 300.0
    min_lock_seconds: float = 600.0
    recovery_bac_limit: float = 0.05  # g/100 mL; only applies when the visit's drinks are known


@dataclass(frozen=True)
class RiskRecord:
    guest_id: str
    state: RiskState = RiskState.NORMAL
    level: RiskLevel = RiskLevel.LOW
    tag_source: TagSource | None = None
    tag_reason: str = ""
    tagged_at: datetime | None = None
    last_trigger_at: datetime | None = None  # min lock counts from here
    recovering_since: datetime | None = None
    sticky: bool = False  # staff tags are only removed by staff
    staff_clear_until: datetime | None = None  # automatic tagging paused after a staff untag
    updated_at: datetime | None = None

    @property
    def tagged(self) -> bool:
        """Tagged and recovering guests are both still locked."""
        return self.state is not RiskState.NORMAL


@dataclass(frozen=True)
class RiskTransition:
    from_state: RiskState
    to_state: RiskState
    trigger: str  # "drunk_judgement", "drunk_warning", "staff_tag", "staff_untag", "similarity_high",
    #               "recovered", "relapse"
    explanation: str
    at: datetime


@dataclass(frozen=True)
class RiskStep:
    record: RiskRecord
    transitions: tuple[RiskTransition, ...] = ()
    warning: bool = False
    drunk: bool = False
    consumption_abnormal: bool = False
    posture_abnormal: bool = False
    signals: tuple[str, ...] = field(default_factory=tuple)  # human lines: which signals said what

    @property
    def unlocked(self) -> bool:
        return any(t.to_state is RiskState.NORMAL and t.from_state is not RiskState.NORMAL for t in self.transitions)

    @property
    def newly_tagged(self) -> bool:
        return any(t.from_state is RiskState.NORMAL and t.to_state is RiskState.TAGGED for t in self.transitions)

    def explain(self) -> str:
        parts = [t.explanation for t in self.transitions]
        if not parts:
            parts.append(f"risk state {self.record.state.value}, level {self.record.level.value}")
        parts.extend(line for line in self.signals if line.startswith(("recovering:", "not yet recovering", "staff")))
        return "; ".join(parts)


def _level(drunk: bool, warning: bool, consumption: bool, posture: bool) -> RiskLevel:
    if drunk or warning:
        return RiskLevel.HIGH
    if consumption or posture:
        return RiskLevel.ELEVATED
    return RiskLevel.LOW


def step(
    record: RiskRecord,
    now: datetime,
    sobriety: SobrietyObservation | None,
    consumption: ConsumptionSignals | None,
    policy: RiskPolicy,
) -> RiskStep:
    """Advance the state machine with the latest signals. Pure: returns the new record and transitions."""
    drunk = False
    posture = False
    lines: list[str] = []
    if sobriety is not None:
        posture = sobriety.posture_abnormal
        if sobriety.judged_drunk is not None:  # the tracker's smoothed, debounced verdict wins
            drunk = sobriety.judged_drunk
        elif sobriety.abstained:
            drunk = False  # the tracker is in doubt: staff decide, P(drunk) alone does not tag
        elif sobriety.p_drunk is not None and sobriety.p_drunk >= policy.drunk_probability:
            drunk = True
        p_text = "n/a" if sobriety.p_drunk is None else f"{sobriety.p_drunk:.2f}"
        s_text = "n/a" if sobriety.similarity_to_normal is None else f"{sobriety.similarity_to_normal:.2f}"
        lines.append(
            f"sobriety: P(drunk)={p_text}, similarity to own normal={s_text}, "
            f"posture {'ABNORMAL' if posture else 'normal'}" + (f" ({sobriety.reason})" if sobriety.reason else "")
        )
    else:
        lines.append("sobriety: no reading")
    consumption_abnormal = bool(consumption and consumption.abnormal)
    if consumption is not None:
        reasons = consumption.reasons()
        lines.append("consumption: " + ("; ".join(reasons) if reasons else "within the guest's usual range"))
        if consumption.bac is not None and not consumption.bac_abnormal:
            lines.append(consumption.bac.explain())
        if consumption.behaviour_score is not None and not consumption.behaviour_abnormal:
            lines.append(f"behaviour model anomaly score {consumption.behaviour_score:.2f} (below threshold)")
    warning = consumption_abnormal and posture
    level = _level(drunk, warning, consumption_abnormal, posture)
    transitions: list[RiskTransition] = []
    rec = replace(record, level=level, updated_at=now)

    paused = rec.staff_clear_until is not None and now < rec.staff_clear_until
    trigger: tuple[str, TagSource, str] | None = None
    if drunk:
        trigger = ("drunk_judgement", TagSource.SOBRIETY, "fused sobriety score judged the guest drunk")
    elif warning:
        trigger = (
            "drunk_warning",
            TagSource.WARNING,
            "drunk warning: abnormal consumption and abnormal posture coincide",
        )

    if trigger is not None and paused:
        lines.append("automatic tagging paused by a recent staff untag")
        trigger = None

    if trigger is not None:
        name, source, text = trigger
        if rec.state is RiskState.NORMAL:
            rec = replace(
                rec,
                state=RiskState.TAGGED,
                tag_source=source,
                tag_reason=text,
                tagged_at=now,
                last_trigger_at=now,
                recovering_since=None,
            )
            transitions.append(RiskTransition(RiskState.NORMAL, RiskState.TAGGED, name, f"tagged: {text}", now))
        else:
            if rec.state is RiskState.RECOVERING:
                transitions.append(
                    RiskTransition(RiskState.RECOVERING, RiskState.TAGGED, "relapse", f"recovery reset: {text}", now)
                )
            rec = replace(rec, state=RiskState.TAGGED, last_trigger_at=now, recovering_since=None)
        return RiskStep(rec, tuple(transitions), warning, drunk, consumption_abnormal, posture, tuple(lines))

    if rec.state is RiskState.NORMAL:
        return RiskStep(rec, (), warning, drunk, consumption_abnormal, posture, tuple(lines))

    if rec.sticky:
        lines.append("staff tag: only staff can remove it")
        return RiskStep(rec, (), warning, drunk, consumption_abnormal, posture, tuple(lines))

    if sobriety is None or sobriety.similarity_to_normal is None:
        return RiskStep(rec, (), warning, drunk, consumption_abnormal, posture, tuple(lines))

    similar = sobriety.similarity_to_normal >= policy.recovery_similarity
    sober_p = sobriety.p_drunk is None or sobriety.p_drunk <= policy.sober_probability
    bac = consumption.bac if consumption is not None else None
    bac_ok = bac is None or bac.bac_g_per_dl < policy.recovery_bac_limit
    good = similar and sober_p and not posture and bac_ok
    if not good:
        bac_text = (
            ""
            if bac is None
            else f", estimated BAC {bac.bac_g_per_dl:.3f} g/100 mL must be < {policy.recovery_bac_limit:.3f}"
        )
        lines.append(
            f"not yet recovering: similarity {sobriety.similarity_to_normal:.2f} "
            f"(needs ≥ {policy.recovery_similarity:.2f}), P(drunk) must be ≤ {policy.sober_probability:.2f} "
            f"and posture normal{bac_text}"
        )
        if rec.state is RiskState.RECOVERING:
            transitions.append(
                RiskTransition(
                    RiskState.RECOVERING,
                    RiskState.TAGGED,
                    "relapse",
                    f"recovery reset: similarity {sobriety.similarity_to_normal:.2f} "
                    f"(needs ≥ {policy.recovery_similarity:.2f}), P(drunk) and posture must be normal{bac_text}",
                    now,
                )
            )
            rec = replace(rec, state=RiskState.TAGGED, recovering_since=None)
        return RiskStep(rec, tuple(transitions), warning, drunk, consumption_abnormal, posture, tuple(lines))

    if rec.state is RiskState.TAGGED:
        rec = replace(rec, state=RiskState.RECOVERING, recovering_since=now)
        transitions.append(
            RiskTransition(
                RiskState.TAGGED,
                RiskState.RECOVERING,
                "similarity_high",
                f"recovering: similarity {sobriety.similarity_to_normal:.2f} ≥ {policy.recovery_similarity:.2f}",
                now,
            )
        )
    assert rec.recovering_since is not None
    dwell = (now - rec.recovering_since).total_seconds()
    since_trigger = (now - (rec.last_trigger_at or rec.tagged_at or now)).total_seconds()
    if dwell >= policy.recovery_dwell_seconds and since_trigger >= policy.min_lock_seconds:
        transitions.append(
            RiskTransition(
                RiskState.RECOVERING,
                RiskState.NORMAL,
                "recovered",
                f"recovered: similarity held ≥ {policy.recovery_similarity:.2f} for {dwell:.0f} s "
                f"(dwell {policy.recovery_dwell_seconds:.0f} s), locked {since_trigger:.0f} s "
                f"(minimum {policy.min_lock_seconds:.0f} s); high-price items unlocked",
                now,
            )
        )
        rec = _cleared(rec, now)
    else:
        lines.append(
            f"recovering: held {dwell:.0f}/{policy.recovery_dwell_seconds:.0f} s, "
            f"locked {since_trigger:.0f}/{policy.min_lock_seconds:.0f} s"
        )
    return RiskStep(rec, tuple(transitions), warning, drunk, consumption_abnormal, posture, tuple(lines))


def _cleared(rec: RiskRecord, now: datetime) -> RiskRecord:
    return replace(
        rec,
        state=RiskState.NORMAL,
        tag_source=None,
        tag_reason="",
        tagged_at=None,
        last_trigger_at=None,
        recovering_since=None,
        sticky=False,
        updated_at=now,
    )


MIN_REASON_CHARS = 3


def validate_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS:
        raise InvalidInput("a staff override needs a reason (at least 3 characters)", field="reason")
    if len(text) > 500:
        raise InvalidInput("reason is too long (max 500 characters)", field="reason")
    return text


def staff_tag(record: RiskRecord, now: datetime, reason: str, actor: str) -> RiskStep:
    """Staff put the tag on; it stays until staff remove it."""
    reason = validate_reason(reason)
    rec = replace(
        record,
        state=RiskState.TAGGED,
        level=RiskLevel.HIGH,
        tag_source=TagSource.STAFF,
        tag_reason=f"staff {actor}: {reason}",
        tagged_at=record.tagged_at if record.tagged else now,
        last_trigger_at=now,
        recovering_since=None,
        sticky=True,
        staff_clear_until=None,
        updated_at=now,
    )
    t = RiskTransition(record.state, RiskState.TAGGED, "staff_tag", f"tagged by staff {actor}: {reason}", now)
    return RiskStep(rec, (t,), signals=(f"staff override by {actor}",))


def staff_untag(record: RiskRecord, now: datetime, reason: str, actor: str, pause_seconds: float) -> RiskStep:
    """Staff remove the tag; automatic tagging pauses for ``pause_seconds`` so the override sticks."""
    reason = validate_reason(reason)
    rec = replace(_cleared(record, now), level=RiskLevel.LOW, staff_clear_until=now + timedelta(seconds=pause_seconds))
    t = RiskTransition(record.state, RiskState.NORMAL, "staff_untag", f"untagged by staff {actor}: {reason}", now)
    return RiskStep(rec, (t,), signals=(f"staff override by {actor}",))


def new_visit(record: RiskRecord, now: datetime, carryover_hours: float) -> RiskStep:
    """A new visit keeps a recent tag (safety first) but clears one older than ``carryover_hours``."""
    if not record.tagged or record.tagged_at is None:
        return RiskStep(replace(record, level=RiskLevel.LOW, updated_at=now))
    age_h = (now - record.tagged_at).total_seconds() / 3600.0
    if age_h < carryover_hours:
        return RiskStep(record, signals=(f"tag from {age_h:.1f} h ago carried into the new visit",))
    t = RiskTransition(
        record.state, RiskState.NORMAL, "tag_expired", f"tag from {age_h:.1f} h ago cleared at the new visit", now
    )
    return RiskStep(replace(_cleared(record, now), level=RiskLevel.LOW), (t,))


__all__ = [
    "ConsumptionSignals",
    "RiskLevel",
    "RiskPolicy",
    "RiskRecord",
    "RiskState",
    "RiskStep",
    "RiskTransition",
    "SobrietyObservation",
    "SobrietySignal",
    "TagSource",
    "new_visit",
    "staff_tag",
    "staff_untag",
    "step",
    "validate_reason",
]
