"""The domain core imports no framework, database, model runtime or numeric library."""

from __future__ import annotations

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "src" / "soberpay" / "domain"
FORBIDDEN = {
    "numpy", "cv2", "sqlalchemy", "fastapi", "starlette", "onnxruntime", "torch", "mediapipe",
    "sklearn", "scipy", "pydantic", "pydantic_settings", "typer", "rich", "dlib", "PIL", "alembic",
    "soberpay.adapters", "soberpay.services", "soberpay.web", "soberpay.cli", "soberpay.config",
}


def test_domain_imports_are_pure() -> None:
    offenders = []
    for path in sorted(DOMAIN.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                    offenders.append(f"{path.name}: {name}")
    assert not offenders, offenders
