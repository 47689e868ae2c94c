"""The runtime package never imports the developer tools: no torch, no onnx, no ``soberpay_lab``.

The arrow runs one way: the lab (training, evaluation) imports the runtime for the code inference
shares with training; the runtime finds the lab's CLI groups only through entry points.
"""

from __future__ import annotations

import ast
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "src" / "soberpay"
FORBIDDEN = ("torch", "onnx", "soberpay_lab")


def test_runtime_modules_import_no_training_code() -> None:
    offenders = []
    for path in sorted(RUNTIME.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(RUNTIME)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert not offenders, offenders
    assert not (RUNTIME / "training").exists() and not (RUNTIME / "evaluation").exists()
