"""Load the menu from a TOML or CSV file (default: the sample KTV menu bundled in ``soberpay.assets``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from soberpay.domain.catalogue import Catalogue, parse_catalogue_csv, parse_catalogue_toml
from soberpay.errors import InvalidInput, NotFound

MAX_MENU_BYTES = 2_000_000


def default_menu_text() -> str:
    return resources.files("soberpay.assets").joinpath("menu.toml").read_text(encoding="utf-8")


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    if path is None:
        return parse_catalogue_toml(default_menu_text(), "sample menu")
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"menu file not found: {p}")
    if p.stat().st_size > MAX_MENU_BYTES:
        raise InvalidInput(f"menu file is too large (> {MAX_MENU_BYTES} bytes)")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("menu file is not UTF-8 text") from None
    suffix = p.suffix.lower()
    if suffix == ".toml":
        return parse_catalogue_toml(text, p.stem)
    if suffix == ".csv":
        return parse_catalogue_csv(text, p.stem)
    raise InvalidInput("menu file must be .toml or .csv")
