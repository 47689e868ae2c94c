"""Every module's ``__all__`` names exist, and every error class lives in ``soberpay.errors``.

Walks all ``soberpay`` modules with pkgutil. A module is skipped only when importing it needs an
optional dependency that a venue install leaves out (the ``train`` extra: torch, onnx); any other
import failure is a test failure.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import soberpay
from soberpay.errors import SoberpayError

# Optional dependencies (pyproject extras); a module that needs one is skipped where it is missing.
OPTIONAL = {"torch", "onnx"}

MODULE_NAMES = sorted(m.name for m in pkgutil.walk_packages(soberpay.__path__, prefix="soberpay."))


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{name} needs the optional dependency {exc.name}")
        raise


def test_the_walk_finds_the_package() -> None:
    assert "soberpay.errors" in MODULE_NAMES and "soberpay.domain.risk" in MODULE_NAMES


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_all_names_exist(name: str) -> None:
    module = _import(name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        return
    assert len(exported) == len(set(exported)), f"{name}.__all__ lists a name twice"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what the module does not define: {missing}"


def _subclasses(cls: type[SoberpayError]) -> list[type[SoberpayError]]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def test_errors_live_in_one_tree() -> None:
    for name in MODULE_NAMES:
        try:
            _import(name)
        except pytest.skip.Exception:
            continue
    outside = [
        f"{c.__module__}.{c.__qualname__}" for c in _subclasses(SoberpayError) if c.__module__ != "soberpay.errors"
    ]
    assert not outside, f"error classes outside soberpay.errors: {outside}"
