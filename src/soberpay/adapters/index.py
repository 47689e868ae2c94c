"""Exact in-memory 1:N template index (the ``TemplateIndex`` port), numpy brute force.

Templates are rows of a preallocated float32 matrix that doubles when full; each row belongs to a
key (guest id) and a key may own several rows. ``search`` computes all cosine similarities with one
matrix–vector product, then returns the best score *per key* for the top-``k`` keys, so
``hits[0].score - hits[1].score`` is the margin of the best guest over the second-best *guest*
(not over the best guest's own second template).

Cost: 128-d float32, ≈ 0.3 ms per query at 10k templates and ≈ 10-15 ms at 100k on 2 busy cores
(see ``benchmarks/bench_index.py``); 512 B per template. Thread-safe (one lock). An approximate
index (FAISS/HNSW) can replace this class behind the same port when galleries reach millions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from soberpay.errors import InvalidInput
from soberpay.ports import Embedding, IndexHit

__all__ = ["NumpyTemplateIndex", "normalise"]


def normalise(embedding: Embedding, dim: int | None) -> npt.NDArray[np.float32]:
    """The embedding as a unit float32 vector; refuses a wrong dimension, zero or non-finite input."""
    v = np.asarray(embedding, dtype=np.float32).reshape(-1)
    if dim is not None and v.shape[0] != dim:
        raise InvalidInput(f"embedding has {v.shape[0]} dimensions, the index holds {dim}")
    norm = float(np.linalg.norm(v))
    if not np.isfinite(norm) or norm < 1e-12:
        raise InvalidInput("embedding is zero or not finite")
    out: npt.NDArray[np.float32] = v / norm
    return out


class NumpyTemplateIndex:
    """Exact cosine search over L2-normalised templates; several templates per key."""

    def __init__(self, dim: int | None = None, *, initial_capacity: int = 1024) -> None:
        self._dim = dim
        self._cap = max(1, initial_capacity)
        self._mat: npt.NDArray[np.float32] | None = None
        self._rows: npt.NDArray[np.int64] = np.zeros(self._cap, dtype=np.int64)  # key id per row
        self._n = 0
        self._key_ids: dict[str, int] = {}
        self._keys: list[str] = []
        self._counts: dict[int, int] = {}
        self._max_count = 0  # most templates held by one key (bounds the rows search must rank)
        self._lock = threading.RLock()

    # --- size / introspection -------------------------------------------------------------------

    def __len__(self) -> int:
        return self._n

    def __contains__(self, key: object) -> bool:
        with self._lock:
            kid = self._key_ids.get(key) if isinstance(key, str) else None
            return kid is not None and self._counts.get(kid, 0) > 0

    @property
    def dim(self) -> int | None:
        return self._dim

    def count(self, key: str) -> int:
        """Number of templates stored for ``key``."""
        with self._lock:
            kid = self._key_ids.get(key)
            return 0 if kid is None else self._counts.get(kid, 0)

    def keys(self) -> list[str]:
        with self._lock:
            return [self._keys[k] for k, c in self._counts.items() if c > 0]

    # --- mutation -------------------------------------------------------------------------------

    def _normalise(self, embedding: Embedding) -> npt.NDArray[np.float32]:
        return normalise(embedding, self._dim)

    def _ensure_capacity(self, extra: int) -> None:
        assert self._dim is not None
        need = self._n + extra
        if self._mat is None:
            self._cap = max(self._cap, need)
            self._mat = np.zeros((self._cap, self._dim), dtype=np.float32)
            self._rows = np.zeros(self._cap, dtype=np.int64)
            return
        if need <= self._cap:
            return
        cap = self._cap
        while cap < need:
            cap *= 2
        mat = np.zeros((cap, self._dim), dtype=np.float32)
        mat[: self._n] = self._mat[: self._n]
        rows = np.zeros(cap, dtype=np.int64)
        rows[: self._n] = self._rows[: self._n]
        self._mat, self._rows, self._cap = mat, rows, cap

    def add(self, key: str, embedding: Embedding) -> None:
        """Add one template for ``key`` (normalised on the way in)."""
        self.add_many(key, [embedding])

    def add_many(self, key: str, embeddings: Iterable[Embedding]) -> None:
        """Add several templates for one key in one go (all-or-nothing)."""
        if not isinstance(key, str) or not key:
            raise InvalidInput("index key must be a non-empty string")
        with self._lock:
            vecs = [np.asarray(e, dtype=np.float32).reshape(-1) for e in embeddings]
            if not vecs:
                return
            if self._dim is None:
                self._dim = int(vecs[0].shape[0])
            block = np.stack([self._normalise(v) for v in vecs])
            self._ensure_capacity(len(block))
            assert self._mat is not None
            kid = self._key_ids.get(key)
            if kid is None:
                kid = len(self._keys)
                self._key_ids[key] = kid
                self._keys.append(key)
            self._mat[self._n : self._n + len(block)] = block
            self._rows[self._n : self._n + len(block)] = kid
            self._n += len(block)
            self._counts[kid] = self._counts.get(kid, 0) + len(block)
            self._max_count = max(self._max_count, self._counts[kid])

    def remove(self, key: str) -> None:
        """Drop every template of ``key`` (no error if the key is absent)."""
        with self._lock:
            kid = self._key_ids.get(key)
            if kid is None or self._counts.get(kid, 0) == 0 or self._mat is None:
                return
            keep = self._rows[: self._n] != kid
            kept = int(keep.sum())
            self._mat[:kept] = self._mat[: self._n][keep]
            self._rows[:kept] = self._rows[: self._n][keep]
            self._mat[kept : self._n] = 0.0
            self._n = kept
            removed = self._counts.pop(kid)
            if removed >= self._max_count:
                self._max_count = max(self._counts.values(), default=0)

    def clear(self) -> None:
        with self._lock:
            self._n = 0
            self._counts.clear()
            self._max_count = 0
            self._key_ids.clear()
            self._keys.clear()

    # --- search ---------------------------------------------------------------------------------

    def search(self, embedding: Embedding, k: int = 2) -> list[IndexHit]:
        """Top-``k`` keys by their best template's cosine similarity, best first."""
        with self._lock:
            if self._n == 0 or k <= 0 or self._mat is None:
                return []
            q = self._normalise(embedding)
            sims = self._mat[: self._n] @ q
            rows = self._rows[: self._n]
            # The best k keys are found among the top (k × most templates per key) rows.
            m = min(self._n, k * self._max_count)
            if m < self._n:
                top = np.argpartition(sims, self._n - m)[self._n - m :]
            else:
                top = np.arange(self._n)
            top = top[np.argsort(-sims[top], kind="stable")]
            hits: list[IndexHit] = []
            seen: set[int] = set()
            for r in top:
                kid = int(rows[r])
                if kid in seen:
                    continue
                seen.add(kid)
                hits.append(IndexHit(key=self._keys[kid], score=float(sims[r])))
                if len(hits) == k:
                    break
            return hits
