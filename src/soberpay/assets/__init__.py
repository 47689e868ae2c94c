"""Bundled sample media (small files) so the demo works from an installed package."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def asset_path(*parts: str) -> Path:
    return Path(str(files("soberpay.assets").joinpath(*parts)))


def read_asset(*parts: str) -> bytes:
    return asset_path(*parts).read_bytes()
