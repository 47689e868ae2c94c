"""CLI commands: identity (registered on import by soberpay.cli)."""

from __future__ import annotations
