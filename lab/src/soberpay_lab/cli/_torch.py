"""One early, readable failure when the training dependencies are missing."""

from __future__ import annotations

import importlib.util

from soberpay.errors import ConfigError

INSTALL_HINT = "training needs torch and onnx: pip install -e ./lab"


def need_torch() -> None:
    """Fail before any work starts; torch itself is imported only inside ``soberpay_lab.training``.

    torch and onnx are dependencies of the lab, so this fires only on a ``--no-deps`` install or when
    the lab is used from a source path (PYTHONPATH) in an environment without them.
    """
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("onnx") is None:
        raise ConfigError(INSTALL_HINT)
