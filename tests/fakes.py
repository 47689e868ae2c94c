"""Hand-written fakes for the vision ports, so identity logic is tested without models.

A fake "image" is the bytes ``b"person=<name>;shot=<n>"``: the fake decoder turns it into a tiny
array, the fake analyser embeds it as a fixed direction per person plus a little per-shot noise.
Special payloads: ``b"noface"``, ``b"twofaces"``, anything else non-matching is a corrupt image.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np

from soberpay.errors import BadImage, MultipleFaces, NoFace
from soberpay.ports import DetectedFace, FaceAnalysis, FaceQuality, PresenceResult

DIM = 128


def fake_image(person: str, shot: int = 0) -> bytes:
    return f"person={person};shot={shot}".encode()


class FakeImage:
    def __init__(self, payload: str) -> None:
        self.payload = payload


def fake_decode_image(data: bytes) -> FakeImage:
    try:
        text = bytes(data).decode()
    except UnicodeDecodeError as exc:
        raise BadImage("not an image") from exc
    if text in ("noface", "twofaces") or text.startswith("person="):
        return FakeImage(text)
    raise BadImage("not an image")


def fake_decode_video(video: bytes | str) -> list[FakeImage]:
    text = video.decode() if isinstance(video, bytes) else video
    return [FakeImage(part) for part in text.split("|")]


def _direction(seed_text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(seed_text.encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


class FakeAnalyser:
    def __init__(self, noise: float = 0.15) -> None:
        self.noise = noise
        self.calls = 0
        self.last_rejections: dict[str, int] = {}

    def analyse(self, image: FakeImage) -> FaceAnalysis:  # type: ignore[override]
        self.calls += 1
        if image.payload == "noface":
            raise NoFace("no face found in the image")
        if image.payload == "twofaces":
            raise MultipleFaces("2 faces found; exactly one is needed", n_faces=2)
        fields = dict(kv.split("=") for kv in image.payload.split(";"))
        emb = _direction(fields["person"]) + self.noise * _direction(image.payload)
        emb = (emb / np.linalg.norm(emb)).astype(np.float32)
        quality = FaceQuality(0.95, 120.0, 150.0, 120.0, 50.0, 0.0, 0.0, 1, True, ())
        return FaceAnalysis(DetectedFace((0, 0, 150, 150), ((0.0, 0.0),) * 5, 0.95), emb, quality)

    def best_from_frames(self, frames: Iterable[FakeImage], top_k: int = 5) -> list[FaceAnalysis]:  # type: ignore[override]
        good: list[FaceAnalysis] = []
        self.last_rejections = {}
        for frame in frames:
            try:
                good.append(self.analyse(frame))
            except (NoFace, MultipleFaces) as exc:
                self.last_rejections[exc.code] = self.last_rejections.get(exc.code, 0) + 1
        return good[:top_k]


class FakePresence:
    """The liveness port for tests: live when the capture has two or more different frames and none is
    marked ``spoof`` (e.g. ``b"person=alice;shot=1;spoof=print"``)."""

    def __init__(self) -> None:
        self.calls = 0

    def check(self, frames: Sequence[FakeImage], challenge_id: str | None) -> PresenceResult:  # type: ignore[override]
        self.calls += 1
        payloads = [f.payload for f in frames]
        if len(set(payloads)) < 2:
            return PresenceResult(False, ("a still image, not a live capture",))
        if any("spoof=" in p for p in payloads):
            return PresenceResult(False, ("presentation attack",))
        return PresenceResult(True, ())
