"""``soberpay rooms``: run the room camera workers in their own process (next to ``soberpay serve``)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType

import typer

from soberpay.cli._apps import app
from soberpay.cli._common import console, err_console, handle_errors


@app.command()
@handle_errors
def rooms(
    config: Path = typer.Option(None, exists=True, dir_okay=False, help="TOML settings file"),
) -> None:
    """Run the camera worker of every room with a camera until Ctrl-C or SIGTERM.

    Judgements step the guests' payment risk in the shared database; each room's fps, lag and
    present guests are written every few seconds for the staff dashboard of any `soberpay serve`.
    """
    if config is not None:
        os.environ["SOBERPAY_CONFIG"] = str(config.resolve())
    from soberpay.bootstrap import build_container
    from soberpay.rooms.host import run_rooms
    from soberpay.rooms.status import camera_rooms

    container = build_container()
    try:
        cameras = camera_rooms(container.session_factory)
        if not cameras:
            err_console.print("no room has a camera (soberpay staff room-add --camera …): nothing to run")
            return
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        console.print("rooms running: " + ", ".join(f"{r} ({src})" for r, src in cameras) + " — Ctrl-C to stop")
        host = run_rooms(container, stop)
        for status in host.statuses().values():
            console.print(f"  {status.room_id}: {status.processed} frames analysed, {status.dropped} dropped")
    finally:
        container.close()
