"""Optional thermal channel of a room (a room setting: ``rooms.thermal_camera_source``).

A thermal camera cannot identify anyone (face recognition runs on the RGB camera), so a thermal
frame is attributed only when the room's RGB worker sees exactly one identified guest; with nobody
or several people present it is not used. The report (``HogFaceState``, type and degree of the
anomaly) is stored through the sobriety service (sobriety-monitoring consent required), which
combines it with the RGB P(drunk) while it is fresh. Rooms without a thermal camera run as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from soberpay.domain.thermal import ThermalFaceState
from soberpay.errors import SoberpayError
from soberpay.ports import ImageBGR
from soberpay.rooms.events import RoomObservation

log = logging.getLogger(__name__)


class ThermalAnalyser(Protocol):
    def analyse(self, images: dict[str, ImageBGR | bytes]) -> ThermalFaceState: ...


class ThermalRecorder(Protocol):
    def record_thermal(self, guest_id: str, report: ThermalFaceState, room_id: str | None = None) -> None: ...


class ThermalRoomProcessor:
    """A ``RoomProcessor`` for a room's thermal camera: one report every ``every_s`` seconds at most."""

    def __init__(
        self,
        analyser: ThermalAnalyser,
        recorder: ThermalRecorder,
        present: Callable[[str], Sequence[str]],
        view: str = "f",
        every_s: float = 5.0,
    ) -> None:
        self.analyser = analyser
        self.recorder = recorder
        self.present = present
        self.view = view
        self.every_s = every_s
        self._last: dict[str, float] = {}

    def process(self, room_id: str, t: float, frame: ImageBGR) -> RoomObservation:
        if t - self._last.get(room_id, float("-inf")) < self.every_s:
            return RoomObservation()
        guests = list(self.present(room_id))
        if len(guests) != 1:
            return RoomObservation()  # nobody, or no way to tell whose face this is
        self._last[room_id] = t
        report = self.analyser.analyse({self.view: frame})
        try:
            self.recorder.record_thermal(guests[0], report, room_id)
        except SoberpayError as exc:  # e.g. no monitoring consent: the report is dropped
            log.info("room %s thermal report not kept: %s", room_id, exc.message)
        return RoomObservation()


__all__ = ["ThermalRoomProcessor"]
