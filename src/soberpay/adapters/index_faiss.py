"""In-process approximate 1:N index: FAISS ``IndexHNSWFlat`` (inner product on normalised vectors).

For one big node whose gallery outgrows exact search. The graph holds full float32 vectors, so the
scores FAISS returns for the candidates it finds are exact; only *which* candidates it finds is
approximate (recall, measured in ``benchmarks/bench_index.py``). HNSW cannot delete, so removed rows
become tombstones filtered out of results, and the graph is rebuilt from the live rows once a fifth
of it is dead (under the lock: at 10⁶ rows that rebuild takes minutes). The identity service loads
it from the database at start and keeps it in step with the audited template changes, like the
exact index.
"""

from __future__ import annotations

import threading
from collections import defaultdict

import faiss
import numpy as np
import numpy.typing as npt

from soberpay.adapters.index import normalise
from soberpay.ports import Embedding, IndexHit

__all__ = ["FaissHnswTemplateIndex"]


class FaissHnswTemplateIndex:
    def __init__(self, *, m: int = 32, ef_construction: int = 80, ef_search: int = 64, candidates: int = 64) -> None:
        self._m, self._ef_construction, self._ef_search = m, ef_construction, ef_search
        self._candidates = candidates
        self._dim: int | None = None
        self._index: faiss.IndexHNSWFlat | None = None
        self._row_key: list[str | None] = []  # key per graph row; None = tombstone
        self._rows: dict[str, list[int]] = defaultdict(list)
        self._dead = 0
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._row_key) - self._dead

    def _new_index(self, dim: int) -> faiss.IndexHNSWFlat:
        index = faiss.IndexHNSWFlat(dim, self._m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = self._ef_construction
        return index

    def add(self, key: str, embedding: Embedding) -> None:
        self.add_many(key, [embedding])

    def add_many(self, key: str, embeddings: list[Embedding]) -> None:
        with self._lock:
            block = np.stack([normalise(e, self._dim) for e in embeddings]) if embeddings else None
            if block is None:
                return
            if self._index is None:
                self._dim = int(block.shape[1])
                self._index = self._new_index(self._dim)
            start = len(self._row_key)
            self._index.add(block)
            self._row_key.extend([key] * len(block))
            self._rows[key].extend(range(start, start + len(block)))

    def remove(self, key: str) -> None:
        with self._lock:
            for row in self._rows.pop(key, []):
                self._row_key[row] = None
                self._dead += 1
            if self._dead > max(1024, len(self._row_key) // 5):
                self._rebuild()

    def _rebuild(self) -> None:
        assert self._index is not None and self._dim is not None
        live = [r for r, k in enumerate(self._row_key) if k is not None]
        vectors = self._index.reconstruct_batch(np.asarray(live, dtype=np.int64)) if live else None
        keys = [self._row_key[r] for r in live]
        self._index, self._row_key, self._rows, self._dead = self._new_index(self._dim), [], defaultdict(list), 0
        if vectors is not None:
            self._index.add(vectors)
            self._row_key = list(keys)
            for row, k in enumerate(keys):
                assert k is not None
                self._rows[k].append(row)

    def search(self, embedding: Embedding, k: int = 2) -> list[IndexHit]:
        with self._lock:
            if self._index is None or len(self) == 0 or k <= 0:
                return []
            q: npt.NDArray[np.float32] = normalise(embedding, self._dim)[None, :]
            # Over-fetch: a guest owns several rows, and tombstones (under a fifth of the graph) still
            # sit in it, spread like the live rows except a removed guest's own few.
            total = len(self._row_key)
            n = min(total, self._candidates * total // len(self) + 8 * k)
            self._index.hnsw.efSearch = max(self._ef_search, n)  # under the lock: no other search shares it
            scores, rows = self._index.search(q, n)
            best: dict[str, float] = {}
            for score, row in zip(scores[0].tolist(), rows[0].tolist(), strict=True):
                key = self._row_key[row] if row >= 0 else None
                if key is not None and score > best.get(key, -2.0):
                    best[key] = score
            ranked = sorted(best.items(), key=lambda kv: kv[1], reverse=True)[:k]
            return [IndexHit(key=key, score=float(score)) for key, score in ranked]
