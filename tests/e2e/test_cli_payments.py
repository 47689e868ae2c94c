"""The payments CLI end to end: register + enrol (real face models), top up, pay by face and by
phone, staff tag → suspended bottle → staff untag → confirm, alerts, audit, checkout, ledger."""

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
    monkeypatch.setattr(_common.console, "width", 250)  # tables unwrapped, ids on one line
    yield tmp_path
    if _common._container is not None:
        _common._container.close()


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.output


def test_payment_cli_flow(cli_env: Path) -> None:
    code, out = run(
        "register",
        "--name",
        "Barack",
        "--phone",
        "13800000001",
        "--id-number",
        "11010519491231002X",
        "--password",
        "135790",
        "--consent",
        "face_payment",
    )
    assert code == 0, out
    code, out = run("enroll", "13800000001", "--images", str(FACES / "obama.jpg"))
    assert code == 0, out
    code, out = run("menu")
    assert code == 0 and "whisky-chivas-12" in out and "high_price" in out
    code, out = run("topup", "13800000001", "1000", "--key", "cli-topup-0001")
    assert code == 0 and "¥1000.00" in out, out
    code, out = run(
        "purchase", "beer-tsingtao", "--qty", "2", "--face", str(FACES / "obama3.jpg"), "--key", "cli-buy-0001"
    )
    assert code == 0 and "charged" in out, out
    code, out = run(
        "purchase", "beer-tsingtao", "--qty", "2", "--face", str(FACES / "obama3.jpg"), "--key", "cli-buy-0001"
    )
    assert code == 0 and "replayed" in out, out
    code, out = run("purchase", "cola", "--phone", "13800000001", "--password", "135790", "--key", "cli-buy-0002")
    assert code == 0 and "charged" in out, out
    code, out = run("staff", "tag", "13800000001", "--reason", "slurring at the bar", "--actor", "amy")
    assert code == 0 and "tagged" in out, out
    code, out = run("staff", "tag", "13800000001", "--reason", "", "--actor", "amy")
    assert code != 0 and "reason" in out
    code, out = run("purchase", "whisky-chivas-12", "--face", str(FACES / "obama3.jpg"), "--key", "cli-buy-0003")
    assert code == 0 and "suspended" in out, out
    code, out = run("purchase", "cola", "--face", str(FACES / "obama3.jpg"), "--key", "cli-buy-0004")
    assert code == 1 and "verification_required" in out and "password" in out, out
    code, out = run(
        "purchase",
        "cola",
        "--face",
        str(FACES / "obama3.jpg"),
        "--ask-password",
        "--key",
        "cli-buy-0004",
        input="135790\n",
    )
    assert code == 0 and "dual_verified" in out, out
    assert "135790" not in out  # the password is never echoed or printed
    code, out = run("pending", "list")
    assert code == 0 and "Chivas" in out
    code, out = run("staff", "untag", "13800000001", "--reason", "checked in person, fine", "--actor", "amy")
    assert code == 0 and "normal" in out, out
    code, out = run("pending", "list", "--guest", "13800000001")
    ids = [tok for tok in out.replace("│", " ").split() if len(tok) == 32]
    assert ids, out
    code, out = run("pending", "confirm", ids[0], "--face", str(FACES / "obama3.jpg"), "--key", "cli-conf-0001")
    assert code == 0 and "original price" in out, out
    code, out = run("staff", "alerts")
    assert code == 0 and "suspended" in out
    code, out = run("staff", "audit", "--action", "staff.")
    assert code == 0 and "staff.tag" in out and "staff.untag" in out
    code, out = run("checkout", "13800000001", "--key", "cli-checkout-01")
    assert code == 0 and "Chivas" in out and "total" in out, out
    code, out = run("ledger")
    assert code == 0 and "balanced" in out, out


def test_bad_cli_input_is_one_red_line(cli_env: Path) -> None:
    code, out = run("topup", "13800000009", "abc")
    assert code != 0
    code, out = run("purchase", "cola", "--key", "cli-x-0001")
    assert code != 0 and "choose exactly one" in out


def test_demo_walkthrough_shows_the_payment_story(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common.console, "width", 250)
    code, out = run("walkthrough", "--data-dir", str(tmp_path / "demo"))
    assert code == 0, out
    story = out[out.index("4. Payments") :]
    for expected in (
        "drunk warning",
        "no further alcohol without staff",
        "estimated BAC",
        "verification_required",
        "dual_verified",
        "suspended",
        "recovered",
        "expired",
        "replayed",
        "Bill for visit",
        "(balanced)",
    ):
        assert expected in story, expected
    order = [story.index(s) for s in ("suspended", "estimated BAC 0.056", "recovered", "(expired)")]
    assert order == sorted(order)  # recovery waited for the BAC estimate; the bottle request expired meanwhile
