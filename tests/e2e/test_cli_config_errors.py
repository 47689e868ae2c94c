"""A bad setting (environment, TOML file) is one line per field and exit code 2, for any command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from soberpay.cli import _common, app


@pytest.mark.parametrize("command", [["demo", "--no-enrol"], ["serve"], ["guests"]])
def test_out_of_range_settings_are_one_line_each_and_exit_2(
    tmp_path: Path, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_common, "_container", None)  # settings are loaded afresh, as in a new process
    env = {
        "SOBERPAY_DATA_DIR": str(tmp_path / "var"),
        "SOBERPAY_WEB__PORT": "99999",
        "SOBERPAY_IDENTITY__MIN_MARGIN": "3",
    }
    result = CliRunner().invoke(app, command, env=env)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 2, result.output
    assert any("web.port" in line and "99999" in line for line in lines)
    assert any("identity.min_margin" in line for line in lines)
    assert "Traceback" not in result.output


def test_bad_toml_through_the_real_entry_point(tmp_path: Path) -> None:
    config = tmp_path / "soberpay.toml"
    config.write_text('env = "production"\n[web]\nbogus = 1\n')
    proc = subprocess.run(
        [sys.executable, "-m", "soberpay", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SOBERPAY_DATA_DIR": str(tmp_path / "var")},
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and "env:" in lines[0] and "web.bogus" in lines[1], proc.stderr
