"""``soberpay`` command line. Each area's module registers its commands on import; the developer
command groups (``eval``, ``train``) are mounted from the lab distribution (see ``plugins``)."""

from __future__ import annotations

from soberpay.cli import (  # noqa: F401  (imported for their command registrations)
    identity,
    payments,
    rooms,
    serve,
    sobriety,
    walkthrough,
)
from soberpay.cli._apps import app
from soberpay.cli.plugins import discover_groups, register_groups

register_groups(app, discover_groups())


def main() -> None:
    app()


__all__ = ["app", "main"]
