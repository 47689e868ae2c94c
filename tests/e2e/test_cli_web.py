"""Venue-service CLI: staff/room administration commands and the demo-venue seeding (real face models)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from soberpay.cli import _common, app

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SOBERPAY_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setattr(_common, "_container", None)
    yield tmp_path
    if _common._container is not None:
        _common._container.close()


def test_staff_account_room_and_token_commands(cli_env: Path) -> None:
    r = runner.invoke(
        app, ["staff", "account-add", "alice", "--role", "manager"], input="long-password\nlong-password\n"
    )
    assert r.exit_code == 0, r.output
    assert "created staff account alice (manager)" in r.output
    r = runner.invoke(app, ["staff", "account-add", "alice"], input="long-password\nlong-password\n")
    assert r.exit_code != 0 and "username already exists" in r.output
    r = runner.invoke(app, ["staff", "account-add", "bob", "--role", "boss"], input="long-password\nlong-password\n")
    assert r.exit_code != 0 and "role must be one of" in r.output
    r = runner.invoke(app, ["staff", "room-add", "r101", "--name", "Room 101", "--camera", "demo"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["staff", "room-token", "r101"])
    assert r.exit_code == 0 and "sprt_" in r.output
    r = runner.invoke(app, ["staff", "room-token", "nope"])
    assert r.exit_code != 0 and "unknown room" in r.output


def test_demo_venue_seeding_is_idempotent(tmp_path: Path) -> None:
    from soberpay.bootstrap import build_container
    from soberpay.config import Settings
    from soberpay.web.app import create_app
    from soberpay.web.demo import DEMO_GUESTS, seed_demo

    container = build_container(Settings(data_dir=tmp_path / "var"))
    try:
        web = create_app(container, run_rooms=False).state.web
        first = seed_demo(web)
        assert first.problems == []
        assert set(first.guests) == {g[0] for g in DEMO_GUESTS} and set(first.tokens) == {"demo", "r102"}
        ident = container.identity
        assert all(ident.template_count(gid) >= 1 for gid in first.guests.values())
        assert web.payments.balance(first.guests["Joe Biden"]) == 100_000
        second = seed_demo(web)
        assert second.guests == first.guests and len(ident.list_guests()) == 3
        assert web.payments.balance(first.guests["Joe Biden"]) == 100_000  # top-up not repeated
        assert web.auth.authenticate("manager", "demo-manager-pass").role == "manager"
    finally:
        container.close()
