"""Staff sessions are server-side records: logout, expiry and a manager's revocation end them, whatever
copy of the cookie an attacker kept; cookies are Secure outside dev/test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from soberpay.adapters.clock import ManualClock
from soberpay.config import Settings
from soberpay.errors import ConfigError
from tests.e2e.web_support import CASHIER, login, sqlite_container, venue


def _venue(tmp_path: Path, clock: ManualClock, **settings: object) -> TestClient:
    container = sqlite_container(Settings(data_dir=tmp_path / "var", env="test", **settings), clock)  # type: ignore[arg-type]
    return venue(container).client()


def test_logout_revokes_the_session_on_the_server(tmp_path: Path) -> None:
    with _venue(tmp_path, ManualClock()) as client:
        csrf = login(client)
        stolen = client.cookies.get("sp_session")
        assert client.post("/api/auth/logout", headers=csrf).status_code == 204
        client.cookies.set("sp_session", stolen)  # the attacker's copy of the cookie
        assert client.get("/api/auth/me").status_code == 401
        body = {"username": "mallory", "password": "long-password-1", "role": "manager"}
        assert client.post("/api/staff/accounts", json=body, headers=csrf).status_code == 401


def test_sessions_expire_on_the_server_clock(tmp_path: Path) -> None:
    clock = ManualClock()
    with _venue(tmp_path, clock, web={"session_max_age_s": 600}) as client:
        login(client)
        assert client.get("/api/auth/me").status_code == 200
        clock.advance(seconds=601)
        assert client.get("/api/auth/me").status_code == 401


def test_a_manager_lists_and_revokes_sessions(tmp_path: Path) -> None:
    with _venue(tmp_path, ManualClock()) as manager, TestClient(manager.app) as cashier:
        csrf = login(manager)
        login(cashier, CASHIER)
        assert cashier.get("/api/staff/sessions").status_code == 403
        listed = manager.get("/api/staff/sessions").json()
        assert {s["username"] for s in listed} == {"boss", "till"}
        assert [s["current"] for s in listed if s["username"] == "boss"] == [True]
        till = next(s["id"] for s in listed if s["username"] == "till")
        assert manager.delete(f"/api/staff/sessions/{till}", headers=csrf).status_code == 204
        assert cashier.get("/api/auth/me").status_code == 401
        assert [s["username"] for s in manager.get("/api/staff/sessions").json()] == ["boss"]
        assert manager.delete("/api/staff/sessions/999999", headers=csrf).status_code == 404


def test_session_cookie_is_secure_in_prod_only(tmp_path: Path) -> None:
    for env, secure in (("test", False), ("prod", True)):
        settings = Settings(data_dir=tmp_path / env, env=env)  # type: ignore[arg-type]
        with venue(sqlite_container(settings, ManualClock())).client() as client:
            r = client.post("/api/auth/login", json={"username": "boss", "password": "manager-pass-1"})
            assert r.status_code == 200
            assert ("secure" in r.headers["set-cookie"].lower()) is secure, r.headers["set-cookie"]


def test_prod_refuses_to_start_with_demo_accounts(tmp_path: Path) -> None:
    from soberpay.web.app import create_app
    from soberpay.web.demo import seed_demo

    container = sqlite_container(Settings(data_dir=tmp_path / "var", env="test"), ManualClock())
    seed_demo(create_app(container, run_rooms=False).state.web, enrol_faces=False)
    container.settings.env = "prod"
    with pytest.raises(ConfigError, match="staff 'manager'.*fresh data_dir"):
        create_app(container, run_rooms=False)
    container.close()


def test_serve_in_prod_on_the_demo_data_dir_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from soberpay.bootstrap import build_container
    from soberpay.web.app import create_app
    from soberpay.web.demo import seed_demo

    data_dir = tmp_path / "demo"
    container = build_container(Settings(data_dir=data_dir))
    seed_demo(create_app(container, run_rooms=False).state.web, enrol_faces=False)
    container.close()
    env = {**os.environ, "SOBERPAY_DATA_DIR": str(data_dir), "SOBERPAY_ENV": "prod"}
    proc = subprocess.run(
        [sys.executable, "-m", "soberpay", "serve"], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "demo accounts" in lines[0] and "fresh data_dir" in lines[0], proc.stderr
