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
from datetime import datetime
from typing import Protocol

from soberpay.domain.risk import SobrietyObservation
from soberpay.domain.sobriety import SobrietyJudgement, SobrietyState
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
    ) -> None:
        self.monitors = monitors
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

    # --- payments port (soberpay.domain.risk.SobrietySignal) -------------------------------------

    def latest(self, guest_id: str) -> SobrietyObservation | None:
        """The payments' ``SobrietyObservation`` for this guest, or None without a reading."""
        mon = self._guests.get(guest_id)
        if mon is not None and mon.last is not None:
            return risk_observation(mon.last.judgement)
        stored = self.judgements.latest_judgement(guest_id)
        return None if stored is None else risk_observation(stored)


__all__ = [
    "Assessed",
    "GuestMonitors",
    "JudgementLog",
    "MonitoredGuest",
    "SobrietyReading",
    "SobrietyService",
    "risk_observation",
]
