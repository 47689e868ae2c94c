"""Video enrolment sources stop at identity.video_max_frames (a live camera never ends by itself)."""

from __future__ import annotations

from soberpay.assets import asset_path, read_asset
from soberpay.bootstrap import Container
from soberpay.config import Settings


def test_video_sources_stop_at_the_frame_cap(settings: Settings) -> None:
    settings.identity.video_max_frames = 7
    container = Container(settings)
    assert sum(1 for _ in container.decode_video(str(asset_path("demo_room.avi")))) == 7
    assert sum(1 for _ in container.decode_video(read_asset("demo_room.avi"))) == 7
