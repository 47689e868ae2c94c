"""One way to open a shipped ONNX model for inference: CPU provider, explicit thread counts.

``onnxruntime`` is imported here, on first use, so that importing an adapter loads nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def cpu_session(path: Path, *, intra_op_threads: int = 1, inter_op_threads: int | None = None) -> Any:
    """An ``onnxruntime.InferenceSession`` on ``path`` with the CPU provider; ``inter_op_threads``
    is left at the runtime default when ``None``."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = intra_op_threads
    if inter_op_threads is not None:
        opts.inter_op_num_threads = inter_op_threads
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


__all__ = ["cpu_session"]
