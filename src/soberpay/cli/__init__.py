"""``soberpay`` command line. Each area's module registers its commands on import."""

from __future__ import annotations

from soberpay.cli import (  # noqa: F401  (imported for their command registrations)
    evaluate_faces,
    evaluate_thermal,
    identity,
    payments,
    rooms,
    serve,
    sobriety,
    train_behaviour,
    train_face_model,
    train_sobriety,
    walkthrough,
)
from soberpay.cli._apps import app


def main() -> None:
    app()


__all__ = ["app", "main"]
