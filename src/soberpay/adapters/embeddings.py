"""``EmbeddingCodec`` over numpy: templates are stored as raw little-endian float32 bytes."""

from __future__ import annotations

import numpy as np

from soberpay.ports import Embedding

__all__ = ["Float32EmbeddingCodec"]


class Float32EmbeddingCodec:
    def to_bytes(self, embedding: Embedding) -> bytes:
        return np.asarray(embedding, dtype="<f4").tobytes()

    def from_bytes(self, data: bytes) -> Embedding:
        return np.frombuffer(data, dtype="<f4").astype(np.float32)  # a writable copy

    def similarity(self, a: Embedding, b: Embedding) -> float:
        """Dot product: cosine similarity for the L2-normalised embeddings the embedders produce."""
        return float(np.dot(a, b))
