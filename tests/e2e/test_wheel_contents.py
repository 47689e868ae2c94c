"""The built wheel carries everything the demo needs to run from an installed package."""

from __future__ import annotations

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


def test_wheel_has_package_data(tmp_path: Path) -> None:
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
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("soberpay-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [n for n in REQUIRED if n not in names]
    assert not missing, missing
    assert any(n.startswith("soberpay/web/templates/") and n.endswith(".html") for n in names)
    assert not any("/tests/" in n or n.startswith("tests/") for n in names)
