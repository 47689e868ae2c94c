"""The pure sobriety service on fakes: consent, one assessment per second, capture cadence, judgements
stored on change, the guest's normal saved at the end of a visit, and the one conversion into the
payments' risk input (``risk_observation``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from soberpay.domain.sobriety import SobrietyJudgement, SobrietyState
from soberpay.errors import ConsentRequired
from soberpay.services.sobriety import SobrietyService, risk_observation

NOW = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)


def judgement(t: float, state: SobrietyState, p: float | None = 0.2) -> SobrietyJudgement:
    return SobrietyJudgement(t, state, p, p, state is SobrietyState.DRUNK, 0.9, reason="fake")


@dataclass
class FakeAssessment:
    t: float
    judgement: SobrietyJudgement


@dataclass
class FakeGuest:
    guest_id: str
    states: list[SobrietyState]
    frames: int = 0
    captured: list[float] = field(default_factory=list)
    saved: int = 0
    closed: bool = False
    last: FakeAssessment | None = None

    def observe(self, frame: object, t: float, capture: bool) -> bool:
        self.frames += 1
        if capture:
            self.captured.append(t)
        return capture

    def assess(self, t: float) -> FakeAssessment:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        self.last = FakeAssessment(t, judgement(t, state, 0.9 if state is SobrietyState.DRUNK else 0.1))
        return self.last

    def save_normal(self) -> None:
        self.saved += 1

    def close(self) -> None:
        self.closed = True


class FakeMonitors:
    def __init__(self, states: list[SobrietyState]) -> None:
        self.states = states
        self.opened: dict[str, FakeGuest] = {}

    def open(self, guest_id: str) -> FakeGuest:
        self.opened[guest_id] = FakeGuest(guest_id, list(self.states))
        return self.opened[guest_id]


@dataclass(frozen=True)
class Stored:
    p_drunk: float | None
    posture_abnormal: bool
    similarity_to_normal: float | None
    state: str
    reason: str


class FakeLog:
    def __init__(self) -> None:
        self.rows: list[tuple[str, SobrietyJudgement]] = []
        self.stored: dict[str, Stored] = {}

    def add_judgement(self, guest_id: str, at: datetime, j: SobrietyJudgement) -> None:
        self.rows.append((guest_id, j))

    def latest_judgement(self, guest_id: str) -> Stored | None:
        return self.stored.get(guest_id)


def service(states: list[SobrietyState]) -> tuple[SobrietyService, FakeMonitors, FakeLog]:
    monitors, log = FakeMonitors(states), FakeLog()
    svc = SobrietyService(monitors, log, lambda g: g != "nope", lambda: NOW, capture_every_seconds=10.0)
    return svc, monitors, log


def test_consent_is_required() -> None:
    svc, _, _ = service([SobrietyState.SOBER])
    with pytest.raises(ConsentRequired):
        svc.process_frame("nope", object(), 0.0)


def test_one_assessment_per_second_capture_every_ten_seconds_store_on_change() -> None:
    states = [SobrietyState.ABSTAIN] * 5 + [SobrietyState.SOBER] * 10 + [SobrietyState.DRUNK]
    svc, monitors, log = service(states)
    out = [svc.process_frame("g1", object(), i / 10.0) for i in range(200)]  # 20 s at 10 fps
    guest = monitors.opened["g1"]
    assert guest.frames == 200 and sum(a is not None for a in out) == 20
    assert guest.captured == [0.0, 10.0]
    assert [j.state for _, j in log.rows] == [SobrietyState.ABSTAIN, SobrietyState.SOBER, SobrietyState.DRUNK]
    latest = svc.latest("g1")
    assert latest is not None and latest.judged_drunk is True and latest.p_drunk == 0.9
    svc.end_visit("g1")
    assert guest.closed and guest.saved == 1
    assert svc.latest("g1") is None  # nothing stored in the fake log, monitor gone


def test_latest_falls_back_to_the_stored_judgement() -> None:
    svc, _, log = service([SobrietyState.SOBER])
    log.stored["g2"] = Stored(0.4, True, 0.7, "abstain", "stored reason")
    obs = svc.latest("g2")
    assert obs is not None and obs.judged_drunk is None and obs.posture_abnormal and obs.reason == "stored reason"


@pytest.mark.parametrize(
    ("state", "verdict"),
    [(SobrietyState.DRUNK, True), (SobrietyState.SOBER, False), (SobrietyState.ABSTAIN, None), ("drunk", True)],
)
def test_risk_observation_maps_the_verdict(state: SobrietyState | str, verdict: bool | None) -> None:
    reading = Stored(1.2, False, -0.1, state, "r" * 500) if isinstance(state, str) else judgement(0, state)
    obs = risk_observation(reading)
    assert obs.judged_drunk is verdict
    assert obs.abstained is (verdict is None)  # abstained is not "no tracker"
    assert obs.p_drunk is not None and 0.0 <= obs.p_drunk <= 1.0  # clamped into the risk input's range
    assert len(obs.reason) <= 300
