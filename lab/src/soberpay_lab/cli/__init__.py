"""The ``eval`` and ``train`` command groups the runtime ``soberpay`` CLI mounts.

``COMMAND_GROUPS`` is the object the ``soberpay.cli`` entry point names (``lab/pyproject.toml``):
a mapping of top-level command name to typer group. Importing this module must stay cheap and
torch-free (every ``soberpay`` invocation on a dev install imports it); commands import torch and
the training code only when they run.
"""

from __future__ import annotations

from collections.abc import Mapping

import typer

from soberpay_lab.cli._apps import eval_app, train_app

# Bound before the command modules are imported: they import ``soberpay.cli``, which mounts the lab's
# groups while this module is still initialising. The groups are filled in below, before any command runs.
COMMAND_GROUPS: Mapping[str, typer.Typer] = {"eval": eval_app, "train": train_app}

from soberpay_lab.cli import (  # noqa: E402, F401  (imported for their command registrations)
    evaluate_faces,
    evaluate_fusion,
    evaluate_liveness,
    evaluate_thermal,
    train_behaviour,
    train_face_model,
    train_sobriety,
)

__all__ = ["COMMAND_GROUPS"]
