"""pgvector 1:N at scale: one HNSW build, then the search settings real systems tune, against numpy.

Run (one build; at 1M it takes many minutes, so run it niced in the background):
    SOBERPAY_TEST_PG_OPTS="-c shared_buffers=2GB" SOBERPAY_TEST_PG_PORT=… source scripts/pg-cluster.sh
    nice -n 10 .venv/bin/python benchmarks/bench_index_pg.py --size 1000000

SYNTHETIC gallery from ``bench_index.gallery`` (clustered, calibrated to SFace genuine/impostor
cosines). The table has the product's layout (migration 0015: ``vector(128)`` rows, HNSW on the
``halfvec`` cast with inner product, exact float32 re-rank of the candidates in the query); it is
bulk-loaded by COPY and the index built after, with ``maintenance_work_mem`` large enough for the
graph and one parallel worker. Rows per search setting: p50/p99, recall (top-1 guest equals exact
numpy's), the true identity first (the probe's own guest ranks first, for exact search too), and
the speed ratio against numpy brute force timed in the same run. The narrowed row is the
phone-digit path: a btree on the guest's last 4 digits, exact inner product over those rows only.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date
from typing import Any

import numpy as np
from bench_index import DIM, brute_force, gallery
from sqlalchemy import Engine, create_engine, text

SEARCH = """
    SELECT guest_id, -(embedding <#> CAST(:q AS vector(128))) AS score FROM (
        SELECT guest_id, embedding FROM face_template_vectors
        ORDER BY CAST(embedding AS halfvec(128)) <#> CAST(:q AS halfvec(128)) LIMIT :candidates
    ) AS near ORDER BY score DESC
"""
# The guests first, then their rows by the guest_id index (as the product does: phone lookup, then the
# guests' templates); written as a join the planner misjudges guest_id's selectivity and scans every row.
NARROWED = """
    SELECT guest_id, -(embedding <#> CAST(:q AS vector(128))) AS score FROM face_template_vectors
    WHERE guest_id = ANY(ARRAY(SELECT guest_id FROM bench_phone WHERE last4 = CAST(:last4 AS char(4))))
    ORDER BY score DESC LIMIT 10
"""
SETTINGS: list[tuple[str, dict[str, str], int]] = [
    ("HNSW halfvec ef_search=40, re-rank 40", {"hnsw.ef_search": "40"}, 40),
    ("HNSW halfvec ef_search=100, re-rank 100 (default)", {"hnsw.ef_search": "100"}, 100),
    ("HNSW halfvec ef_search=200, re-rank 200", {"hnsw.ef_search": "200"}, 200),
    ("HNSW halfvec ef_search=400, re-rank 400", {"hnsw.ef_search": "400"}, 400),
    # Iterative scan (0.8) only matters when a filter drops candidates; kept to show it costs nothing here.
    (
        "HNSW halfvec ef_search=100 + iterative_scan=relaxed_order, re-rank 200",
        {"hnsw.ef_search": "100", "hnsw.iterative_scan": "relaxed_order"},
        200,
    ),
]


def literal(v: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in v.tolist()) + "]"


def load(engine: Engine, mat: np.ndarray, guests: np.ndarray, last4: np.ndarray) -> dict[str, float]:
    with engine.begin() as c:
        c.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
        c.execute(text("DROP TABLE IF EXISTS face_template_vectors, bench_phone"))
        c.execute(
            text(
                "CREATE TABLE face_template_vectors (template_id integer PRIMARY KEY, guest_id varchar(32) NOT NULL,"
                f" embedder varchar(32) NOT NULL, embedding vector({DIM}) NOT NULL)"
            )
        )
        c.execute(text("CREATE TABLE bench_phone (guest_id varchar(32) PRIMARY KEY, last4 char(4) NOT NULL)"))
    raw = engine.raw_connection()
    out: dict[str, float] = {}
    try:
        cur = raw.cursor()
        t0 = time.perf_counter()
        with cur.copy("COPY face_template_vectors FROM STDIN") as cp:  # type: ignore[attr-defined]
            for start in range(0, len(mat), 20_000):  # chunks: the text form of 1M vectors is ~1.4 GB
                end = start + 20_000
                rows = zip(range(start, end), guests[start:end].tolist(), mat[start:end], strict=False)
                cp.write("".join(f"{i}\t{g}\tsface\t{literal(v)}\n" for i, g, v in rows))
        with cur.copy("COPY bench_phone FROM STDIN") as cp:  # type: ignore[attr-defined]
            cp.write("".join(f"{g}\t{d:04d}\n" for g, d in enumerate(last4.tolist())))
        cur.execute("CREATE INDEX ON face_template_vectors (guest_id)")
        cur.execute("CREATE INDEX ON bench_phone (last4)")
        raw.commit()
        out["load_s"] = time.perf_counter() - t0
        # The graph must fit maintenance_work_mem or the build slows sharply; one worker + the leader = 2 cores.
        cur.execute("SET maintenance_work_mem = '3GB'")
        cur.execute("SET max_parallel_maintenance_workers = 1")
        t0 = time.perf_counter()
        cur.execute(
            "CREATE INDEX ix_face_template_vectors_hnsw ON face_template_vectors "
            f"USING hnsw ((embedding::halfvec({DIM})) halfvec_ip_ops) WITH (m = 16, ef_construction = 64)"
        )
        raw.commit()
        out["build_s"] = time.perf_counter() - t0
        cur.execute("ANALYZE face_template_vectors")
        cur.execute("ANALYZE bench_phone")
        cur.execute("SELECT pg_relation_size('ix_face_template_vectors_hnsw'), pg_table_size('face_template_vectors')")
        index_b, table_b = cur.fetchone()  # type: ignore[misc]
        if _has_prewarm(cur):  # searches then measure a warm index, as on a serving node
            cur.execute("SELECT pg_prewarm('ix_face_template_vectors_hnsw')")
        raw.commit()
        out["index_mb"], out["table_mb"] = index_b / 2**20, table_b / 2**20
    finally:
        raw.close()
    return out


def _has_prewarm(cur: Any) -> bool:
    try:
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        return True
    except Exception:  # the extension is optional; without it the first queries warm the cache
        cur.connection.rollback()
        return False


def sizes_of(engine: Engine) -> dict[str, float]:
    """The sizes of an existing load (``--reuse``: search settings measured again without a rebuild)."""
    with engine.connect() as c:
        index_b, table_b = c.execute(
            text("SELECT pg_relation_size('ix_face_template_vectors_hnsw'), pg_table_size('face_template_vectors')")
        ).one()
    return {"load_s": float("nan"), "build_s": float("nan"), "index_mb": index_b / 2**20, "table_mb": table_b / 2**20}


def run(url: str, n: int, n_queries: int, reuse: bool = False) -> None:
    rng = np.random.default_rng(1)
    mat, guests, centres, sample = gallery(n)
    n_guests = len(centres)
    last4 = rng.integers(10_000, size=n_guests)
    who = rng.integers(n_guests, size=n_queries)
    queries = sample(who)
    truth, brute = [], []
    for q in queries:
        t0 = time.perf_counter()
        truth.append(brute_force(mat, guests, n_guests, q))
        brute.append(time.perf_counter() - t0)
    brute_p50 = 1000 * float(np.median(brute))
    exact_true = float(np.mean(np.array(truth) == who))
    engine = create_engine(url)
    sizes = sizes_of(engine) if reuse else load(engine, mat, guests, last4)
    print(
        f"\n{date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} cores; {n:,} templates, "
        f"{n_queries} queries; COPY {sizes['load_s']:.0f} s, HNSW build {sizes['build_s']:.0f} s, "
        f"index {sizes['index_mb']:.0f} MB, table {sizes['table_mb']:.0f} MB; "
        f"numpy brute force p50 {brute_p50:.1f} ms, "
        f"true identity first {exact_true:.3f}"
    )
    print("| search | p50 ms | p99 ms | recall vs exact | true identity first | speed ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    del mat
    with engine.connect() as c:
        for name, gucs, candidates in SETTINGS:
            for key, value in gucs.items():
                c.execute(text("SELECT set_config(:k, :v, false)"), {"k": key, "v": value})
            measure(c, name, SEARCH, queries, truth, who, brute_p50, lambda _i, ca=candidates: {"candidates": ca})
            c.execute(text("RESET ALL"))
        measure(
            c,
            "narrowed by last 4 phone digits (btree, exact)",
            NARROWED,
            queries,
            truth,
            who,
            brute_p50,
            lambda i: {"last4": f"{last4[who[i]]:04d}"},
        )


def measure(
    c: Any, name: str, sql: str, queries: np.ndarray, truth: list[int], who: np.ndarray, brute_p50: float, extra: Any
) -> None:
    stmt = text(sql)
    for q in queries[:10]:  # warm the cache and the plan
        c.execute(stmt, {"q": literal(q), **extra(0)}).all()
    lat, agree, right = [], 0, 0
    for i, q in enumerate(queries):
        params = {"q": literal(q), **extra(i)}
        t0 = time.perf_counter()
        rows = c.execute(stmt, params).all()
        lat.append(time.perf_counter() - t0)
        top = int(rows[0][0]) if rows else -1
        agree += top == truth[i]
        right += top == int(who[i])
    p50, p99 = 1000 * float(np.median(lat)), 1000 * float(np.quantile(lat, 0.99))
    n = len(queries)
    row = f"| {name} | {p50:.1f} | {p99:.1f} | {agree / n:.3f} | {right / n:.3f} | {brute_p50 / p50:.1f}× |"
    print(row, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--pg-url", default=os.environ.get("SOBERPAY_TEST_PG_URL"))
    parser.add_argument("--reuse", action="store_true", help="search the gallery a previous run loaded (same --size)")
    args = parser.parse_args()
    run(args.pg_url, args.size, args.queries, args.reuse)
