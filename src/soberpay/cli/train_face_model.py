"""CLI commands: train_face_model (registered on import by soberpay.cli)."""

from __future__ import annotations
