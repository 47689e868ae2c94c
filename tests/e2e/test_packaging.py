"""Packaging: the bare install is the tested path — the wheel, installed into a fresh virtualenv outside the
repository, started with the systemd unit's exact ``ExecStart`` and its environment file, answers ``/readyz``.
Images cannot be built here (no base images offline): the Dockerfile is linted with hadolint and the
Dockerfile, compose file and units are checked for what the docs promise."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import need
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PREFIX = "/opt/soberpay/venv"  # where the unit expects the install; the test installs elsewhere
READY_TIMEOUT_S = 120


def _unit(path: Path) -> dict[str, str]:
    """The ``Key=value`` lines of a unit file (one value per key is enough for these units)."""
    entries = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            entries[key.strip()] = value.strip()
    return entries


def _environment_file(path: Path) -> dict[str, str]:
    """What systemd's ``EnvironmentFile=`` reads: ``KEY=value`` lines, ``#`` comments and blanks skipped."""
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    return env


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    need(found is not None, f"{name} is not installed")
    assert found is not None
    return found


def test_dockerfile_lints_clean_and_keeps_its_promises() -> None:
    proc = subprocess.run([_tool("hadolint"), str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (ROOT / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines()]
    assert [line for line in lines if line.startswith("FROM ")][-1].startswith("FROM python:3.11-slim")
    user = [line for line in lines if line.startswith("USER ")]
    assert user and user[-1] not in ("USER root", "USER 0", "USER 0:0")  # runs as a non-root user
    assert "HEALTHCHECK" in text and "/readyz" in text
    assert "-r requirements-models.txt" in text  # the model carriers are inside the image
    assert lines[-1] == 'CMD ["soberpay", "serve"]'
    assert "curl" not in text and "wget" not in text  # nothing fetched beyond the package installs
    env = {line.split("=", 1)[0].split()[-1] for line in lines if "SOBERPAY_" in line and "=" in line}
    assert {"SOBERPAY_ENV", "SOBERPAY_DATA_DIR", "SOBERPAY_KEY_DIR"} <= env


def test_compose_runs_the_service_on_postgresql_with_persistent_data_and_keys() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    db, app = compose["services"]["db"], compose["services"]["soberpay"]
    assert db["image"].startswith("postgres:") and "healthcheck" in db
    assert app["build"] == "." and app["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["environment"]["SOBERPAY_DATABASE_URL"].startswith("postgresql+psycopg://")
    mounts = {m.split(":")[1] for m in app["volumes"]}
    assert mounts == {"/var/lib/soberpay", "/var/lib/soberpay-keys"}  # the image's data and key dirs
    assert all(p.startswith("127.0.0.1:") for p in app["ports"])  # behind the HTTPS proxy only


@pytest.mark.parametrize("unit", ["soberpay.service", "soberpay-backup.service", "soberpay-backup.timer"])
def test_systemd_units_verify(unit: str, tmp_path: Path) -> None:
    analyze = _tool("systemd-analyze")
    for name in ("soberpay.service", "soberpay-backup.service", "soberpay-backup.timer"):
        text = (DEPLOY / name).read_text().replace(PREFIX + "/bin/soberpay", sys.executable)  # an executable
        (tmp_path / name).write_text(text)
    proc = subprocess.run(
        [analyze, "verify", "--man=no", str(tmp_path / unit)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


def _fresh_venv(where: Path, wheel: Path) -> Path:
    """A new virtualenv outside the repository holding the built wheel. Its third-party dependencies are
    linked from the running environment (no index here to download them again); ``pip check`` then proves
    the wheel's declared dependencies resolve there (an undeclared one is caught only by an image build).
    Nothing of the development install of soberpay (editable path, lab) is linked."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    site = Path(sysconfig.get_paths(vars={"base": str(where), "platbase": str(where)})["purelib"])
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if "soberpay" not in entry.name and not (site / entry.name).exists():
            (site / entry.name).symlink_to(entry)
    python = where / "bin" / "python"
    pip = [str(python), "-m", "pip"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the repository's sources must not count
    proc = subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", str(wheel)], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0 and "Successfully installed soberpay" in proc.stdout, proc.stdout + proc.stderr
    # The model carriers are installed --no-deps on purpose (requirements-models.txt), so pip check reports
    # their declared deps; soberpay's own must all be there.
    check = subprocess.run([*pip, "check"], env=env, capture_output=True, text=True, timeout=300).stdout.splitlines()
    assert not [line for line in check if line.startswith("soberpay ")], check
    return where


def test_bare_install_starts_with_the_units_exact_command_and_becomes_ready(tmp_path: Path) -> None:
    started = time.monotonic()
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), ROOT],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    venv = _fresh_venv(tmp_path / "opt" / "venv", next(tmp_path.glob("soberpay-*.whl")))

    unit = _unit(DEPLOY / "soberpay.service")
    assert unit["EnvironmentFile"] == "/etc/soberpay/soberpay.env" and unit["User"] == "soberpay"
    exec_start = unit["ExecStart"]
    assert exec_start.startswith(PREFIX + "/")
    command = shlex.split(exec_start.replace(PREFIX, str(venv), 1))  # only the install prefix is moved

    # The environment file as shipped; only its machine paths and the port move into the test's sandbox.
    env = _environment_file(DEPLOY / "soberpay.env")
    assert env["SOBERPAY_ENV"] == "prod" and env["SOBERPAY_WEB__HOST"] == "127.0.0.1"
    port = free_port()
    env |= {
        "SOBERPAY_DATA_DIR": str(tmp_path / "var-lib-soberpay"),
        "SOBERPAY_KEY_DIR": str(tmp_path / "var-lib-soberpay-keys"),
        "SOBERPAY_WEB__PORT": str(port),
    }
    # What systemd gives a service: a minimal PATH and no PYTHONPATH pointing into the repository.
    env |= {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    outside = tmp_path / "cwd"
    outside.mkdir()
    log = (tmp_path / "service.log").open("w")
    try:
        proc = subprocess.Popen(command, env=env, cwd=outside, stdout=log, stderr=subprocess.STDOUT)
    except BaseException:
        log.close()
        raise
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        status, body = 0, ""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                status, body = r.status_code, r.text
                if status == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        output = (tmp_path / "service.log").read_text()
        assert status == 200, f"readyz {status} {body}\n{output[-3000:]}"
        installed = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import soberpay; print(soberpay.__file__)"],
            env=env, cwd=outside, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert installed.stdout.startswith(str(venv)), installed.stdout  # the wheel, not the repository
        assert (tmp_path / "var-lib-soberpay" / "soberpay.db").is_file()
    finally:
        proc.send_signal(signal.SIGTERM)  # as systemd stops it (KillSignal=SIGTERM)
        try:
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
    # uvicorn shuts down cleanly, then re-raises SIGTERM; systemd counts that as a clean stop.
    output = (tmp_path / "service.log").read_text()
    assert proc.returncode in (0, -signal.SIGTERM) and "Application shutdown complete" in output, output[-2000:]
    print(f"bare install: wheel → venv → ready in {time.monotonic() - started:.1f} s")
