"""Per-frame latency of detect + align + embed: soberpay's pipeline vs the ``face_recognition`` library.

Run:  .venv/bin/python benchmarks/bench_face_pipeline.py [--repeats 5]
  or: .venv/bin/python -m pytest -m slow benchmarks/bench_face_pipeline.py -s

Same images (the bundled sample faces, longest side 640 px), same process, same run; each
configuration is timed ``repeats`` times per image after one warm-up pass and the median per-frame
time is reported with its ratio to ``face_recognition``'s default (HOG detector upsampled once +
5-point alignment + dlib ResNet). Machines are noisy: compare the ratios, not the milliseconds.
Nothing is asserted about speed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from soberpay.adapters.images import decode_image
from soberpay.assets import read_asset

IMAGES = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "grace_hopper.jpg", "astronaut.jpg"]


def _time_per_frame(fn: Callable[[np.ndarray], int], images: list[np.ndarray], repeats: int) -> tuple[float, int]:
    found = sum(fn(img) for img in images)  # warm-up (loads models), counts faces found
    samples = []
    for _ in range(repeats):
        for img in images:
            t0 = time.perf_counter()
            fn(img)
            samples.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(samples), found


def run(repeats: int = 5) -> list[dict[str, Any]]:
    import cv2

    from soberpay.adapters.vision.dlib_embedder import DlibEmbedder
    from soberpay.adapters.vision.sface import SFaceEmbedder
    from soberpay.adapters.vision.yunet import YuNetDetector

    bgr = [decode_image(read_asset("faces", name)) for name in IMAGES]
    rgb = [np.ascontiguousarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)) for img in bgr]
    detector, sface, dlib_emb = YuNetDetector(), SFaceEmbedder(), DlibEmbedder()

    def ours(embedder: Any) -> Callable[[np.ndarray], int]:
        def fn(img: np.ndarray) -> int:
            faces = detector.detect(img)
            if faces:
                embedder.embed(img, faces[0])
            return len(faces[:1])

        return fn

    import face_recognition  # loads dlib models at import (that library's design)

    def fr(upsample: int) -> Callable[[np.ndarray], int]:
        def fn(img_bgr: np.ndarray) -> int:
            img = rgb[next(i for i, b in enumerate(bgr) if b is img_bgr)]
            locs = face_recognition.face_locations(img, number_of_times_to_upsample=upsample)
            face_recognition.face_encodings(img, locs[:1])
            return len(locs[:1])

        return fn

    configs: list[tuple[str, Callable[[np.ndarray], int]]] = [
        ("face_recognition (HOG up×1 + dlib ResNet) [baseline]", fr(1)),
        ("face_recognition (HOG up×0 + dlib ResNet)", fr(0)),
        ("soberpay YuNet + SFace", ours(sface)),
        ("soberpay YuNet + dlib ResNet", ours(dlib_emb)),
    ]
    rows = []
    for name, fn in configs:
        ms, found = _time_per_frame(fn, bgr, repeats)
        rows.append({"config": name, "ms_per_frame": ms, "faces_found": found, "n_images": len(bgr)})
    base = rows[0]["ms_per_frame"]
    for r in rows:
        r["speedup_vs_baseline"] = base / r["ms_per_frame"]
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print("\n| configuration | median ms / frame | speed-up vs face_recognition | faces found |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['config']} | {r['ms_per_frame']:.1f} | {r['speedup_vs_baseline']:.2f}× | "
            f"{r['faces_found']}/{r['n_images']} |"
        )


@pytest.mark.slow
def test_bench_face_pipeline() -> None:
    rows = run(repeats=3)
    print_table(rows)
    assert all(r["faces_found"] > 0 for r in rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    print_table(run(parser.parse_args().repeats))
