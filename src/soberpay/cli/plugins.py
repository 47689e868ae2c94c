"""Command groups from other distributions: ``soberpay eval`` and ``soberpay train`` come from the lab.

The runtime wheel a venue installs carries no training or evaluation code. The developer
distribution ``soberpay-lab`` (``lab/`` in this repository) publishes its command groups in the
``soberpay.cli`` entry-point group; each entry point loads to a mapping of top-level command name
to typer group, and every group found is mounted on the root app, so the lab's commands keep their
names, flags and ``--json`` keys.

When the lab is not installed, ``eval`` and ``train`` still appear and print one line saying how to
get them, instead of typer's "No such command".

Entry points need an installed distribution; when the lab's groups were not published that way but
``soberpay_lab`` is importable (its sources on ``PYTHONPATH``), they are loaded directly so a source
checkout behaves like the dev install.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from importlib.metadata import entry_points

import typer

from soberpay.cli._common import fail

ENTRY_POINT_GROUP = "soberpay.cli"
LAB_HINT = "install the developer tools: pip install -e ./lab"
# Groups the lab provides; listed here only so the runtime can say how to get them.
LAB_GROUPS = {"eval": "Measure models on labelled data.", "train": "Train models."}


def discover_groups() -> dict[str, typer.Typer]:
    """Every command group published in the ``soberpay.cli`` entry points, plus an importable lab's."""
    groups: dict[str, typer.Typer] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        published: Mapping[str, typer.Typer] = entry_point.load()
        groups.update(published)
    if any(name not in groups for name in LAB_GROUPS) and importlib.util.find_spec("soberpay_lab") is not None:
        # Imported by name at run time: the runtime package must not depend on the lab.
        lab: Mapping[str, typer.Typer] = importlib.import_module("soberpay_lab.cli").COMMAND_GROUPS
        for name, group in lab.items():
            groups.setdefault(name, group)
    return groups


def _lab_missing() -> None:
    fail(LAB_HINT)


def register_groups(app: typer.Typer, groups: Mapping[str, typer.Typer]) -> None:
    """Mount ``groups`` on ``app``; a lab group that is missing becomes a one-line hint."""
    for name, group in groups.items():
        app.add_typer(group, name=name)
    for name, summary in LAB_GROUPS.items():
        if name not in groups:
            app.command(
                name,
                help=f"{summary} Developer tools, not installed: pip install -e ./lab",
                # Accept whatever the user typed after the group name so the hint, not a usage error, shows.
                context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                add_help_option=False,
            )(_lab_missing)


__all__ = ["ENTRY_POINT_GROUP", "LAB_GROUPS", "LAB_HINT", "discover_groups", "register_groups"]
