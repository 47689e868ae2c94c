"""CLI commands: train_sobriety (registered on import by soberpay.cli)."""

from __future__ import annotations
