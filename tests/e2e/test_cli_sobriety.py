"""`soberpay assess` on the shared sample video (pedestrians: pose, no faces) and a sample face photo."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from soberpay.cli import app

runner = CliRunner()


def _json(out: str) -> dict:  # type: ignore[type-arg]
    start = out.index("{")
    return json.loads(out[start:])  # type: ignore[no-any-return]


def test_assess_video_few_frames_with_plot(shared_data: Path, tmp_path: Path) -> None:
    plot = tmp_path / "timeline.png"
    res = runner.invoke(
        app,
        [
            "assess",
            "--video",
            str(shared_data / "samples" / "vtest.avi"),
            "--max-seconds",
            "3",
            "--baseline-seconds",
            "1",
            "--json",
            "--plot",
            str(plot),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = _json(res.output)
    assert doc["summary"]["frames"] == 30  # 3 s at 10 fps
    assert doc["summary"]["face_frames"] == 0  # small pedestrians: no usable faces, handled
    assert len(doc["timeline"]) == 3
    assert {r["state"] for r in doc["timeline"]} <= {"sober", "drunk", "abstain"}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_assess_image_face(shared_data: Path) -> None:
    res = runner.invoke(app, ["assess", "--image", str(shared_data / "samples" / "obama.jpg"), "--json"])
    assert res.exit_code == 0, res.output
    doc = _json(res.output)
    assert doc["state"] == "abstain"  # a still image cannot show blinks, sway or a baseline
    face = doc["face"]
    assert face is not None and 0.0 <= face["eye_openness"] <= 1.0 and 0.0 <= face["mouth_openness"] <= 1.0
    assert 1_000 < doc["capture_record"]["ciphertext_bytes"] < 20_000


def test_assess_rejects_bad_arguments(tmp_path: Path) -> None:
    assert runner.invoke(app, ["assess"]).exit_code == 2
    missing = runner.invoke(app, ["assess", "--video", str(tmp_path / "nope.avi")])
    assert missing.exit_code == 2 and "not found" in missing.output
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    assert runner.invoke(app, ["assess", "--image", str(junk)]).exit_code == 2
