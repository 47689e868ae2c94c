"""CLI commands: train_behaviour (registered on import by soberpay.cli)."""

from __future__ import annotations
