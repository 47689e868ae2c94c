"""The developer command groups: mounted from the lab when it is there, a one-line hint when it is not."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import typer
from typer.testing import CliRunner

from soberpay.cli import app
from soberpay.cli.plugins import ENTRY_POINT_GROUP, LAB_HINT, register_groups


def test_cli_lists_the_lab_groups_with_their_commands() -> None:
    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0, top.output
    assert "eval" in top.output and "train" in top.output
    assert "not installed" not in top.output
    evals = runner.invoke(app, ["eval", "--help"])
    assert evals.exit_code == 0 and "faces" in evals.output and "thermal" in evals.output
    trains = runner.invoke(app, ["train", "--help"])
    assert all(c in trains.output for c in ("face-model", "behaviour", "sobriety"))
    sobriety = runner.invoke(app, ["train", "sobriety", "--help"])
    assert all(c in sobriety.output for c in ("thermal", "expression", "fusion", "pose-cnn"))


def test_without_the_lab_eval_and_train_print_the_install_hint() -> None:
    bare = typer.Typer()
    bare.command("walkthrough")(lambda: None)
    register_groups(bare, {})
    for args in (["eval", "faces", "--dataset", "x", "--json"], ["train", "--help"], ["eval"]):
        result = CliRunner().invoke(bare, args)
        assert result.exit_code == 2, result.output
        assert LAB_HINT in " ".join(result.output.split())


def test_groups_published_by_any_distribution_are_mounted(tmp_path: Path) -> None:
    # A real (if tiny) installed distribution on sys.path, found by importlib.metadata like pip's would be.
    dist = tmp_path / "soberpay_fake_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: soberpay-fake-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nfake = soberpay_fake_plugin:GROUPS\n")
    (tmp_path / "soberpay_fake_plugin.py").write_text(
        textwrap.dedent(
            """
            import typer

            hello = typer.Typer()
            hello.command("hello")(lambda: print("hello from a plugin"))
            hello.command("again")(lambda: print("again"))
            GROUPS = {"fake": hello}
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    proc = subprocess.run(
        [sys.executable, "-c", "from soberpay.cli import app; app()", "fake", "hello"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "hello from a plugin"


def test_importing_the_lab_before_the_runtime_cli_still_mounts_its_groups() -> None:
    # The lab's command modules import soberpay.cli, which mounts the lab while it is half-imported.
    script = "import soberpay_lab.cli.train_behaviour\nfrom soberpay.cli import app\napp()"
    proc = subprocess.run([sys.executable, "-c", script, "eval", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "faces" in proc.stdout and "thermal" in proc.stdout
