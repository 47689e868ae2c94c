"""The optional thermal channel: the report, the combination with the RGB P(drunk) (present / absent),
the sobriety service's use of it, and the room processor's attribution rule. Fakes, no models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from soberpay.domain.sobriety import SobrietyState
from soberpay.domain.thermal import ThermalFaceState, ViewScore, assess, combine
from soberpay.errors import ConsentRequired, InvalidInput
from soberpay.rooms.thermal import ThermalRoomProcessor
from soberpay.services.sobriety import SobrietyService
from tests.unit.test_sobriety_service import NOW, FakeLog, FakeMonitors

ABNORMAL = assess((ViewScore("f", 2.0), ViewScore("e", 1.0)), 0.35, 0.65)
NORMAL = assess((ViewScore("f", -2.0),), 0.35, 0.65)


def test_report_has_type_and_degree() -> None:
    assert ABNORMAL.state == "abnormal" and ABNORMAL.degree in ("moderate", "severe")
    assert ABNORMAL.anomaly_type == "thermal pattern seen after drinking: whole face (front), eye region"
    assert abs(ABNORMAL.log_lr - 1.5) < 1e-9  # mean over the views of one visit
    assert NORMAL.state == "normal" and NORMAL.degree == "none" and NORMAL.anomaly_type == "none"
    assert ThermalFaceState.from_dict(ABNORMAL.to_dict()) == ABNORMAL
    with pytest.raises(InvalidInput):
        assess((), 0.35, 0.65)


def test_combination_present_and_absent() -> None:
    assert combine(0.4, None, 0.5) == 0.4  # no thermal camera: the RGB probability as it is
    assert combine(None, ABNORMAL, 0.5) is None  # thermal alone never makes a probability
    up, down = combine(0.4, ABNORMAL, 0.5), combine(0.4, NORMAL, 0.5)
    assert up is not None and down is not None and down < 0.4 < up
    assert combine(0.4, ABNORMAL, 0.0) == pytest.approx(0.4)  # weight 0 switches the channel off


class FakeThermalLog:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[datetime, ThermalFaceState, str | None]] = {}

    def record(self, guest_id: str, at: datetime, report: ThermalFaceState, room_id: str | None) -> None:
        self.rows[guest_id] = (at, report, room_id)

    def latest(self, guest_id: str) -> tuple[datetime, ThermalFaceState] | None:
        row = self.rows.get(guest_id)
        return None if row is None else (row[0], row[1])


def _service(now: list[datetime]) -> tuple[SobrietyService, FakeThermalLog]:
    log = FakeThermalLog()
    svc = SobrietyService(
        FakeMonitors([SobrietyState.SOBER]), FakeLog(), lambda g: g != "nope", lambda: now[0], thermal=log
    )
    return svc, log


def test_service_uses_a_fresh_thermal_report_and_does_without_otherwise() -> None:
    now = [NOW]
    svc, _ = _service(now)
    svc.process_frame("g", object(), 0.0)
    rgb_only = svc.latest("g")
    assert rgb_only is not None and rgb_only.p_drunk == pytest.approx(0.1)  # absent: unchanged
    svc.record_thermal("g", ABNORMAL, "r101")
    both = svc.latest("g")
    assert both is not None and both.p_drunk is not None and both.p_drunk > 0.1 and "thermal abnormal" in both.reason
    assert both.judged_drunk == rgb_only.judged_drunk  # the verdict stays the RGB tracker's
    now[0] = NOW + timedelta(seconds=121)  # stale: not combined any more, still shown to staff
    stale = svc.latest("g")
    assert stale is not None and stale.p_drunk == pytest.approx(0.1)
    assert svc.thermal_report("g") is not None
    with pytest.raises(ConsentRequired):
        svc.record_thermal("nope", ABNORMAL)


class FakeAnalyser:
    def __init__(self) -> None:
        self.calls = 0

    def analyse(self, images: dict[str, np.ndarray | bytes]) -> ThermalFaceState:  # type: ignore[type-arg]
        self.calls += 1
        assert list(images) == ["f"]
        return ABNORMAL


def test_room_processor_attributes_only_a_single_present_guest() -> None:
    now = [NOW]
    svc, log = _service(now)
    present: dict[str, tuple[str, ...]] = {"r101": ("g",), "r102": ("g", "h"), "r103": ()}
    analyser = FakeAnalyser()
    proc = ThermalRoomProcessor(analyser, svc, lambda room: present[room], view="f", every_s=5.0)
    frame = np.zeros((128, 160, 3), np.uint8)
    proc.process("r102", 0.0, frame)  # two guests: a thermal face cannot be told apart
    proc.process("r103", 0.0, frame)  # nobody identified
    assert analyser.calls == 0 and not log.rows
    proc.process("r101", 0.0, frame)
    proc.process("r101", 1.0, frame)  # within every_s: skipped
    assert analyser.calls == 1 and log.rows["g"][2] == "r101"
    present["r101"] = ("nope",)  # no monitoring consent: the report is dropped, the worker goes on
    proc.process("r101", 10.0, frame)
    assert "nope" not in log.rows


def test_timezone_of_reports_is_utc() -> None:
    now = [datetime(2026, 11, 30, 21, 0, tzinfo=UTC)]
    svc, log = _service(now)
    svc.record_thermal("g", NORMAL)
    assert log.rows["g"][0].tzinfo is UTC
