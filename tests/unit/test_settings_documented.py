"""Every setting has a description: the configuration page of the docs site is generated from them."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel

from soberpay.config import Settings


def leaf_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str | None]]:
    for name, info in model.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            yield from leaf_fields(info.annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", info.description


def test_every_setting_has_a_description() -> None:
    undocumented = [name for name, description in leaf_fields(Settings) if not description]
    assert undocumented == []
