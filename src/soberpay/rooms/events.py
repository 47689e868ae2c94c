"""What room workers tell the rest of the venue service, and how the web learns about it.

A room frame flows one way: camera → face detection → identification → sobriety → one
``GuestJudgement`` per consenting guest, whose ``observation`` is the payments' risk input (converted
once, by ``soberpay.services.sobriety.risk_observation``). The room host hands each processed frame
to a ``RoomEvents`` subscriber and, every few seconds, a heartbeat of every room's ``RoomStatus``.

Exactly one subscriber applies judgements to payments, chosen where the rooms run:

* **inside** ``soberpay serve`` / ``soberpay demo`` (one venue, one process, ``web.run_rooms``): the
  web app subscribes in process; it applies the judgement through its payments port (which also keeps
  the staff dashboard's sobriety plot) and reads live stats straight from the host's workers;
* **in their own process** (``soberpay rooms``, or the one child process ``serve --workers N``
  starts): ``PaymentsRoomEvents`` applies the judgement to the payment service, which stores the risk
  state in the shared database, and writes each room's status as a heartbeat row
  (``room_status``). Any number of HTTP workers read those rows; a row older than
  ``STALE_AFTER_S`` shows the room as not running.

A database row rather than a socket or a message broker: the web already reads everything else
(risk state, alerts, pending requests) from that database, it works across processes and hosts on
SQLite and PostgreSQL alike, and a crashed rooms process is visible as a stale heartbeat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from soberpay.domain.risk import SobrietyObservation

HEARTBEAT_S = 2.0  # how often a rooms process persists its rooms' status
STALE_AFTER_S = 15.0  # a heartbeat older than this means the rooms process is gone
PRESENT_S = 30.0  # a guest counts as present this long after their face was last identified


class CameraState(StrEnum):
    STOPPED = "stopped"  # the worker is not running
    CONNECTING = "connecting"  # first open, no frame yet
    CONNECTED = "connected"  # frames arrive
    RECONNECTING = "reconnecting"  # lost; waiting out the back-off or reopening
    STALLED = "stalled"  # no frame for ``stall_after_s`` (whatever the capture thread is doing)
    ENDED = "ended"  # a file played to its end and the worker neither loops nor reconnects


@dataclass(frozen=True)
class GuestJudgement:
    """The sobriety monitor's view of one identified guest now, as the payments' risk input."""

    guest_id: str
    observation: SobrietyObservation


@dataclass(frozen=True)
class RoomObservation:
    """What one processed frame showed."""

    faces: int = 0
    guests: tuple[tuple[str, float], ...] = ()  # (guest_id, similarity) of identified guests
    judgements: tuple[GuestJudgement, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)  # stage → seconds


@dataclass(frozen=True)
class RoomStatus:
    """A snapshot of one room worker (what the staff dashboard and ``/metrics`` show)."""

    room_id: str
    running: bool = False
    fps: float = 0.0
    lag_s: float = 0.0
    captured: int = 0
    processed: int = 0
    dropped: int = 0
    faces: int = 0
    present: tuple[str, ...] = ()
    last_error: str = ""
    loops: int = 0
    state: str = CameraState.STOPPED.value
    frame_age_s: float | None = None  # seconds since the last frame; None: none yet
    reconnects: int = 0
    queued: int = 0  # frames waiting for the processor
    stage_s: dict[str, float] = field(default_factory=dict)  # stage → seconds per frame (moving average)

    def as_dict(self) -> dict[str, Any]:
        return {
            "room_id": self.room_id,
            "running": self.running,
            "fps": round(self.fps, 2),
            "lag_s": round(self.lag_s, 3),
            "captured": self.captured,
            "processed": self.processed,
            "dropped": self.dropped,
            "faces": self.faces,
            "present": list(self.present),
            "last_error": self.last_error,
            "loops": self.loops,
            "state": self.state,
            "frame_age_s": None if self.frame_age_s is None else round(self.frame_age_s, 2),
            "reconnects": self.reconnects,
            "queued": self.queued,
            "stage_s": {stage: round(sec, 4) for stage, sec in self.stage_s.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RoomStatus:
        return cls(
            room_id=str(d["room_id"]),
            running=bool(d.get("running", False)),
            fps=float(d.get("fps", 0.0)),
            lag_s=float(d.get("lag_s", 0.0)),
            captured=int(d.get("captured", 0)),
            processed=int(d.get("processed", 0)),
            dropped=int(d.get("dropped", 0)),
            faces=int(d.get("faces", 0)),
            present=tuple(str(g) for g in d.get("present", ())),
            last_error=str(d.get("last_error", "")),
            loops=int(d.get("loops", 0)),
            state=str(d.get("state", "connected" if d.get("running") else "stopped")),
            frame_age_s=None if d.get("frame_age_s") is None else float(d["frame_age_s"]),
            reconnects=int(d.get("reconnects", 0)),
            queued=int(d.get("queued", 0)),
            stage_s={str(k): float(v) for k, v in dict(d.get("stage_s") or {}).items()},
        )


class RoomEvents(Protocol):
    """The room host's subscriber (one per host)."""

    def observed(self, room_id: str, observation: RoomObservation) -> None: ...

    def heartbeat(self, statuses: Sequence[RoomStatus], at: datetime) -> None: ...


class RoomStatusSource(Protocol):
    """Where the web reads room status: the in-process host, or the heartbeat rows."""

    def statuses(self) -> dict[str, RoomStatus]: ...

    def stats(self, room_id: str) -> dict[str, Any] | None: ...


class CameraAlerts(Protocol):
    """Staff alerts about room cameras: one when a camera stalls, cleared when it recovers."""

    def stalled(self, room_id: str, message: str, at: datetime) -> None: ...

    def recovered(self, room_id: str, at: datetime) -> None: ...


class RiskSink(Protocol):
    """The payments side of a judgement (``PaymentService.refresh_risk``)."""

    def refresh_risk(self, guest_id: str, observation: SobrietyObservation | None = None) -> object: ...


class StatusStore(Protocol):
    def save(self, statuses: Sequence[RoomStatus], at: datetime) -> None: ...


class PaymentsRoomEvents:
    """The subscriber of a rooms process: judgements step the payments' risk state, status is persisted."""

    def __init__(self, payments: RiskSink, status: StatusStore) -> None:
        self._payments = payments
        self._status = status

    def observed(self, room_id: str, observation: RoomObservation) -> None:
        for j in observation.judgements:
            self._payments.refresh_risk(j.guest_id, j.observation)

    def heartbeat(self, statuses: Sequence[RoomStatus], at: datetime) -> None:
        self._status.save(statuses, at)


__all__ = [
    "HEARTBEAT_S",
    "CameraState",
    "PRESENT_S",
    "STALE_AFTER_S",
    "CameraAlerts",
    "GuestJudgement",
    "PaymentsRoomEvents",
    "RiskSink",
    "RoomEvents",
    "RoomObservation",
    "RoomStatus",
    "RoomStatusSource",
    "StatusStore",
]
