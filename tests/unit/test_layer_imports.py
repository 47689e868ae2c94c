"""Rooms out of the web: the web package imports no OpenCV, model runtime or room pipeline, and the
sobriety service imports no array, database or adapter code (frames are opaque to it)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import soberpay

SRC = Path(soberpay.__file__).resolve().parent
RUNTIMES = {"cv2", "mediapipe", "onnxruntime", "torch", "dlib"}
WEB_FORBIDDEN = RUNTIMES | {
    "soberpay.adapters.vision",
    "soberpay.adapters.sobriety",
    "soberpay.rooms.pipeline",
    "soberpay.rooms.worker",
}
SERVICE_FORBIDDEN = RUNTIMES | {"numpy", "sqlalchemy", "fastapi", "starlette", "soberpay.adapters", "soberpay.web"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):  # includes imports inside functions
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _offenders(paths: list[Path], forbidden: set[str]) -> list[str]:
    return [
        f"{p.relative_to(SRC)}: {name}"
        for p in paths
        for name in sorted(_imports(p))
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


def test_web_package_imports_no_vision_code() -> None:
    assert _offenders(sorted((SRC / "web").rglob("*.py")), WEB_FORBIDDEN) == []


def test_sobriety_service_is_pure() -> None:
    assert _offenders([SRC / "services" / "sobriety.py"], SERVICE_FORBIDDEN) == []


def test_importing_the_web_app_and_rooms_loads_no_opencv() -> None:
    code = (
        "import sys, soberpay.web.app, soberpay.web.asgi, soberpay.rooms\n"
        "from soberpay.web.routes import guests, health, pages, purchases, rooms, staff\n"
        "print(sorted(m for m in ('cv2', 'mediapipe', 'onnxruntime', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr
