"""`soberpay backup` / `soberpay restore`: a venue lost entirely (database and keys) comes back from the two
backup files with balances, face templates, ID numbers and the audit log intact — on SQLite and PostgreSQL.
The key backup is useless without its passphrase, and a bad restore changes nothing."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from soberpay.adapters.backup import read_keys
from soberpay.adapters.clock import ManualClock
from soberpay.bootstrap import Container
from soberpay.cli import app
from soberpay.config import Settings
from soberpay.web.auth import load_or_create_secret
from tests.fakes import FakeAnalyser, fake_decode_image, fake_image

PASSPHRASE = "correct horse battery staple"
NATIONAL_ID = "11010519491231002X"
runner = CliRunner()


def _container(url: str, key_dir: Path, data_dir: Path) -> Container:
    settings = Settings(data_dir=data_dir, key_dir=key_dir, database_url=url, env="test")
    c = Container(settings, clock=ManualClock(), analyser=FakeAnalyser()).open()
    c.decode_image = fake_decode_image  # type: ignore[method-assign]
    return c


def _open_venue(c: Container) -> str:
    g = c.identity.register(name="Li Lei", phone="13800138000", national_id=NATIONAL_ID, password="123456")
    c.identity.grant_consent(g.id, "face_payment")
    c.identity.enroll_images(g.id, [fake_image("lilei", i) for i in range(3)])
    c.payments.topup(g.id, 50_000, "backup-topup-0001", actor="cashier")
    assert c.payments.pay_by_face(fake_image("lilei", 7), "beer-tsingtao", 2, "backup-buy-0001").outcome == "charged"
    load_or_create_secret(None, c.settings.resolved_key_dir)
    return str(g.id)


def _state(c: Container, guest_id: str) -> dict[str, Any]:
    return {
        "balance": c.payments.balance(guest_id),
        "identified": c.identity.identify(fake_image("lilei", 9)).guest_id,  # templates decrypt and match
        "national_id": c.identity.reveal_national_id(guest_id),
        "audit": c.payments.audit(limit=1000),
        "ledger": c.payments.ledger(guest_id, limit=1000),
    }


def _cli(monkeypatch: pytest.MonkeyPatch, url: str, data_dir: Path, key_dir: Path, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("SOBERPAY_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SOBERPAY_KEY_DIR", str(key_dir))
    monkeypatch.setenv("SOBERPAY_DATABASE_URL", url)
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def venue(tmp_path: Path, db_url: str) -> tuple[str, dict[str, Any], Path]:
    c = _container(db_url, tmp_path / "keys", tmp_path / "var")
    guest_id = _open_venue(c)
    before = _state(c, guest_id)
    assert before["balance"] < 50_000 and before["identified"] == guest_id
    c.close()
    (tmp_path / "pass").write_text(PASSPHRASE + "\n")
    return guest_id, before, tmp_path


def _lose_everything(url: str, tmp_path: Path) -> str:
    """The venue's disk is gone: keys and SQLite file deleted, PostgreSQL schema dropped. Returns the new URL."""
    shutil.rmtree(tmp_path / "keys")
    if url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'new' / 'soberpay.db'}"
    from tests.conftest import _reset_pg

    _reset_pg(url)
    return url


def test_backup_then_restore_brings_the_venue_back(
    venue: tuple[str, dict[str, Any], Path], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    guest_id, before, tmp = venue
    code, out = _cli(
        monkeypatch, db_url, tmp / "var", tmp / "keys",
        "backup", str(tmp / "backups"), "--keys-to", str(tmp / "vault"), "--passphrase-file", str(tmp / "pass"),
    )  # fmt: skip
    assert code == 0, out
    (db_backup,) = (tmp / "backups").iterdir()
    (key_backup,) = (tmp / "vault").iterdir()
    assert db_backup.stat().st_mode & 0o077 == 0 and key_backup.stat().st_mode & 0o077 == 0

    url = _lose_everything(db_url, tmp)
    code, out = _cli(
        monkeypatch, url, tmp / "new", tmp / "new-keys",
        "restore", str(db_backup), "--keys", str(key_backup), "--passphrase-file", str(tmp / "pass"),
    )  # fmt: skip
    assert code == 0, out
    c = _container(url, tmp / "new-keys", tmp / "new")
    try:
        assert _state(c, guest_id) == before
    finally:
        c.close()


def test_key_backup_holds_no_key_in_clear_and_needs_the_passphrase(
    venue: tuple[str, dict[str, Any], Path], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, tmp = venue
    keyring = json.loads((tmp / "keys" / "keys.json").read_text())
    secret = (tmp / "keys" / "web_secret.key").read_text()
    code, out = _cli(
        monkeypatch, db_url, tmp / "var", tmp / "keys",
        "backup", str(tmp / "b"), "--passphrase-file", str(tmp / "pass"),
    )  # fmt: skip
    assert code == 0, out
    key_backup = next((tmp / "b").glob("*.enc"))
    text = key_backup.read_text()
    for material in [secret, *keyring["keys"].values()]:
        assert material not in text
    for key in keyring["keys"].values():
        assert base64.b64decode(key) not in key_backup.read_bytes()
    assert read_keys(key_backup, PASSPHRASE)["web_secret.key"] == secret

    db_backup = next((tmp / "b").glob("soberpay-2*"))
    (tmp / "wrong").write_text("not the passphrase at all")
    url = _lose_everything(db_url, tmp)
    code, out = _cli(
        monkeypatch, url, tmp / "new", tmp / "new-keys",
        "restore", str(db_backup), "--keys", str(key_backup), "--passphrase-file", str(tmp / "wrong"),
    )  # fmt: skip
    assert code == 2 and "wrong passphrase" in out, out
    assert not (tmp / "new-keys").exists()  # nothing was restored
    if url.startswith("sqlite"):
        assert not (tmp / "new").exists()


def test_tampered_kdf_parameters_are_refused(venue: tuple[str, dict[str, Any], Path]) -> None:
    _, _, tmp = venue
    from soberpay.adapters.backup import export_keys

    export_keys(tmp / "keys", tmp / "k.enc", PASSPHRASE)
    doc = json.loads((tmp / "k.enc").read_text())
    doc["kdf"]["time_cost"] = 1  # an attacker lowering the cost to guess faster
    (tmp / "k.enc").write_text(json.dumps(doc))
    with pytest.raises(Exception, match="unsupported key backup format"):
        read_keys(tmp / "k.enc", PASSPHRASE)


def test_restore_refuses_to_overwrite_a_database_or_load_a_damaged_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'soberpay.db'}"
    c = _container(url, tmp_path / "keys", tmp_path / "var")
    guest_id = _open_venue(c)
    balance = c.payments.balance(guest_id)
    c.close()
    code, out = _cli(monkeypatch, url, tmp_path / "var", tmp_path / "keys", "backup", str(tmp_path / "b"), "--no-keys")
    assert code == 0, out
    backup = next((tmp_path / "b").iterdir())
    code, out = _cli(monkeypatch, url, tmp_path / "var", tmp_path / "keys", "restore", str(backup))
    assert code == 2 and "--force" in out, out
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    code, out = _cli(monkeypatch, url, tmp_path / "var", tmp_path / "keys", "restore", str(garbage), "--force")
    assert code == 2 and "backup" in out, out
    c = _container(url, tmp_path / "keys", tmp_path / "var")
    try:
        assert c.payments.balance(guest_id) == balance  # untouched by both refused restores
    finally:
        c.close()
