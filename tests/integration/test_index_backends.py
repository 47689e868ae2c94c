"""The 1:N backends behind ``TemplateIndex``: FAISS HNSW against exact search, pgvector kept in the
enrolment/erasure transaction, the gallery-size threshold and the phone-digit narrowing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import event, text

from soberpay.adapters.clock import ManualClock
from soberpay.adapters.index import NumpyTemplateIndex
from soberpay.adapters.index_faiss import FaissHnswTemplateIndex
from soberpay.bootstrap import Container
from soberpay.config import Settings
from soberpay.domain.identity import MatchStatus, gallery_threshold
from soberpay.errors import ConfigError, InvalidInput
from soberpay.ports import InProcessTemplateIndex
from tests.fakes import FakeAnalyser, fake_decode_image, fake_decode_video, fake_image

ID_A = "11010519491231002X"
ID_B = "440524198001010013"


def clustered(n_keys: int, per_key: int, dim: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Identity centres plus per-template noise (genuine cosine ≈ 0.7, impostor ≈ 0)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_keys, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.standard_normal((n_keys, per_key, dim)).astype(np.float32) * 0.06
    return centres, centres[:, None, :] + noise


def test_hnsw_finds_the_identity_exact_search_finds() -> None:
    centres, templates = clustered(3000, 3)
    exact, hnsw = NumpyTemplateIndex(), FaissHnswTemplateIndex()
    for i, rows in enumerate(templates):
        for t in rows:
            exact.add(str(i), t)
            hnsw.add(str(i), t)
    rng = np.random.default_rng(1)
    probes = centres[:300] + rng.standard_normal((300, 128)).astype(np.float32) * 0.06
    agree = sum(exact.search(p, 1)[0].key == hnsw.search(p, 1)[0].key for p in probes)
    assert agree / 300 >= 0.99
    hit, want = hnsw.search(probes[0], 2), exact.search(probes[0], 2)
    assert [h.key for h in hit] == [h.key for h in want]
    assert hit[0].score == pytest.approx(want[0].score, abs=1e-5)  # scores are exact, not approximated


def test_hnsw_removed_keys_never_come_back_even_after_a_rebuild() -> None:
    centres, templates = clustered(1500, 2)
    idx = FaissHnswTemplateIndex()
    for i, rows in enumerate(templates):
        idx.add_many(str(i), list(rows))
    for i in range(0, 1500, 2):  # half the rows: past the rebuild point
        idx.remove(str(i))
    assert len(idx) == 1500
    for i in range(0, 40):
        keys = [h.key for h in idx.search(centres[i], 2)]
        assert str(i) not in keys if i % 2 == 0 else keys[0] == str(i)
    with pytest.raises(InvalidInput):
        idx.add("x", np.zeros(128, dtype=np.float32))


def _other_node(c: Container) -> Container:
    other = Container(c.settings, clock=c.clock, analyser=FakeAnalyser())
    other.decode_image = fake_decode_image  # type: ignore[method-assign]
    other.decode_video = fake_decode_video  # type: ignore[method-assign]
    return other


def _guest(c: Container, name: str = "Li Lei", phone: str = "13800138000", nid: str = ID_A) -> str:
    g = c.identity.register(name=name, phone=phone, national_id=nid, password="123456")
    c.identity.grant_consent(g.id, "face_payment")
    return g.id


@pytest.mark.parametrize("backend", ["memory", "hnsw"])
def test_in_process_index_follows_the_change_sequence(fake_container: Container, backend: str) -> None:
    fake_container.settings.index = backend  # type: ignore[assignment]
    other = _other_node(fake_container)
    first, second = fake_container.identity, other.identity
    assert isinstance(second._index, InProcessTemplateIndex)
    a = _guest(fake_container)
    assert not second.identify(fake_image("lilei", 1)).accepted
    first.enroll_images(a, [fake_image("lilei", 1)])
    assert second.identify(fake_image("lilei", 2)).guest_id == a
    first.revoke_consent(a, "face_payment")
    assert second.identify(fake_image("lilei", 3)).guest_id is None
    assert len(second._index) == 0  # the change removed the guest's rows, nothing was reloaded wholesale
    other.close()


@pytest.fixture
def pg_container(settings: Settings, clock: ManualClock, pg_url: str) -> Iterator[Container]:
    """A container on PostgreSQL + pgvector with index = "pgvector"."""
    from soberpay.adapters.db.migrate import upgrade

    upgrade(pg_url)
    settings.database_url, settings.index = pg_url, "pgvector"
    c = Container(settings, clock=clock, analyser=FakeAnalyser()).open(migrate=False)
    c.decode_image = fake_decode_image  # type: ignore[method-assign]
    c.decode_video = fake_decode_video  # type: ignore[method-assign]
    yield c
    c.close()


def _vector_rows(c: Container) -> int:
    with c.engine.connect() as conn:
        return int(conn.scalar(text("SELECT count(*) FROM face_template_vectors")) or 0)


@pytest.mark.postgres
def test_pgvector_vectors_live_and_die_with_their_templates(pg_container: Container) -> None:
    c = pg_container
    assert c.settings.index == "pgvector" and not isinstance(c.identity._index, InProcessTemplateIndex)
    a = _guest(c)
    c.identity.enroll_images(a, [fake_image("lilei", 1), fake_image("lilei", 2)])
    assert _vector_rows(c) == 2 == len(c.identity._index)
    assert c.identity.identify(fake_image("lilei", 3)).guest_id == a
    c.cipher.rotate()
    c.identity.reencrypt_all()  # the vector is not encrypted: rotation leaves the search intact
    assert c.identity.identify(fake_image("lilei", 4)).guest_id == a
    c.identity.enroll_images(a, [fake_image("lilei", n) for n in range(5, 10)])  # the cap replaces old rows
    assert _vector_rows(c) == c.settings.identity.templates_per_guest
    c.identity.revoke_consent(a, "face_payment")
    assert _vector_rows(c) == 0
    b = _guest(c, "Han", "13900139000", ID_B)
    c.identity.enroll_images(b, [fake_image("han", 1)])
    c.identity.erase(b)
    assert _vector_rows(c) == 0 and c.identity.identify(fake_image("han", 2)).guest_id is None


@pytest.mark.postgres
def test_pgvector_other_node_sees_enrolment_and_erasure_at_once(pg_container: Container) -> None:
    other = _other_node(pg_container)
    a = _guest(pg_container)
    pg_container.identity.enroll_images(a, [fake_image("lilei", 1)])
    assert other.identity.identify(fake_image("lilei", 2)).guest_id == a
    pg_container.identity.erase(a)
    assert other.identity.identify(fake_image("lilei", 3)).guest_id is None
    other.close()


def test_pgvector_refuses_sqlite(settings: Settings, tmp_path: Path) -> None:
    settings.database_url, settings.index = f"sqlite:///{tmp_path / 'x.db'}", "pgvector"
    c = Container(settings, analyser=FakeAnalyser()).open()
    with pytest.raises(ConfigError, match="PostgreSQL"):
        c.build_index()
    c.close()


def test_threshold_grows_with_the_gallery() -> None:
    base, mean, std = 0.421, 0.0, 0.1
    small = gallery_threshold(base, 10, mean, std, 1e-3)
    t100k, t1m = gallery_threshold(base, 100_000, mean, std, 1e-3), gallery_threshold(base, 1_000_000, mean, std, 1e-3)
    assert small == base < t100k < t1m
    assert t1m == pytest.approx(mean + std * 5.998, abs=1e-3)  # z for 1e-9


def test_phone_digits_narrow_a_large_gallery(fake_container: Container) -> None:
    c = fake_container
    a = _guest(c)
    b = _guest(c, "Han", "13900139000", ID_B)
    c.identity.enroll_images(a, [fake_image("lilei", 1)])
    c.identity.enroll_images(b, [fake_image("han", 1)])
    c.identity._settings = c.settings.identity.model_copy(update={"phone_hint_gallery_size": 2})
    asked = c.identity.identify(fake_image("lilei", 2))
    assert asked.status is MatchStatus.AMBIGUOUS and "last 4 digits" in asked.explanation
    assert c.identity.identify(fake_image("lilei", 2), phone_last4="8000").guest_id == a
    wrong = c.identity.identify(fake_image("lilei", 2), phone_last4="9000")  # Han's digits, Li Lei's face
    assert wrong.guest_id is None and wrong.status is MatchStatus.REJECTED
    with pytest.raises(InvalidInput):
        c.identity.identify(fake_image("lilei", 2), phone_last4="80a0")


def test_phone_digits_are_an_index_lookup_and_erasure_clears_them(fake_container: Container) -> None:
    c = fake_container
    a = _guest(c)
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        if "phone" in statement and "guests" in statement:
            seen.append((statement, params))

    event.listen(c.engine, "before_cursor_execute", capture)
    try:
        with c.uow() as uow:
            assert uow.guests.ids_with_phone_ending("8000") == [a]
    finally:
        event.remove(c.engine, "before_cursor_execute", capture)
    (statement, params), *_ = seen
    with c.engine.connect() as conn:
        assert conn.execute(text("SELECT phone_last4 FROM guests WHERE id = :id"), {"id": a}).scalar() == "8000"
        if c.engine.dialect.name == "sqlite":  # the planner uses the index, not a scan of every phone
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
            assert any("ix_guests_phone_last4" in str(row) for row in plan), plan
    c.identity.erase(a, "manager:boss", "guest asked")
    with c.engine.connect() as conn:
        assert conn.execute(text("SELECT phone_last4 FROM guests WHERE id = :id"), {"id": a}).scalar() is None
    with c.uow() as uow:
        assert uow.guests.ids_with_phone_ending("8000") == []


def test_identify_endpoint_takes_the_phone_digits(fake_container: Container) -> None:
    from tests.e2e.web_support import enrol, register, venue

    v = venue(fake_container)
    client = v.client()
    alice = register(client, "Alice", 1)
    enrol(client, alice, "alice")
    fake_container.identity._settings = fake_container.settings.identity.model_copy(
        update={"phone_hint_gallery_size": 1}
    )

    def identify(**form: str) -> Any:
        files = {"file": ("f.jpg", fake_image("alice", 7), "image/jpeg")}
        return client.post("/api/rooms/r1/identify/face", files=files, data=form, headers=v.room("r1"))

    asked = identify()
    assert asked.status_code == 401 and "last 4 digits" in asked.json()["message"]
    assert identify(phone_last4="0001").json()["guest_id"] == alice["guest_id"]
    assert identify(phone_last4="0002").status_code == 401
    assert identify(phone_last4="00x1").status_code == 400  # invalid_input, nothing searched


def test_guessed_phone_digits_cannot_pick_another_account(fake_container: Container) -> None:
    """Attack: the digits only narrow the search. A face that is not the account holder's is refused
    whatever digits are sent, and guesses are bounded per room (shared in the database), so trying
    suffix after suffix cannot add up to a whole-gallery search at the small-set threshold."""
    from tests.e2e.web_support import enrol, register, venue

    v = venue(fake_container)
    client = v.client()
    alice, bob = register(client, "Alice", 1), register(client, "Bob", 2)
    enrol(client, alice, "alice")
    enrol(client, bob, "bob")
    fake_container.identity._settings = fake_container.settings.identity.model_copy(
        update={"phone_hint_gallery_size": 1}
    )

    def identify(person: str, **form: str) -> Any:
        files = {"file": ("f.jpg", fake_image(person, 7), "image/jpeg")}
        return client.post("/api/rooms/r1/identify/face", files=files, data=form, headers=v.room("r1"))

    asked = identify("mallory")
    assert asked.status_code == 401 and asked.json()["ask_phone_last4"] is True
    for person in ("mallory", "alice"):  # a stranger's face, or another guest's, with Bob's digits
        r = identify(person, phone_last4="0002")
        assert r.status_code == 401 and r.json()["ask_phone_last4"] is False, r.text
    assert identify("alice", phone_last4="0001").json()["guest_id"] == alice["guest_id"]  # third guess this minute
    limited = identify("bob", phone_last4="0002")  # the right face and digits, but over the guessing bound
    assert limited.status_code == 429
    assert identify("bob").json()["ask_phone_last4"] is True  # a face alone still gets its answer
    fake_container.clock.advance(minutes=1)  # type: ignore[attr-defined]
    assert identify("bob", phone_last4="0002").json()["guest_id"] == bob["guest_id"]


def test_clip_identification_narrows_by_phone_digits(fake_container: Container) -> None:
    c = fake_container
    a, b = _guest(c), _guest(c, "Han", "13900139000", ID_B)
    c.identity.enroll_images(a, [fake_image("lilei", 1)])
    c.identity.enroll_images(b, [fake_image("han", 1)])
    c.identity._settings = c.settings.identity.model_copy(update={"phone_hint_gallery_size": 2})
    frames = [fake_decode_image(fake_image("lilei", n)) for n in range(2, 5)]
    assert c.identity.identify_frames(frames).status is MatchStatus.AMBIGUOUS
    assert c.identity.identify_frames(frames, phone_last4="8000").guest_id == a
    assert c.identity.identify_frames(frames, phone_last4="9000").guest_id is None  # Han's digits, Li Lei's face


@pytest.mark.postgres
def test_backfill_gives_old_templates_their_vectors(pg_container: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    """Templates enrolled before the search column are invisible to 1:N; /readyz says so; the CLI
    back-fills them in batches, an interrupted run resumes, and a second run does nothing."""
    from typer.testing import CliRunner

    from soberpay.adapters.embeddings import Float32EmbeddingCodec
    from soberpay.adapters.index_pgvector import backfill_vectors, missing_vectors
    from soberpay.cli import _common, app
    from soberpay.services.identity import template_aad

    c = pg_container
    a, b = _guest(c), _guest(c, "Han", "13900139000", ID_B)
    c.identity.enroll_images(a, [fake_image("lilei", n) for n in range(1, 4)])
    c.identity.enroll_images(b, [fake_image("han", 1)])
    with c.engine.begin() as conn:  # as if enrolled before the pgvector column existed
        conn.execute(text("DELETE FROM face_template_vectors"))
    assert c.identity.identify(fake_image("lilei", 5)).guest_id is None
    assert "4 templates have no search vector" in c.readiness.check().notes["search_vectors"]
    assert c.readiness.check().ready  # a note: guests without a vector pay by phone + password meanwhile

    codec = Float32EmbeddingCodec()

    def decrypt(key_id: str, blob: bytes, guest_id: str, embedder: str) -> Any:
        return codec.from_bytes(c.cipher.decrypt(key_id, blob, template_aad(guest_id, embedder)))

    def crash_after_first_batch(_n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backfill_vectors(c.engine, decrypt, batch_size=1, progress=crash_after_first_batch)
    assert missing_vectors(c.engine) == 3  # the committed batch stays

    monkeypatch.setattr(_common, "_container", c)
    result = CliRunner().invoke(app, ["index", "backfill", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "3 templates given a search vector; 0 still missing" in result.output
    assert _vector_rows(c) == 4 and missing_vectors(c.engine) == 0
    assert c.identity.identify(fake_image("lilei", 5)).guest_id == a
    again = CliRunner().invoke(app, ["index", "backfill"])
    assert "0 templates given a search vector" in again.output and _vector_rows(c) == 4


def test_backfill_refuses_the_in_process_index(fake_container: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from soberpay.cli import _common, app

    fake_container.settings.index = "memory"
    monkeypatch.setattr(_common, "_container", fake_container)
    result = CliRunner().invoke(app, ["index", "backfill"])
    assert result.exit_code != 0 and "pgvector" in result.output
