"""Genuine and impostor SFace cosines on real faces (ORL, 40 people × 10, plus the sample photos),
the basis of the gallery-size threshold and of the synthetic benchmark galleries.

Run:  .venv/bin/python benchmarks/impostor_scores.py   (writes benchmarks/results/impostor_scores.json)
  or: .venv/bin/python -m pytest -m slow benchmarks/impostor_scores.py -s

Every template-vs-template pair is scored (a 1:N search compares the probe with every template), so
"per comparison" below is per template pair. The empirical tail is measured down to ~1e-5 (there are
~80k impostor pairs); anything below that — everything a million-face gallery needs — is the normal
fit, an extrapolation that is *checked* against the measured tail, not proven.
"""

from __future__ import annotations

import json
import platform
import time
from datetime import date
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest

ORL = Path("/work/shared/data/orl_faces")
SAMPLES = Path("/work/shared/data/samples")
OUT = Path(__file__).parent / "results" / "impostor_scores.json"
SAMPLE_PEOPLE = {
    "obama": ["obama.jpg", "obama2.jpg", "obama3.jpg"],
    "biden": ["biden.jpg"],
    "hopper": ["grace_hopper.jpg"],
    "messi": ["messi5.jpg"],
}


def measure() -> dict[str, Any]:
    from soberpay.adapters.vision.sface import SFaceEmbedder
    from soberpay_lab.evaluation.faces import embed_dataset, list_dataset

    people = list_dataset(ORL) + [(p, [SAMPLES / f for f in files]) for p, files in SAMPLE_PEOPLE.items()]
    records, _ = embed_dataset(SFaceEmbedder(), people)
    kept = [r for r in records if r.embedding is not None]
    emb = np.stack([np.asarray(r.embedding, dtype=np.float64) for r in kept])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels = np.array([r.person for r in kept])
    sims = emb @ emb.T
    upper = np.triu_indices(len(kept), k=1)
    same = (labels[:, None] == labels[None, :])[upper]
    genuine, impostor = sims[upper][same], sims[upper][~same]
    mu, sd = float(impostor.mean()), float(impostor.std())
    fit = NormalDist(mu, sd)
    tail = {
        f"{k}sd": {"measured": float((impostor > mu + k * sd).mean()), "normal": 1 - fit.cdf(mu + k * sd)}
        for k in (2, 3, 4)
    }
    out: dict[str, Any] = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "images": len(kept),
        "skipped_no_face": len(records) - len(kept),
        "genuine": {
            "n": int(genuine.size),
            "mean": float(genuine.mean()),
            "std": float(genuine.std()),
            "p01": float(np.quantile(genuine, 0.01)),
        },
        "impostor": {
            "n": int(impostor.size),
            "mean": mu,
            "std": sd,
            "max": float(impostor.max()),
            "p999": float(np.quantile(impostor, 0.999)),
        },
        "tail_check": tail,
        "per_gallery": {},
    }
    for threshold in (0.421,):
        out["far_per_comparison_at_0421"] = {
            "measured": float((impostor >= threshold).mean()),
            "normal": 1 - fit.cdf(threshold),
        }
    for n in (10_000, 100_000, 1_000_000):
        t = max(0.421, mu + sd * NormalDist().inv_cdf(1 - 1e-3 / n))
        out["per_gallery"][str(n)] = {
            "expected_false_accepts_per_search_at_0421": n * (1 - fit.cdf(0.421)),
            "gallery_threshold_for_1e-3": t,
            "genuine_rejected_at_that_threshold": float((genuine < t).mean()),
        }
    return out


@pytest.mark.slow
def test_impostor_scores() -> None:
    t0 = time.perf_counter()
    out = measure()
    OUT.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2), f"\n{time.perf_counter() - t0:.0f} s")
    assert out["genuine"]["mean"] > out["impostor"]["mean"] + 0.3


if __name__ == "__main__":
    test_impostor_scores()
