"""The identity CLI end to end, with the real face models and bundled sample faces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from soberpay.assets import asset_path
from soberpay.cli import _common, app

runner = CliRunner()
FACES = asset_path("faces")


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SOBERPAY_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setattr(_common, "_container", None)
    yield tmp_path
    if _common._container is not None:
        _common._container.close()


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.output


def _register(phone: str = "13800000001", nid: str = "11010519491231002X") -> None:
    code, out = run(
        "register",
        "--name",
        "Barack",
        "--phone",
        phone,
        "--id-number",
        nid,
        "--password",
        "135790",
        "--consent",
        "face_payment",
    )
    assert code == 0, out


def test_register_enrol_identify_verify_erase(cli_env: Path) -> None:
    _register()
    code, out = run(
        "enroll", "13800000001", "--images", str(FACES / "obama.jpg"), "--images", str(FACES / "obama2.jpg")
    )
    assert code == 0 and "2 template" in out, out
    code, out = run("identify", str(FACES / "obama3.jpg"))
    assert code == 0 and "accepted" in out and "Barack" in out, out
    code, out = run("identify", str(FACES / "biden.jpg"))
    assert code == 1 and "rejected" in out, out
    code, out = run("verify", "13800000001", str(FACES / "obama3.jpg"))
    assert code == 0 and "match" in out
    code, out = run("guests")
    assert "110***********002X" in out and "11010519491231002X" not in out
    code, out = run("rotate-key")
    assert code == 0 and "re-encrypted 3 row(s)" in out, out
    code, out = run("identify", str(FACES / "obama3.jpg"))
    assert code == 0, out
    code, out = run("erase", "13800000001")
    assert code == 2 and "--yes" in out
    code, out = run("erase", "13800000001", "--yes")
    assert code == 0
    code, out = run("identify", str(FACES / "obama3.jpg"))
    assert code == 1


def test_password_is_prompted_and_never_echoed(cli_env: Path) -> None:
    code, out = run(
        "register",
        "--name",
        "G",
        "--phone",
        "13800000002",
        "--id-number",
        "11010519491231002X",
        input="246810\n246810\n",
    )
    assert code == 0, out
    assert "246810" not in out


@pytest.mark.parametrize(
    "args,message",
    [
        (["--phone", "123"], "invalid_input"),
        (["--id-number", "110105194912310021"], "check digit"),
        (["--password", "12ab56"], "6 digits"),
    ],
)
def test_bad_registration_one_line_error(cli_env: Path, args: list[str], message: str) -> None:
    base = {"--name": "G", "--phone": "13800000003", "--id-number": "11010519491231002X", "--password": "123456"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    code, out = run("register", *[x for kv in base.items() for x in kv])
    assert code == 2 and message in out and "Traceback" not in out


def test_bad_images_are_refused(cli_env: Path, tmp_path: Path) -> None:
    _register()
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes((FACES / "obama.jpg").read_bytes()[:500])
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    for path, code_word in [
        (corrupt, "bad_image"),
        (empty, "bad_image"),
        (asset_path("faces", "README.md"), "bad_image"),
    ]:
        code, out = run("enroll", "13800000001", "--images", str(path))
        assert code == 2 and code_word in out, out
    identity = _common.get_container().identity
    assert identity.template_count(identity.find_by_phone("13800000001").id) == 0


def test_enrol_without_consent_is_refused(cli_env: Path) -> None:
    code, out = run(
        "register", "--name", "N", "--phone", "13800000005", "--id-number", "11010519491231002X", "--password", "123456"
    )
    assert code == 0
    code, out = run("enroll", "13800000005", "--images", str(FACES / "obama.jpg"))
    assert code == 2 and "consent_required" in out
    code, out = run("consent", "grant", "13800000005", "face_payment")
    assert code == 0 and "granted" in out
    code, out = run("enroll", "13800000005", "--images", str(FACES / "obama.jpg"))
    assert code == 0, out
    code, out = run("consent", "revoke", "13800000005", "face_payment")
    assert code == 0
    code, out = run("identify", str(FACES / "obama3.jpg"))
    assert code == 1


def test_unknown_guest(cli_env: Path) -> None:
    code, out = run("enroll", "13999999999", "--images", str(FACES / "obama.jpg"))
    assert code == 2 and "not_found" in out


def test_walkthrough_runs(tmp_path: Path) -> None:
    code, out = run("walkthrough", "--data-dir", str(tmp_path / "demo"))
    assert code == 0, out
    assert "obama3.jpg" in out and "accepted" in out and "forbidden" in out  # Barack's face under Joe: 1:1 refusal
