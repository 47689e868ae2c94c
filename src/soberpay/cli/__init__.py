"""``soberpay`` command line. Each area's module registers its commands on import; the developer
command groups (``eval``, ``train``) are mounted from the lab distribution (see ``plugins``)."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from soberpay.cli import (  # noqa: F401  (imported for their command registrations)
    backup,
    identity,
    index,
    payments,
    rooms,
    serve,
    sobriety,
    topups,
    walkthrough,
)
from soberpay.cli._apps import app
from soberpay.cli._common import fail_config
from soberpay.cli.plugins import discover_groups, register_groups

register_groups(app, discover_groups())


def main() -> None:
    # Commands without ``handle_errors`` (the lab's) load settings too: bad settings never show a traceback.
    try:
        app()
    except ValidationError as exc:
        try:
            fail_config(exc)
        except typer.Exit as stop:
            sys.exit(stop.exit_code)


__all__ = ["app", "main"]
