"""1:N search latency: NumpyTemplateIndex vs plain numpy brute force, on clustered synthetic templates.

Run:  .venv/bin/python benchmarks/bench_index.py [--sizes 10000 100000]
  or: .venv/bin/python -m pytest -m slow benchmarks/bench_index.py -s

Data is *synthetic* and clustered the way real galleries are: each guest has a random 128-d centre
and 5 templates = centre + noise, tuned so genuine cosines sit around 0.7 and impostors near 0
(uniform random vectors would make every neighbour meaningless). Queries are fresh samples of
enrolled guests. The baseline is what one would write by hand: full matrix–vector product, then
the best score per guest with ``np.maximum.at`` and a full sort. Both must return the same top-2
guests (checked); the ratio is printed, nothing about speed is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
import pytest

from soberpay.adapters.index import NumpyTemplateIndex

DIM = 128
PER_GUEST = 5


def synthetic_clustered_templates(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(templates, guest ids, centres): n templates, PER_GUEST per guest, L2-normalised float32."""
    rng = np.random.default_rng(seed)
    n_guests = n // PER_GUEST
    centres = rng.normal(size=(n_guests, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    guests = np.repeat(np.arange(n_guests), PER_GUEST)
    noise = rng.normal(scale=0.055, size=(n_guests * PER_GUEST, DIM)).astype(np.float32)
    t = centres[guests] + noise
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    return t, guests, centres


def baseline_search(mat: np.ndarray, guests: np.ndarray, n_guests: int, q: np.ndarray, k: int) -> list[int]:
    sims = mat @ q
    best = np.full(n_guests, -np.inf, dtype=np.float32)
    np.maximum.at(best, guests, sims)
    return [int(g) for g in np.argsort(-best)[:k]]


def run(sizes: list[int], n_queries: int = 200) -> list[dict[str, Any]]:
    rows = []
    rng = np.random.default_rng(1)
    for n in sizes:
        mat, guests, centres = synthetic_clustered_templates(n)
        n_guests = len(centres)
        idx = NumpyTemplateIndex(DIM)
        t0 = time.perf_counter()
        for g in range(n_guests):
            idx.add_many(str(g), mat[g * PER_GUEST : (g + 1) * PER_GUEST])
        build_s = time.perf_counter() - t0
        who = rng.integers(n_guests, size=n_queries)
        queries = centres[who] + rng.normal(scale=0.055, size=(n_queries, DIM)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        ours, base, agree, genuine, impostor = [], [], 0, [], []
        for q in queries:
            t0 = time.perf_counter()
            hits = idx.search(q, k=2)
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ref = baseline_search(mat, guests, n_guests, q, 2)
            base.append(time.perf_counter() - t0)
            agree += [int(h.key) for h in hits] == ref
            genuine.append(hits[0].score)
            impostor.append(hits[1].score)
        ms_ours = 1000 * statistics.median(ours)
        ms_base = 1000 * statistics.median(base)
        rows.append(
            {
                "templates": n,
                "guests": n_guests,
                "build_s": build_s,
                "ms_ours": ms_ours,
                "ms_baseline": ms_base,
                "speedup": ms_base / ms_ours,
                "agreement": agree / n_queries,
                "median_top1": float(np.median(genuine)),
                "median_top2": float(np.median(impostor)),
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print("\n| templates | guests | build s | ours ms/query | baseline ms/query | speed-up | same top-2 |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['templates']:,} | {r['guests']:,} | {r['build_s']:.2f} | {r['ms_ours']:.2f} | "
            f"{r['ms_baseline']:.2f} | {r['speedup']:.1f}× | {100 * r['agreement']:.0f}% |"
        )
    for r in rows:
        print(
            f"{r['templates']:,}: median best-guest cosine {r['median_top1']:.2f}, second guest {r['median_top2']:.2f}"
        )


@pytest.mark.slow
def test_bench_index() -> None:
    rows = run([10_000, 100_000], n_queries=50)
    print_table(rows)
    assert all(r["agreement"] == 1.0 for r in rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    print_table(run(args.sizes, args.queries))
