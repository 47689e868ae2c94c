"""Rooms: camera workers and the frame → identify → sobriety → risk pipeline, in the web process or in
their own (``soberpay rooms``). ``soberpay.rooms.events`` describes how the web learns about rooms.

Importing this package does not import OpenCV or load a model; workers do when they start.
"""

from soberpay.rooms.events import (
    GuestJudgement,
    PaymentsRoomEvents,
    RoomEvents,
    RoomObservation,
    RoomStatus,
    RoomStatusSource,
)
from soberpay.rooms.host import RoomHost, run_rooms, vision_processor
from soberpay.rooms.pipeline import SobrietyRoomMonitor, VisionRoomProcessor
from soberpay.rooms.worker import DEMO_CLIP, RoomStats, RoomWorker, open_source

__all__ = [
    "DEMO_CLIP",
    "GuestJudgement",
    "PaymentsRoomEvents",
    "RoomEvents",
    "RoomHost",
    "RoomObservation",
    "RoomStats",
    "RoomStatus",
    "RoomStatusSource",
    "RoomWorker",
    "SobrietyRoomMonitor",
    "VisionRoomProcessor",
    "open_source",
    "run_rooms",
    "vision_processor",
]
