"""1:N search per backend (exact numpy, FAISS HNSW, pgvector HNSW) against numpy brute force.

Run:  .venv/bin/python benchmarks/bench_index.py [--sizes 10000 100000] [--pg-url URL]
  or: SOBERPAY_TEST_PG_URL=… .venv/bin/python -m pytest -m slow benchmarks/bench_index.py -s

Data is SYNTHETIC, shaped on what SFace gives on real faces (benchmarks/impostor_scores.py: template
pairs of one person ≈ 0.82 cosine, of two people 0.10 ± 0.095): each guest has a centre with a
common component (the impostor mean) in a 57-d random subspace (the impostor spread), and 5 templates
= centre + isotropic noise of varying power (the genuine mean and spread); the run prints the
cosines it produced. Queries are fresh samples of enrolled guests. Per backend: build time, memory,
p50/p99 latency, recall (top-1 guest equals exact search's), and the speed ratio against brute force
timed in the same run (full matrix–vector product, best score per guest with ``np.maximum.at``, argsort).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pytest

DIM = 128
PER_GUEST = 5
SUBSPACE = 57
COMMON = 0.122  # centre·centre mean (template-level impostor mean ≈ 0.10 after the noise)
NOISE_POWER = 0.22  # mean squared template noise (template-level genuine cosine ≈ 0.82 ± 0.1)


def gallery(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """(templates, guest of each template, centres, sample(guests) → fresh probe templates)."""
    rng = np.random.default_rng(seed)
    n_guests = n // PER_GUEST
    basis = np.linalg.qr(rng.normal(size=(DIM, SUBSPACE)))[0].T.astype(np.float32)  # SUBSPACE × DIM
    common = rng.normal(size=DIM).astype(np.float32)
    common /= np.linalg.norm(common)
    own = rng.normal(size=(n_guests, SUBSPACE)).astype(np.float32) @ basis
    own /= np.linalg.norm(own, axis=1, keepdims=True)
    centres = np.sqrt(COMMON) * common + np.sqrt(1 - COMMON) * own

    def sample(who: np.ndarray) -> np.ndarray:
        # Capture quality varies (pose, light): the noise power per template is gamma-distributed.
        scale = np.sqrt(rng.gamma(2.0, NOISE_POWER / 2.0, size=(len(who), 1)) / DIM).astype(np.float32)
        t = centres[who] + scale * rng.normal(size=(len(who), DIM)).astype(np.float32)
        out: np.ndarray = (t / np.linalg.norm(t, axis=1, keepdims=True)).astype(np.float32)
        return out

    guests = np.repeat(np.arange(n_guests), PER_GUEST)
    return sample(guests), guests, centres, sample


def brute_force(mat: np.ndarray, guests: np.ndarray, n_guests: int, q: np.ndarray) -> int:
    best = np.full(n_guests, -np.inf, dtype=np.float32)
    np.maximum.at(best, guests, mat @ q)
    return int(np.argsort(-best)[0])


def in_process_mb(idx: Any) -> float:
    """Bytes the index holds: the float32 matrix, or FAISS's serialised graph + vectors."""
    import faiss

    if getattr(idx, "_mat", None) is not None:
        return float(idx._mat[: len(idx)].nbytes) / 2**20
    return float(len(faiss.serialize_index(idx._index))) / 2**20


class PgBench:
    """The real migrated schema; bulk load by COPY with the HNSW index dropped, then built."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine, text

        from soberpay.adapters.db.migrate import upgrade

        engine = create_engine(url)
        with engine.begin() as c:
            c.execute(text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))
        upgrade(url)
        self.engine, self.text = engine, text

    def load(self, mat: np.ndarray, guests: np.ndarray) -> tuple[float, float]:
        text = self.text
        with self.engine.begin() as c:
            # Bulk load without template rows: the vectors stand alone here.
            fk = "fk_face_template_vectors_template_id"
            c.execute(text(f"ALTER TABLE face_template_vectors DROP CONSTRAINT IF EXISTS {fk}"))
            c.execute(text("DROP INDEX IF EXISTS ix_face_template_vectors_hnsw"))
            c.execute(text("TRUNCATE face_template_vectors"))
        buf = io.StringIO()
        for i, (g, v) in enumerate(zip(guests.tolist(), mat.tolist(), strict=True)):
            buf.write(f"{i}\t{g}\tsface\t[{','.join(f'{x:.7g}' for x in v)}]\n")
        t0 = time.perf_counter()
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy("COPY face_template_vectors FROM STDIN") as cp:  # type: ignore[attr-defined]
                cp.write(buf.getvalue())
            cur.execute("SET maintenance_work_mem = '1GB'")
            cur.execute(
                "CREATE INDEX ix_face_template_vectors_hnsw ON face_template_vectors "
                "USING hnsw ((embedding::halfvec(128)) halfvec_ip_ops) WITH (m = 16, ef_construction = 64)"
            )
            cur.execute("ANALYZE face_template_vectors")
            raw.commit()
        finally:
            raw.close()
        build = time.perf_counter() - t0
        with self.engine.connect() as c:
            mb = c.scalar(text("SELECT pg_total_relation_size('face_template_vectors')")) / 2**20
        return build, float(mb)


def build_in_process(idx: Any, mat: np.ndarray, n_guests: int) -> tuple[Any, float, float]:
    t0 = time.perf_counter()
    for g in range(n_guests):
        idx.add_many(str(g), list(mat[g * PER_GUEST : (g + 1) * PER_GUEST]))
    return idx, time.perf_counter() - t0, in_process_mb(idx)


def run(sizes: list[int], n_queries: int, pg_url: str | None) -> list[dict[str, Any]]:
    from soberpay.adapters.index import NumpyTemplateIndex
    from soberpay.adapters.index_faiss import FaissHnswTemplateIndex

    rows: list[dict[str, Any]] = []
    rng = np.random.default_rng(1)
    pg = PgBench(pg_url) if pg_url else None
    for n in sizes:
        mat, guests, centres, sample = gallery(n)
        n_guests = len(centres)
        who = rng.integers(n_guests, size=n_queries)
        queries = sample(who)
        probe_impostor = sample(rng.integers(n_guests, size=2000))
        cos = probe_impostor @ mat[:2000].T
        m = min(n_guests, 2000)
        gen = np.einsum("ij,ij->i", sample(np.arange(m)), mat[: m * PER_GUEST : PER_GUEST])
        print(
            f"\n{n:,} templates: synthetic genuine cosine {gen.mean():.2f} ± {gen.std():.2f}, "
            f"pairwise {cos.mean():.2f} ± {cos.std():.2f} (mostly impostor)"
        )
        truth, brute = [], []
        for q in queries:
            t0 = time.perf_counter()
            truth.append(brute_force(mat, guests, n_guests, q))
            brute.append(time.perf_counter() - t0)
        brute_p50 = 1000 * float(np.median(brute))
        backends: list[tuple[str, Callable[[np.ndarray, np.ndarray, int], tuple[Any, float, float]]]] = []

        def in_process(make: Callable[[], Any]) -> Callable[[np.ndarray, np.ndarray, int], tuple[Any, float, float]]:
            return lambda templates, _owners, count: build_in_process(make(), templates, count)

        backends.append(("memory (exact numpy)", in_process(lambda: NumpyTemplateIndex(DIM))))
        backends.append(("hnsw (FAISS, m=32)", in_process(FaissHnswTemplateIndex)))
        if pg is not None:
            from soberpay.adapters.index_pgvector import PgVectorTemplateIndex

            def build_pg(templates: np.ndarray, owners: np.ndarray, _count: int) -> tuple[Any, float, float]:
                assert pg is not None
                build, mb = pg.load(templates, owners)
                return PgVectorTemplateIndex(pg.engine, "sface"), build, mb

            backends.append(("pgvector (HNSW halfvec, m=16)", build_pg))
        for name, build in backends:
            idx, build_s, mem_mb = build(mat, guests, n_guests)
            lat, agree = [], 0
            for q, t in zip(queries, truth, strict=True):
                t0 = time.perf_counter()
                hits = idx.search(q, k=2)
                lat.append(time.perf_counter() - t0)
                agree += int(hits[0].key) == t
            p50, p99 = 1000 * float(np.median(lat)), 1000 * float(np.quantile(lat, 0.99))
            rows.append(
                {
                    "templates": n,
                    "backend": name,
                    "build_s": build_s,
                    "memory_mb": mem_mb,
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "recall": agree / n_queries,
                    "brute_p50_ms": brute_p50,
                    "speedup": brute_p50 / p50,
                }
            )
            print_row(rows[-1])
            del idx
    return rows


HEADER = (
    "| templates | backend | build s | memory MB | p50 ms | p99 ms | recall vs exact | brute force p50 ms "
    "| speed ratio |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|"
)


def print_row(r: dict[str, Any]) -> None:
    print(
        f"| {r['templates']:,} | {r['backend']} | {r['build_s']:.1f} | {r['memory_mb']:.0f} | {r['p50_ms']:.2f} | "
        f"{r['p99_ms']:.2f} | {r['recall']:.3f} | {r['brute_p50_ms']:.2f} | {r['speedup']:.1f}× |"
    )


def header() -> None:
    print(f"\n{date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} cores\n{HEADER}")


@pytest.mark.slow
def test_bench_index() -> None:
    header()
    rows = run([10_000, 100_000], 200, os.environ.get("SOBERPAY_TEST_PG_URL"))
    assert all(r["recall"] >= 0.9 for r in rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--pg-url", default=os.environ.get("SOBERPAY_TEST_PG_URL"))
    args = parser.parse_args()
    header()
    run(args.sizes, args.queries, args.pg_url)
