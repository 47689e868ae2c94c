"""Capture records (consent, encryption, no pixels), sobriety tables, pattern DB, monitor service."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from soberpay.adapters.crypto import AesGcmKeyRing
from soberpay.adapters.db.base import make_engine, make_session_factory
from soberpay.adapters.db.identity_tables import GuestRow
from soberpay.adapters.sobriety.capture import FeatureRecordCapturer
from soberpay.adapters.sobriety.face_signals import FaceMeshSignals
from soberpay.adapters.sobriety.store import InMemorySobrietyStore, PersistentPatternBook, SqlSobrietyStore
from soberpay.config import SobrietySettings
from soberpay.domain.sobriety import Observation, SobrietyPolicy, SobrietyTracker
from soberpay.errors import ConfigError, ConsentRequired

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


def _ring() -> AesGcmKeyRing:
    return AesGcmKeyRing({"k1": os.urandom(32)}, "k1")


@pytest.fixture
def sql_store(db_url: str) -> Iterator[SqlSobrietyStore]:
    engine = make_engine(db_url)
    sf = make_session_factory(engine)
    with sf.begin() as s:
        for guest_id in ("g1", "g2"):
            s.add(GuestRow(id=guest_id, name=guest_id, created_at=NOW))
    yield SqlSobrietyStore(sf)
    engine.dispose()  # an undisposed pool leaks its connections (a ResourceWarning, an error in the suite)


@pytest.fixture
def obama(shared_data: Path) -> np.ndarray:
    img = cv2.imread(str(shared_data / "samples" / "obama.jpg"))
    assert img is not None
    return np.asarray(cv2.resize(img, None, fx=0.5, fy=0.5), np.uint8)


def test_capture_needs_consent(obama: np.ndarray) -> None:
    store = InMemorySobrietyStore()
    cap = FeatureRecordCapturer(_ring(), store, lambda _cid: False, lambda: NOW)
    with pytest.raises(ConsentRequired):
        cap.capture("g1", obama, person_box=(0, 0, 100, 200))
    assert store.records("g1") == []


def test_encrypted_record_round_trip_without_pixels(
    obama: np.ndarray, sql_store: SqlSobrietyStore, tmp_path: Path
) -> None:
    face = FaceMeshSignals(static_image_mode=True).analyse(obama, 0.0)
    assert face is not None
    ring = _ring()
    cap = FeatureRecordCapturer(ring, sql_store, lambda guest_id: guest_id == "g1", lambda: NOW, max_keypoints=32)
    pose_xy = np.random.default_rng(0).uniform(0, 300, (33, 2))
    res = cap.capture(
        "g1",
        obama,
        face_box=face.box,
        face_landmarks=face.landmarks,
        person_box=(100, 20, 250, 420),
        pose_xy=pose_xy,
        signals={"eye_openness": face.eye_openness},
        t=1.5,
    )
    assert res.face_keypoints > 0 and res.person_keypoints > 0
    assert 1_000 < res.ciphertext_bytes < 20_000  # measured ≈ 11 KB with 32 + 32 SIFT keypoints
    [row] = sql_store.records("g1")
    assert len(row.blob) == res.ciphertext_bytes
    rec = cap.open("g1", row.key_id, row.blob)
    assert rec["face_sift"].shape[1] == 128 and rec["face_sift"].dtype == np.uint8
    assert rec["face_landmarks"].shape == (478, 3)
    assert rec["pose_xy"].shape == (33, 2)
    assert rec["meta"]["signals"]["eye_openness"] == pytest.approx(face.eye_openness, abs=1e-4)
    # no pixel arrays: everything is landmarks, keypoints, descriptors or metadata
    pixel_like = {k: v.shape for k, v in rec.items() if k != "meta" and v.ndim >= 2 and v.shape[0] > 478}
    assert pixel_like == {}
    # the ciphertext is bound to the guest (associated data)
    with pytest.raises(ConfigError):
        cap.open("g2", row.key_id, row.blob)
    # nothing image-like was written anywhere under the test's directory
    for path in tmp_path.rglob("*"):
        if path.is_file():
            head = path.read_bytes()[:8]
            assert not head.startswith(b"\xff\xd8\xff") and not head.startswith(b"\x89PNG"), path
    assert sql_store.record_bytes("g1") == res.ciphertext_bytes


def test_pattern_db_reinforce_vs_add_persisted(sql_store: SqlSobrietyStore) -> None:
    ring = _ring()
    book = PersistentPatternBook(sql_store, ring, "g1", 0.9, lambda: NOW)
    a = book.record([1.0, 0.0, 0.0])
    b = book.record([1.0, 0.1, 0.0])
    assert not a.reinforced and b.reinforced and b.pattern_id == a.pattern_id
    reloaded = PersistentPatternBook(sql_store, ring, "g1", 0.9, lambda: NOW)
    assert [(p.pattern_id, p.count) for p in reloaded.book.patterns] == [(a.pattern_id, 2)]
    c = reloaded.record([0.0, 0.0, 1.0])
    assert not c.reinforced
    assert len(sql_store.load_patterns("g1")) == 2
    assert sql_store.load_patterns("g2") == []


def test_judgements_and_baseline_persist(sql_store: SqlSobrietyStore) -> None:
    tr = SobrietyTracker(SobrietyPolicy(smoothing_seconds=0, enter_seconds=0))
    sql_store.add_judgement("g1", NOW, tr.observe(Observation(0, 0.1)))
    sql_store.add_judgement("g1", NOW.replace(minute=1), tr.observe(Observation(60, 0.95, posture_abnormal=True)))
    latest = sql_store.latest_judgement("g1")
    assert latest is not None and latest.state == "drunk" and latest.posture_abnormal
    assert sql_store.latest_judgement("g2") is None
    sql_store.save_baseline("g1", "k1", b"blob", NOW)
    sql_store.save_baseline("g1", "k1", b"blob2", NOW)
    assert sql_store.load_baseline("g1") == ("k1", b"blob2")


def test_service_requires_consent_and_serves_payments_port() -> None:
    from soberpay.adapters.sobriety.guests import VisionGuestMonitors
    from soberpay.domain.risk import SobrietyObservation
    from soberpay.services.sobriety import SobrietyService

    store = InMemorySobrietyStore()
    consent = lambda guest_id: guest_id == "g1"  # noqa: E731
    monitors = VisionGuestMonitors(SobrietySettings(), store, _ring(), consent, lambda: NOW)
    svc = SobrietyService(monitors, store, consent, lambda: NOW)
    with pytest.raises(ConsentRequired):
        svc.monitor("g2")
    assert svc.latest("g1") is None
    tr = SobrietyTracker(SobrietyPolicy(smoothing_seconds=0, enter_seconds=0))
    store.add_judgement("g1", NOW, tr.observe(Observation(0, 0.9, similarity_to_normal=0.3, posture_abnormal=True)))
    obs = svc.latest("g1")
    assert isinstance(obs, SobrietyObservation)
    assert obs.judged_drunk is True and obs.posture_abnormal and obs.p_drunk == pytest.approx(0.9)


def test_container_wires_sobriety_behind_consent(fake_container) -> None:  # type: ignore[no-untyped-def]
    from soberpay.domain.identity import ConsentPurpose

    c = fake_container
    guest = c.identity.register(name="Li", phone="13800000009", national_id="11010519491231002X", password="135790")
    assert c.sobriety_signal.latest(guest.id) is None
    with pytest.raises(ConsentRequired):
        c.sobriety.monitor(guest.id)
    c.identity.grant_consent(guest.id, ConsentPurpose.SOBRIETY_MONITORING)
    assert c.sobriety.monitor(guest.id).guest_id == guest.id
