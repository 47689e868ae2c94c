"""CLI commands: evaluate_faces (registered on import by soberpay.cli)."""

from __future__ import annotations
