"""Data at rest: the data dir is 0700, the database (with -wal/-shm) and key files 0600 whatever the umask,
keys can live outside the data dir, and an erased guest's name and phone are gone from the database file,
its WAL and the logs (``secure_delete`` + a WAL checkpoint/truncate after erasure)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from soberpay.adapters.clock import ManualClock
from soberpay.bootstrap import Container
from soberpay.config import Settings
from soberpay.web.app import create_app
from tests.fakes import FakeAnalyser, fake_decode_image, fake_image

NAME = "Quintus Erasable"
PHONE = "13987654321"


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)  # the most permissive umask: modes must not depend on it
    try:
        yield
    finally:
        os.umask(old)


def _container(settings: Settings) -> Container:
    c = Container(settings, clock=ManualClock(), analyser=FakeAnalyser()).open()
    c.decode_image = fake_decode_image  # type: ignore[method-assign]
    return c


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_dir_database_and_keys_are_private_whatever_the_umask(tmp_path: Path, open_umask: None) -> None:
    data_dir, key_dir = tmp_path / "var", tmp_path / "keys"
    c = _container(Settings(data_dir=data_dir, key_dir=key_dir))
    g = c.identity.register(name=NAME, phone=PHONE, national_id="11010519491231002X", password="123456")
    create_app(c, run_rooms=False)  # creates the cookie-signing key
    assert _mode(data_dir) == 0o700
    db = data_dir / "soberpay.db"
    for path in (db, db.with_name("soberpay.db-wal"), db.with_name("soberpay.db-shm")):
        assert path.exists() and _mode(path) == 0o600, path
    assert {p.name for p in key_dir.iterdir()} == {"keys.json", "web_secret.key"}  # outside the data dir
    assert _mode(key_dir) == 0o700
    for path in key_dir.iterdir():
        assert _mode(path) == 0o600, path
    assert not (data_dir / "keys.json").exists() and g.id
    c.close()


def test_files_from_an_older_version_are_made_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o755)
    for name in ("soberpay.db", "soberpay.db-wal", "keys.json"):
        (data_dir / name).touch(mode=0o644)
    os.chmod(data_dir, 0o755)
    (data_dir / "soberpay.db-wal").unlink()
    (data_dir / "keys.json").unlink()
    c = _container(Settings(data_dir=data_dir))
    c.cipher.encrypt(b"x")
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "soberpay.db") == 0o600
    assert _mode(data_dir / "keys.json") == 0o600
    c.close()


def _traces(data_dir: Path, log_text: str) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("soberpay.db")}
    return {**files, "log": log_text.encode()}


def test_erased_name_and_phone_are_gone_from_database_wal_and_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data_dir = tmp_path / "var"
    c = _container(Settings(data_dir=data_dir))
    g = c.identity.register(name=NAME, phone=PHONE, national_id="11010519491231002X", password="123456")
    c.identity.grant_consent(g.id, "face_payment")
    c.identity.enroll_images(g.id, [fake_image("alice", i) for i in range(3)])
    before = _traces(data_dir, caplog.text)
    assert any(NAME.encode() in blob for blob in before.values())  # the probe can see the data when it is there

    with c.engine.connect() as conn:  # deleted cells are zeroed in the database file itself
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    c.identity.erase(g.id, actor="test")

    after = _traces(data_dir, caplog.text)
    for where, blob in after.items():
        assert NAME.encode() not in blob, f"erased name found in {where}"
        assert PHONE.encode() not in blob, f"erased phone found in {where}"
    c.close()
