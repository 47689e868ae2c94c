"""Shared post-processing of embedder outputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from soberpay.errors import FaceError
from soberpay.ports import Embedding


def unit_embedding(raw: Any, model: str) -> Embedding:
    """Flatten to float32 and L2-normalise, so every embedder's scores are cosine similarities."""
    vec = np.asarray(raw, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vec))
    if not np.isfinite(norm) or norm < 1e-12:
        raise FaceError(f"{model} produced an empty embedding")
    out: Embedding = (vec / norm).astype(np.float32)
    return out
