"""The service layer talks to ports only: no database, image, numeric or model-runtime library, no web
framework and no adapter module is imported by any module in ``soberpay.services``."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "src" / "soberpay" / "services"
FORBIDDEN = (
    "sqlalchemy", "cv2", "numpy", "onnxruntime", "torch", "mediapipe", "fastapi", "soberpay.adapters",
)  # fmt: skip


def _imports(path: Path) -> list[str]:
    """Absolute names of every import, relative ones resolved (``from ..adapters import x``)."""
    package = ["soberpay", *path.relative_to(SERVICES.parent).parent.parts]
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            names.append(".".join([*base, *([node.module] if node.module else [])]))
    return names


def _offences(path: Path) -> list[str]:
    return [n for n in _imports(path) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]


def test_service_modules_import_only_ports_and_domain() -> None:
    modules = sorted(SERVICES.rglob("*.py"))
    assert len(modules) > 5, "the scan found no service modules"
    offenders = {str(p.relative_to(SERVICES)): _offences(p) for p in modules}
    assert not {k: v for k, v in offenders.items() if v}

