"""CLI commands: evaluate_thermal (registered on import by soberpay.cli)."""

from __future__ import annotations
