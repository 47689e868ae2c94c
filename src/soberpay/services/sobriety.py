"""Sobriety monitoring use cases: per-guest monitors behind consent, assessment cadence, persistence of
judgements, and the payments' ``SobrietySignal`` port (``latest``).

The service is pure: frames are opaque to it. The array work (Face Mesh + Pose per frame, the guest's
own baseline and normal pose model, fusion into P(drunk)) lives behind the ``GuestMonitors`` port,
implemented by ``soberpay.adapters.sobriety.guests.VisionGuestMonitors`` and handed in by the
composition root. ``risk_observation`` is the one conversion of a sobriety judgement into the
payments' risk input; the room pipeline and ``latest`` both use it.

One camera view is associated with one guest (the room pipeline crops each identified guest); see
the docs (Sobriety assessment).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from soberpay.domain.risk import SobrietyObservation
from soberpay.domain.sobriety import SobrietyJudgement, SobrietyState
from soberpay.domain.thermal import ThermalFaceState, combine
from soberpay.errors import ConsentRequired

REASON_CHARS = 300  # the risk explanation keeps the judgement's reason short


class SobrietyReading(Protocol):
    """A sobriety judgement as payments need it: in memory (``SobrietyJudgement``) or stored."""

    @property
    def p_drunk(self) -> float | None: ...
    @property
    def posture_abnormal(self) -> bool: ...
    @property
    def similarity_to_normal(self) -> float | None: ...
    @property
    def state(self) -> SobrietyState | str: ...
    @property
    def reason(self) -> str: ...


def _unit(v: float | None) -> float | None:
    return None if v is None else min(1.0, max(0.0, float(v)))


def risk_observation(reading: SobrietyReading) -> SobrietyObservation:
    """The payments' risk input for a sobriety reading; ``abstain`` gives no verdict and P(drunk) does not
    tag on its own (``abstained``): the tracker's debounce and colour rule stay in force."""
    state = reading.state.value if isinstance(reading.state, SobrietyState) else str(reading.state)
    reason = reading.explain() if isinstance(reading, SobrietyJudgement) else reading.reason
    return SobrietyObservation(
        p_drunk=_unit(reading.p_drunk),
        posture_abnormal=bool(reading.posture_abnormal),
        similarity_to_normal=_unit(reading.similarity_to_normal),
        judged_drunk=None if state == SobrietyState.ABSTAIN.value else state == SobrietyState.DRUNK.value,
        reason=reason[:REASON_CHARS],
        abstained=state == SobrietyState.ABSTAIN.value,
    )


# --- ports ------------------------------------------------------------------------------------------


class Assessed(Protocol):
    """One assessment step of a guest's monitor."""

    @property
    def t(self) -> float: ...
    @property
    def judgement(self) -> SobrietyJudgement: ...


class MonitoredGuest(Protocol):
    """One guest's monitor: consumes frames (opaque here), assesses, keeps the guest's own normal."""

    @property
    def guest_id(self) -> str: ...
    @property
    def last(self) -> Assessed | None: ...

    def observe(self, frame: object, t: float, capture: bool) -> bool:
        """Analyse a frame; with ``capture`` also store the encrypted feature record (True when stored)."""
        ...

    def assess(self, t: float) -> Assessed: ...

    def save_normal(self) -> None: ...

    def close(self) -> None: ...


class GuestMonitors(Protocol):
    def open(self, guest_id: str) -> MonitoredGuest:
        """A monitor for the guest, starting from their stored normal when there is one."""
        ...


class JudgementLog(Protocol):
    def add_judgement(self, guest_id: str, at: datetime, j: SobrietyJudgement) -> None: ...
    def latest_judgement(self, guest_id: str) -> SobrietyReading | None: ...


class ThermalLog(Protocol):
    """The latest thermal face-state report per guest (rooms with a thermal camera)."""

    def record(self, guest_id: str, at: datetime, report: ThermalFaceState, room_id: str | None) -> None: ...
    def latest(self, guest_id: str) -> tuple[datetime, ThermalFaceState] | None: ...


# --- service ----------------------------------------------------------------------------------------


class SobrietyService:
    """Per-guest monitors behind consent, judgement persistence, the payments port."""

    def __init__(
        self,
        monitors: GuestMonitors,
        judgements: JudgementLog,
        has_consent: Callable[[str], bool],
        now: Callable[[], datetime],
        capture_every_seconds: float = 30.0,
        persist_every_seconds: float = 60.0,
        thermal: ThermalLog | None = None,
        thermal_weight: float = 0.5,
        thermal_max_age_seconds: float = 120.0,
    ) -> None:
        self.monitors = monitors
        self.thermal = thermal
        self.thermal_weight = thermal_weight
        self.thermal_max_age_seconds = thermal_max_age_seconds
        self.judgements = judgements
        self.has_consent = has_consent
        self.now = now
        self.capture_every_seconds = capture_every_seconds
        self.persist_every_seconds = persist_every_seconds
        self._guests: dict[str, MonitoredGuest] = {}
        self._last_assess: dict[str, float] = {}
        self._last_capture: dict[str, float] = {}
        self._last_persist: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def _require_consent(self, guest_id: str) -> None:
        if not self.has_consent(guest_id):
            raise ConsentRequired("sobriety monitoring needs sobriety_monitoring consent", guest_id=guest_id)

    def monitor(self, guest_id: str) -> MonitoredGuest:
        self._require_consent(guest_id)
        with self._lock:
            mon = self._guests.get(guest_id)
            if mon is None:
                mon = self._guests[guest_id] = self.monitors.open(guest_id)
            return mon

    def end_visit(self, guest_id: str) -> None:
        """Persist the guest's normal state for the next visit and drop the in-memory monitor."""
        mon = self._guests.pop(guest_id, None)
        if mon is None:
            return
        mon.close()
        if self.has_consent(guest_id):
            mon.save_normal()

    def process_frame(self, guest_id: str, frame: object, t: float) -> Assessed | None:
        """Analyse one frame of the guest's camera; returns an assessment about once per second."""
        mon = self.monitor(guest_id)
        want_capture = t - self._last_capture.get(guest_id, -math.inf) >= self.capture_every_seconds
        if mon.observe(frame, t, capture=want_capture):
            self._last_capture[guest_id] = t
        if t - self._last_assess.get(guest_id, -math.inf) < 1.0:
            return None
        self._last_assess[guest_id] = t
        res = mon.assess(t)
        self._persist(guest_id, res)
        return res

    def _persist(self, guest_id: str, res: Assessed) -> None:
        # Store on every state change and recovery, otherwise at most once per persist_every_seconds.
        state = res.judgement.state.value
        last = self._last_persist.get(guest_id)
        if last is None or last[1] != state or res.t - last[0] >= self.persist_every_seconds or res.judgement.recovered:
            self.judgements.add_judgement(guest_id, self.now(), res.judgement)
            self._last_persist[guest_id] = (res.t, state)

    # --- optional thermal channel (rooms with a thermal camera) --------------------------------

    def record_thermal(self, guest_id: str, report: ThermalFaceState, room_id: str | None = None) -> None:
        """Keep the guest's latest thermal face-state report (same consent as the RGB camera)."""
        self._require_consent(guest_id)
        if self.thermal is None:
            raise ConsentRequired("no thermal store configured", guest_id=guest_id)
        self.thermal.record(guest_id, self.now(), report, room_id)

    def thermal_report(self, guest_id: str) -> tuple[datetime, ThermalFaceState] | None:
        """The latest thermal report, however old (the staff page shows its time)."""
        return None if self.thermal is None else self.thermal.latest(guest_id)

    def _fresh_thermal(self, guest_id: str) -> ThermalFaceState | None:
        found = self.thermal_report(guest_id)
        if found is None or (self.now() - found[0]).total_seconds() > self.thermal_max_age_seconds:
            return None
        return found[1]

    # --- payments port (soberpay.domain.risk.SobrietySignal) -------------------------------------

    def latest(self, guest_id: str) -> SobrietyObservation | None:
        """The payments' ``SobrietyObservation`` for this guest, or None without a reading.

        With a fresh thermal report (rooms with a thermal camera) P(drunk) is the RGB probability
        shifted by the thermal evidence (``soberpay.domain.thermal.combine``); without one it is the
        RGB probability alone. The tracker's verdict is the RGB camera's either way."""
        mon = self._guests.get(guest_id)
        if mon is not None and mon.last is not None:
            obs = risk_observation(mon.last.judgement)
        else:
            stored = self.judgements.latest_judgement(guest_id)
            if stored is None:
                return None
            obs = risk_observation(stored)
        thermal = self._fresh_thermal(guest_id)
        if thermal is None:
            return obs
        p = combine(obs.p_drunk, thermal, self.thermal_weight)
        reason = f"{obs.reason}; thermal {thermal.state} (P {thermal.p_abnormal:.2f}, weight {self.thermal_weight:g})"
        return replace(obs, p_drunk=p, reason=reason[:REASON_CHARS])


__all__ = [
    "Assessed",
    "GuestMonitors",
    "JudgementLog",
    "MonitoredGuest",
    "SobrietyReading",
    "SobrietyService",
    "ThermalLog",
    "risk_observation",
]
