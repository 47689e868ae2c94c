"""The built wheel carries everything the demo needs to run from an installed package, and nothing of
the developer tools (training, evaluation, torch), which ship in the separate lab distribution."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = [
    "soberpay/migrations/env.py",
    "soberpay/migrations/script.py.mako",
    "soberpay/migrations/versions/0001_identity.py",
    "soberpay/migrations/versions/0004_web.py",
    "soberpay/assets/faces/obama.jpg",
    "soberpay/assets/faces/README.md",
    "soberpay/assets/menu.toml",
    "soberpay/assets/demo_room.avi",
    "soberpay/assets/pedestrians_vtest_120.avi",
    "soberpay/models/autoencoder/autoencoder_face.onnx",
    "soberpay/models/behaviour/behaviour_lstm.onnx",
    "soberpay/models/expression/expression_resnet1d.onnx",
    "soberpay/models/face_state/face_state_resnet.onnx",
    "soberpay/models/sobriety/fusion_svm.joblib",
    "soberpay/models/sobriety/pose_cnn.onnx",
    "soberpay/web/static/app.js",
    "soberpay/py.typed",
]


def _build_wheel(project: Path, out: Path) -> Path:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(project),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return next(out.glob("*.whl"))


def _imports(source: bytes) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_wheel_has_package_data_and_no_developer_tools(tmp_path: Path) -> None:
    with zipfile.ZipFile(_build_wheel(ROOT, tmp_path)) as wheel:
        names = set(wheel.namelist())
        sources = {n: wheel.read(n) for n in names if n.endswith(".py")}
    missing = [n for n in REQUIRED if n not in names]
    assert not missing, missing
    assert any(n.startswith("soberpay/web/templates/") and n.endswith(".html") for n in names)
    assert not any("/tests/" in n or n.startswith("tests/") for n in names)
    assert not any(n.startswith(("soberpay/training/", "soberpay/evaluation/", "soberpay_lab/")) for n in names)
    importing_torch = [n for n, src in sources.items() if any(m.split(".")[0] == "torch" for m in _imports(src))]
    assert not importing_torch, importing_torch


def test_lab_wheel_carries_training_evaluation_and_the_cli_entry_point(tmp_path: Path) -> None:
    with zipfile.ZipFile(_build_wheel(ROOT / "lab", tmp_path)) as wheel:
        names = set(wheel.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        published = wheel.read(entry_points).decode()
    assert "soberpay_lab/training/autoencoder.py" in names and "soberpay_lab/evaluation/faces.py" in names
    assert not any(n.startswith("soberpay/") for n in names)
    assert "[soberpay.cli]" in published and "soberpay_lab.cli:COMMAND_GROUPS" in published
