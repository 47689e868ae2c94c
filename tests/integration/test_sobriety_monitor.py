"""GuestMonitor end to end on SYNTHETIC per-frame signals with the shipped pose CNN and fusion SVM."""

from __future__ import annotations

import numpy as np
import pytest

from soberpay.adapters.sobriety.analyzer import FrameAnalysis
from soberpay.adapters.sobriety.fusion import FusionModel
from soberpay.adapters.sobriety.monitor import Assessment, GuestMonitor
from soberpay.adapters.sobriety.pose import PoseCnnEmbedder, PoseFrame
from soberpay.config import SobrietySettings
from soberpay.domain.sobriety import SobrietyState
from soberpay_lab.training.synthetic_pose import synthetic_pose_sequence
from soberpay_lab.training.synthetic_sobriety import (
    WINDOW_S,
    random_subject,
    simulate_face_window,
    simulate_pose_params,
)


def _run(k_after: float, seconds_after: float = 30.0, seed: int = 3) -> list[Assessment]:
    rng = np.random.default_rng(seed)
    subject = random_subject(0, rng)
    s = SobrietySettings(baseline_seconds=30.0, enter_seconds=5.0)
    fusion, emb = FusionModel(), PoseCnnEmbedder()
    if not (fusion.available and emb.available):
        pytest.skip("shipped sobriety models missing")
    mon = GuestMonitor("g1", s, fusion, emb)
    out: list[Assessment] = []
    t0 = 0.0
    total = 30.0 + seconds_after
    while t0 < total:
        k = 0.0 if t0 < 30.0 else k_after
        faces = simulate_face_window(subject, k, t0, rng, lighting=0.0)
        pp = simulate_pose_params(subject, k, rng)
        tp, xy = synthetic_pose_sequence(pp, WINDOW_S, 15.0, t0=t0)
        last = -1.0
        for f, ti, pts in zip(faces, tp, xy, strict=True):
            pose = PoseFrame(float(ti), pts, np.ones(33), (0, 0, 100, 200), track=int(t0 // WINDOW_S))
            mon.add(FrameAnalysis(float(ti), f, pose, True, 1.0))
            if ti - last >= 1.0 and ti >= 3.0:
                last = ti
                out.append(mon.assess(float(ti)))
        t0 += WINDOW_S
    return out


def test_monitor_builds_baseline_then_judges() -> None:
    sober = _run(k_after=0.0)
    # 60 s: with the generator at real signal scales this subject's P(drunk) needs ≈ 40 s to reach 0.7
    drunk = _run(k_after=1.0, seconds_after=60.0)
    base = [a for a in sober if a.in_baseline]
    assert base and all(a.judgement.state is SobrietyState.ABSTAIN for a in base)
    assert all("baseline" in a.judgement.reason for a in base)
    after_s = [a.judgement.raw_p_drunk for a in sober if not a.in_baseline and a.judgement.raw_p_drunk is not None]
    after_d = [a.judgement.raw_p_drunk for a in drunk if not a.in_baseline and a.judgement.raw_p_drunk is not None]
    assert after_s and after_d
    assert np.mean(after_d) > np.mean(after_s) + 0.2
    assert drunk[-1].judgement.state is SobrietyState.DRUNK
    assert sober[-1].judgement.state is not SobrietyState.DRUNK
    # evidence refers to the guest's own baseline
    assert any(e.baseline is not None for e in drunk[-1].judgement.evidence)
    d = drunk[-1].to_dict()
    assert d["state"] == "drunk" and d["face"] is not None and d["pose"] is not None


def test_shipped_fusion_model_contract() -> None:
    from soberpay.adapters.sobriety.features import FUSION_FEATURES
    from soberpay.domain.sobriety import SobrietyPolicy

    fusion = FusionModel()
    if not fusion.available:
        pytest.skip("shipped fusion model missing")
    nan = np.full(len(FUSION_FEATURES), np.nan)
    assert fusion.p_drunk(nan) is None  # nothing to judge
    pose_only = nan.copy()
    pose_only[FUSION_FEATURES.index("activity_sitting")] = 1.0
    pose_only[FUSION_FEATURES.index("activity_standing")] = 0.0
    pose_only[FUSION_FEATURES.index("activity_walking")] = 0.0
    p = fusion.p_drunk(pose_only)
    assert p is not None and 0.0 <= p <= 1.0
    assert fusion.out_of_range(pose_only) == []
    absurd = pose_only.copy()
    absurd[FUSION_FEATURES.index("sway_path_per_s")] = 50.0  # tiny, noisy far-away person
    assert "sway_path_per_s" in fusion.out_of_range(absurd)
    assert "SYNTHETIC" in str(fusion.meta.get("data"))
    # the reject band turns a middling probability into "ask staff"
    assert SobrietyPolicy().band(0.5).value == "abstain"


class _FakeAnalyzer:
    """Stands in for FrameAnalyzer: SYNTHETIC face + pose measurements, a tiny in-memory image."""

    def __init__(self) -> None:
        rng = np.random.default_rng(7)
        self.subject = random_subject(0, rng)
        self.faces = simulate_face_window(self.subject, 0.0, 0.0, rng, 0.0)
        self.faces += simulate_face_window(self.subject, 0.0, WINDOW_S, rng, 0.0)
        pp = simulate_pose_params(self.subject, 0.0, rng)
        self.tp, self.xy = synthetic_pose_sequence(pp, 2 * WINDOW_S, 15.0)
        self.i = 0

    def analyse(self, frame: np.ndarray, t: float, keep_image: bool = False) -> FrameAnalysis:
        i = min(self.i, len(self.faces) - 1)
        self.i += 1
        face = self.faces[i]
        face.landmarks = np.zeros((478, 3), np.float32)
        face.box = (8, 8, 40, 40)
        pose = PoseFrame(t, self.xy[i], np.ones(33), (4, 4, 50, 56), track=1)
        return FrameAnalysis(t, face, pose, True, 1.0, frame if keep_image else None)

    def close(self) -> None:
        pass


def test_service_processes_frames_captures_and_persists() -> None:
    from datetime import UTC, datetime

    from soberpay.adapters.crypto import AesGcmKeyRing
    from soberpay.adapters.sobriety.guests import VisionGuestMonitors
    from soberpay.adapters.sobriety.store import InMemorySobrietyStore
    from soberpay.services.sobriety import SobrietyService

    store = InMemorySobrietyStore()
    now = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    monitors = VisionGuestMonitors(
        SobrietySettings(baseline_seconds=5.0),
        store,
        AesGcmKeyRing({"k": bytes(32)}, "k"),
        lambda guest_id: guest_id == "g1",
        lambda: now,
        analyzer_factory=_FakeAnalyzer,
    )
    svc = SobrietyService(monitors, store, lambda guest_id: guest_id == "g1", lambda: now, capture_every_seconds=10.0)
    frame = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    out = [svc.process_frame("g1", frame, i / 15.0) for i in range(int(15 * 12))]
    got = [a for a in out if a is not None]
    assert 10 <= len(got) <= 13  # about one assessment per second
    assert len(store.records("g1")) == 2  # t = 0 and t = 10 s
    assert store.load_baseline("g1") is not None  # saved when the 5-s baseline ended
    assert store.latest_judgement("g1") is not None
    obs = svc.latest("g1")
    assert obs is not None and obs.reason
    svc.end_visit("g1")
    # the next visit starts from the stored baseline (no new baseline period)
    assert not svc.monitor("g1").in_baseline(0.0)
