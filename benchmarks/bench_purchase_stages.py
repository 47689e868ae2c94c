"""Where the time of one purchase decision goes: per-stage timings over HTTP with a real face clip.

Run:  .venv/bin/python benchmarks/bench_purchase_stages.py [--decisions 5] [--all-frames]
  or: .venv/bin/python -m pytest -m slow benchmarks/bench_purchase_stages.py -s

A decision is what the room tablet sends: ``POST identify/clip`` (a burst of JPEG frames: passive
liveness, then 1:N fused over the best frames) and ``POST purchases`` with a fresh burst (liveness,
then 1:1 on the middle frame, risk rules, ledger). The clip is the close-up of the shared sample
``singer_stage_whitehouse.mp4`` (frames 160–205 at ~12 fps, as ``capture.js`` grabs them); the guest is
enrolled from three of its frames; real YuNet + SFace + MediaPipe, SQLite, the HTTP app in process
(TestClient). The stages come from the app's ``soberpay_decision_stage_seconds`` histogram; "other"
is the request wall time minus the stages (HTTP parsing, rate limits, auth, risk rules, serialisation).
``--all-frames`` sends every frame to the detector (the selection before the cheap pre-ranking).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

SINGER = Path("/work/shared/data/samples/singer_stage_whitehouse.mp4")
CLOSE_UP = slice(160, 206, 2)


def clip_jpegs() -> list[bytes]:
    import cv2

    from soberpay.adapters.vision.video import OpenCVFrameSource

    frames = [f for _, f in OpenCVFrameSource(SINGER).frames()]
    return [cv2.imencode(".jpg", f)[1].tobytes() for f in frames[CLOSE_UP]]


def run(decisions: int, all_frames: bool) -> dict[str, float]:
    from fastapi.testclient import TestClient
    from tests.e2e.web_support import GUEST_PASSWORD, login, make_app, national_id, topup

    from soberpay.adapters.clock import SystemClock
    from soberpay.adapters.vision import pipeline
    from soberpay.bootstrap import Container
    from soberpay.config import Settings
    from soberpay.domain.identity import ConsentPurpose

    if all_frames:
        pipeline.DETECT_PER_SELECTED = 1000
    jpegs = clip_jpegs()
    data = Path(tempfile.mkdtemp(prefix="soberpay-stages-"))
    settings = Settings(data_dir=data, env="test", web={"run_rooms": False, "identify_rate_per_min": 10_000})
    container = Container(settings, clock=SystemClock()).open()
    app = make_app(container)
    token = app.state.web.auth.issue_device_token("r1")[1]
    ident = container.identity
    guest = ident.register(name="Lin Singer", phone="13800000777", national_id=national_id(77), password=GUEST_PASSWORD)
    ident.grant_consent(guest.id, ConsentPurpose.FACE_PAYMENT)
    ident.enroll_images(guest.id, [jpegs[0], jpegs[8], jpegs[15]])
    room = {"Authorization": "Bearer " + token}
    burst = [("frames", (f"{i}.jpg", j, "image/jpeg")) for i, j in enumerate(jpegs)]
    walls: list[float] = []
    with TestClient(app) as client:
        topup(client, login(client), guest.id, 10_000_000)

        def decide(n: int) -> float:
            t0 = time.perf_counter()
            who = client.post("/api/rooms/r1/identify/clip", files=burst, headers=room)
            assert who.status_code == 200, who.text
            paid = client.post(
                "/api/rooms/r1/purchases",
                data={"item_id": "cola", "idempotency_key": f"stages-{n:06d}"},
                files=burst,
                headers={**room, "X-Guest-Token": who.json()["guest_token"]},
            )
            assert paid.status_code == 200 and paid.json()["outcome"] == "charged", paid.text
            return time.perf_counter() - t0

        decide(0)  # models load on first use
        hist = app.state.web.metrics.decision_stages
        before = _sums(hist)
        for n in range(1, decisions + 1):
            walls.append(decide(n))
        after = _sums(hist)
    container.close()
    shutil.rmtree(data, ignore_errors=True)  # keys, templates and the database of the run
    per = {k: (after[k] - before.get(k, 0.0)) * 1000 / decisions for k in after}
    per["total"] = sum(walls) * 1000 / decisions
    per["other"] = per["total"] - sum(v for k, v in per.items() if k != "total")
    per["frames"] = len(jpegs)
    return per


def _sums(hist: Any) -> dict[str, float]:
    return {s.labels["stage"]: s.value for m in hist.collect() for s in m.samples if s.name.endswith("_sum")}


def main(decisions: int, all_frames: bool) -> dict[str, float]:
    per = run(decisions, all_frames)
    order = ["decode", "preselect", "detect", "quality", "liveness", "embed", "search", "database", "other", "total"]
    print(f"clip of {per['frames']:.0f} frames, two requests per decision; ms per decision (mean of {decisions})")
    print("| " + " | ".join(order) + " |")
    print("|" + "---:|" * len(order))
    print("| " + " | ".join(f"{per.get(k, 0.0):.1f}" for k in order) + " |")
    return per


@pytest.mark.slow
def test_purchase_stages() -> None:
    per = main(3, all_frames=False)
    assert per["total"] > 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--decisions", type=int, default=5)
    parser.add_argument("--all-frames", action="store_true")
    a = parser.parse_args()
    main(a.decisions, a.all_frames)
