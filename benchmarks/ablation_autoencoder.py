"""Ablation of the semi-supervised autoencoder face model vs SFace and dlib on held-out ORL people.

Run:  .venv/bin/python benchmarks/ablation_autoencoder.py [--seeds 0] [--threads 2]
  or: .venv/bin/python -m pytest -m slow benchmarks/ablation_autoencoder.py -s

All rows use the same subject-disjoint split (30 training people, 10 held-out people), the same
YuNet detections and the same 5-landmark alignment; the autoencoder rows are measured through their
exported ONNX files (what would ship). Prints a markdown table, ratios vs SFace measured in this
run, writes docs/img/autoencoder_roc.png and benchmarks/results/autoencoder_ablation.json.
Takes roughly 15-40 minutes on 2 busy CPU cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
ORL = ROOT.parent / "shared" / "data" / "orl_faces"
ROC_PNG = ROOT / "docs" / "img" / "autoencoder_roc.png"
RESULTS_DIR = ROOT / "benchmarks" / "results"
SCORES_DIR = RESULTS_DIR / "autoencoder_scores"  # genuine/impostor scores per row (npz, not committed)


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    gamma: float
    pool: bool
    loss_a: str = "cosface"
    labelled_fraction: float = 0.5


VARIANTS = [  # in order of importance (runs are saved one by one)
    Variant("sup", "AE gamma=1 (supervised only)", 1.0, False),
    Variant("g070", "AE gamma=0.7 + unlabelled pool", 0.7, True),
    Variant("g070_nopool", "AE gamma=0.7, no unlabelled pool", 0.7, False),
    Variant("sup_softmax", "AE gamma=1, LossA softmax", 1.0, False, "softmax"),
    Variant("g055", "AE gamma=0.55 + unlabelled pool", 0.55, True),
    Variant("g055_nopool", "AE gamma=0.55, no unlabelled pool", 0.55, False),
    Variant("sup_arcface", "AE gamma=1, LossA ArcFace", 1.0, False, "arcface"),
    Variant("g070_softmax", "AE gamma=0.7 + pool, LossA softmax", 0.7, True, "softmax"),
    Variant("sup_all_labels", "AE gamma=1, all labels (upper bound)", 1.0, False, "cosface", 1.0),
]


def _time_per_face(embed: Callable[[np.ndarray, Any], np.ndarray], samples: list[Any], repeats: int = 1) -> float:
    times = []
    for _ in range(repeats):
        for s in samples:
            t0 = time.perf_counter()
            embed(s.image, s.face)
            times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times)


def _embed_all(embed: Callable[[np.ndarray, Any], np.ndarray], samples: list[Any]) -> np.ndarray:
    return np.stack([embed(s.image, s.face) for s in samples]).astype(np.float32)


def run(
    seeds: list[int], threads: int, only: set[str] | None = None, max_epochs: int = 100, refs: bool = True
) -> dict[str, Any]:
    import torch
    from rich.console import Console
    from rich.progress import Progress

    from soberpay.adapters.vision.autoencoder import AutoencoderEmbedder
    from soberpay_lab.training.autoencoder import ModelConfig, TrainConfig
    from soberpay_lab.training.autoencoder_data import default_detector
    from soberpay_lab.training.autoencoder_eval import evaluate_heldout, pair_scores
    from soberpay_lab.training.autoencoder_pipeline import fit, prepare_dataset, write_artifacts

    torch.set_num_threads(threads)
    console = Console(width=240)
    detector = default_detector()
    for seed in seeds:
        rows: list[dict[str, Any]] = []
        scores: dict[str, np.ndarray] = {}
        datasets = {
            frac: prepare_dataset(ORL, None, heldout_people=10, labelled_fraction=frac, seed=seed,
                                  detector=detector, keep_heldout_images=True)
            for frac in sorted({v.labelled_fraction for v in VARIANTS})
        }
        base = datasets[0.5]
        held = base.heldout_samples
        # reference embedders through the vision package (same images, same detections)
        with_refs = refs
        refs_list: list[tuple[str, Callable[[], Any]]] = []
        try:
            from soberpay.adapters.vision.sface import SFaceEmbedder

            refs_list.append(("SFace (OpenCV zoo, int8)", SFaceEmbedder))
        except ImportError as exc:  # pragma: no cover
            console.print(f"SFace unavailable: {exc}")
        try:
            from soberpay.adapters.vision.dlib_embedder import DlibEmbedder

            refs_list.append(("dlib ResNet", DlibEmbedder))
        except ImportError as exc:  # pragma: no cover
            console.print(f"dlib unavailable: {exc}")
        for label, factory in refs_list if with_refs else []:
            emb = factory()
            e = _embed_all(emb.embed, held)
            r = evaluate_heldout(e, base.heldout_persons)
            ms = _time_per_face(emb.embed, held)
            rows.append({"seed": seed, "key": label, "label": label, **r.as_dict(), "ms_per_face": round(ms, 2)})
            scores[label + "|gen"], scores[label + "|imp"] = pair_scores(e, base.heldout_persons)
            console.print(f"[seed {seed}] {label}: {r.as_dict()['rank1']} rank-1, {ms:.1f} ms/face")
        variants = [v for v in VARIANTS if only is None or v.key in only]
        with Progress(console=console) as progress, tempfile.TemporaryDirectory() as tmp:
            task = progress.add_task(f"seed {seed}: training variants", total=len(variants))
            for v in variants:
                ds = datasets[v.labelled_fraction]
                cfg = TrainConfig(
                    gamma=v.gamma,
                    use_unlabelled=v.pool,
                    model=ModelConfig(loss_a=v.loss_a),  # type: ignore[arg-type]
                    seed=seed,
                    threads=threads,
                    max_epochs=max_epochs,
                    min_epochs=min(15, max_epochs),
                )
                res = fit(ds, cfg)
                out = Path(tmp) / v.key
                card = write_artifacts(out, res, ds)
                emb = AutoencoderEmbedder(out / "autoencoder_face.onnx")
                e = _embed_all(emb.embed, held)  # full path: align from the image + ONNX
                r = evaluate_heldout(e, base.heldout_persons)
                ms = _time_per_face(emb.embed, held)
                row = {
                    "seed": seed,
                    "key": v.key,
                    "label": v.label,
                    "gamma": v.gamma,
                    "pool": v.pool,
                    "loss_a": v.loss_a,
                    "labelled_fraction": ds.info["labelled_fraction"],
                    **r.as_dict(),
                    "ms_per_face": round(ms, 2),
                    "epochs": len(res.history),
                    "converged": res.converged,
                    "convergence_epoch": res.convergence_epoch,
                    "train_seconds": round(res.seconds, 1),
                    "card_rank1": card["metrics_heldout"]["rank1"],
                }
                rows.append(row)
                scores[v.label + "|gen"], scores[v.label + "|imp"] = pair_scores(e, base.heldout_persons)
                progress.advance(task)
                console.print(
                    f"[seed {seed}] {v.label}: rank-1 {row['rank1']}, TAR@1% {row['tar_at_far_1pct']}, "
                    f"EER {row['eer']}, epochs {row['epochs']} ({res.stop_reason}), {res.seconds:.0f}s"
                )
                _save(seed, rows, scores)
        _save(seed, rows, scores)
    return report(console)


def timing(rounds: int = 3, n_faces: int = 60) -> dict[str, float]:
    """Median embedding time per face (align + embed, detection excluded) of SFace, dlib and the shipped
    autoencoder, interleaved in one run on the same faces so that machine load affects all alike."""
    from soberpay.adapters.vision.autoencoder import AutoencoderEmbedder
    from soberpay.adapters.vision.dlib_embedder import DlibEmbedder
    from soberpay.adapters.vision.sface import SFaceEmbedder
    from soberpay_lab.training.autoencoder_data import default_detector
    from soberpay_lab.training.autoencoder_pipeline import prepare_dataset

    ds = prepare_dataset(ORL, None, heldout_people=10, seed=0, detector=default_detector(),
                         keep_heldout_images=True)
    faces = ds.heldout_samples[:n_faces]
    embedders = {"SFace": SFaceEmbedder(), "dlib": DlibEmbedder(), "autoencoder": AutoencoderEmbedder()}
    times: dict[str, list[float]] = {k: [] for k in embedders}
    for e in embedders.values():  # warm-up: model loading is not embedding time
        e.embed(faces[0].image, faces[0].face)
    for _ in range(rounds):
        for k, e in embedders.items():
            for f in faces:
                t0 = time.perf_counter()
                e.embed(f.image, f.face)
                times[k].append(time.perf_counter() - t0)
    out = {k: 1000.0 * statistics.median(v) for k, v in times.items()}
    (RESULTS_DIR / "autoencoder_timing.json").write_text(json.dumps(out, indent=2), encoding="utf-8")
    return out


def _save(seed: int, rows: list[dict[str, Any]], scores: dict[str, np.ndarray]) -> None:
    """Write this seed's rows and scores, keeping rows of earlier runs for variants not re-run."""
    SCORES_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"autoencoder_ablation_seed{seed}.json"
    npz = SCORES_DIR / f"seed{seed}.npz"
    keys = {r["key"] for r in rows}
    old_rows = json.loads(path.read_text(encoding="utf-8"))["rows"] if path.is_file() else []
    merged_scores: dict[str, np.ndarray] = {}
    if npz.is_file():
        with np.load(npz) as z:
            merged_scores = {k: z[k] for k in z.files}
    merged_scores.update(scores)
    all_rows = [r for r in old_rows if r["key"] not in keys] + rows
    path.write_text(json.dumps({"seed": seed, "rows": all_rows}, indent=2, default=str), encoding="utf-8")
    np.savez_compressed(npz, **merged_scores)


def report(console: Any = None) -> dict[str, Any]:
    """Merge every per-seed result: mean (and spread) table, ROC of scores pooled over seeds."""
    from rich.console import Console

    from soberpay_lab.evaluation.metrics import roc_curve

    console = console or Console(width=240)
    rows: list[dict[str, Any]] = []
    pooled: dict[str, dict[str, list[np.ndarray]]] = {}
    for f in sorted(RESULTS_DIR.glob("autoencoder_ablation_seed*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        rows.extend(data["rows"])
        npz = SCORES_DIR / f"seed{data['seed']}.npz"
        if npz.is_file():
            with np.load(npz) as z:
                for k in z.files:
                    name, kind = k.rsplit("|", 1)
                    pooled.setdefault(name, {"gen": [], "imp": []})[kind].append(z[k])
    rocs = {
        name: roc_curve(np.concatenate(v["gen"]), np.concatenate(v["imp"]))
        for name, v in pooled.items()
        if v["gen"] and v["imp"]
    }
    _plot(rocs)
    tfile = RESULTS_DIR / "autoencoder_timing.json"
    tms = json.loads(tfile.read_text(encoding="utf-8")) if tfile.is_file() else None
    _print_table(rows, console, tms)
    _print_paired(rows, console)
    return {"rows": rows, "timing": tms}


def _plot(rocs: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 6))
    palette = plt.get_cmap("tab20")
    for i, (name, roc) in enumerate(rocs.items()):
        far = np.clip(roc.far, 1e-4, 1.0)
        ref = name.startswith(("SFace", "dlib"))
        style = "--" if "no unlabelled" in name else "-"
        color = ("black" if name.startswith("SFace") else "dimgrey") if ref else palette((2 * i) % 20)
        ax.plot(far, roc.tar, ":" if name.startswith("dlib") else style, lw=2.2 if ref else 1.3,
                color=color, label=name)
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1.0)
    ax.set_ylim(0.0, 1.01)
    ax.axvline(1e-2, color="grey", lw=0.8, ls=":")
    ax.axvline(1e-3, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("false accept rate (all impostor pairs of held-out images, pooled over seeds)")
    ax.set_ylabel("true accept rate (all genuine pairs)")
    ax.set_title("ORL, 10 held-out people per seed (subject-disjoint): autoencoder vs SFace, dlib", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    ROC_PNG.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(ROC_PNG, dpi=110)
    plt.close(fig)


def _print_table(rows: list[dict[str, Any]], console: Any, tms: dict[str, float] | None = None) -> None:
    by_label: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_label.setdefault(r["label"], []).append(r)
    seeds = sorted({r["seed"] for r in rows})
    sface_eer = np.mean([r["eer"] for r in rows if r["key"].startswith("SFace")] or [np.nan])

    def ms(vals: list[float], pct: bool = False) -> str:
        m = float(np.mean(vals))
        sd = float(np.std(vals)) if len(vals) > 1 else None
        f = (lambda x: f"{100 * x:.1f}%") if pct else (lambda x: f"{x:.3f}")
        return f(m) + (f" ± {f(sd)}" if sd is not None else "")

    console.print(f"\nseeds (splits): {seeds}; mean ± sd over seeds")
    if tms:
        console.print(
            "embedding time per face (align + embed, one interleaved run): "
            + ", ".join(f"{k} {v:.2f} ms ({v / tms['SFace']:.2f}x SFace)" for k, v in tms.items())
        )
    console.print(
        "| model | labelled | rank-1 | TAR@FAR=1% | TAR@FAR=0.1% | EER | EER - SFace EER | ms/face "
        "| epochs (LossA / LossB plateau) |"
    )
    console.print("|---|---|---|---|---|---|---|---|---|")
    for label, rs in by_label.items():
        lab = f"{rs[0]['labelled_fraction']:.2f}" if "labelled_fraction" in rs[0] else "pre-trained"
        eer_m = float(np.mean([r["eer"] for r in rs]))
        ratio = f"{eer_m - sface_eer:+.1%}" if np.isfinite(sface_eer) else "-"
        if "epochs" in rs[0]:
            ep = "; ".join(
                f"{r['epochs']} ({r['convergence_epoch'].get('loss_a')}/{r['convergence_epoch'].get('loss_b')})"
                for r in rs
            )
        else:
            ep = "-"
        if tms:
            kind = "SFace" if label.startswith("SFace") else "dlib" if label.startswith("dlib") else "autoencoder"
            t = f"{tms[kind]:.1f}"
        else:
            t = f"{np.median([r['ms_per_face'] for r in rs]):.1f}"
        console.print(
            f"| {label} | {lab} | {ms([r['rank1'] for r in rs])} | {ms([r['tar_at_far_1pct'] for r in rs])} "
            f"| {ms([r['tar_at_far_0.1pct'] for r in rs])} | {ms([r['eer'] for r in rs], True)} | {ratio} "
            f"| {t} | {ep} |"
        )


def _print_paired(rows: list[dict[str, Any]], console: Any, base_key: str = "sup") -> None:
    """Per-seed differences to the supervised-only CosFace row (same split, same held-out people)."""
    base = {r["seed"]: r for r in rows if r["key"] == base_key}
    console.print(f"\npaired differences vs '{base_key}' on the same seeds (mean ± sd; n = seeds):")
    console.print("| model | n | Δ rank-1 | Δ TAR@FAR=1% | Δ EER (points) | seeds better EER |")
    console.print("|---|---|---|---|---|---|")
    by_key: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["key"] != base_key and r["seed"] in base and "epochs" in r:
            by_key.setdefault(r["label"], []).append(r)
    for label, rs in by_key.items():
        d_r1 = [r["rank1"] - base[r["seed"]]["rank1"] for r in rs]
        d_tar = [r["tar_at_far_1pct"] - base[r["seed"]]["tar_at_far_1pct"] for r in rs]
        d_eer = [100 * (r["eer"] - base[r["seed"]]["eer"]) for r in rs]
        better = sum(d < 0 for d in d_eer)

        def f(v: list[float], nd: int = 3) -> str:
            return f"{np.mean(v):+.{nd}f}" + (f" ± {np.std(v):.{nd}f}" if len(v) > 1 else "")

        console.print(f"| {label} | {len(rs)} | {f(d_r1)} | {f(d_tar)} | {f(d_eer, 1)} | {better}/{len(rs)} |")


@pytest.mark.slow
def test_ablation_autoencoder() -> None:
    if not ORL.is_dir():
        pytest.skip(f"ORL not found at {ORL}")
    pytest.importorskip("torch")
    out = run([0], threads=2)
    assert out["rows"]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0", help="comma-separated split/training seeds")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated variant keys (default: all)")
    ap.add_argument("--max-epochs", type=int, default=100, help="safety cap (lower only for smoke tests)")
    ap.add_argument("--skip-refs", action="store_true", help="do not re-measure SFace and dlib")
    ap.add_argument("--report", action="store_true", help="only merge saved per-seed results")
    ap.add_argument("--timing", action="store_true", help="interleaved embedding-time run, then report")
    a = ap.parse_args()
    if a.timing:
        print(timing())
        report()
    elif a.report:
        report()
    else:
        run([int(s) for s in a.seeds.split(",")], a.threads, set(a.only.split(",")) if a.only else None, a.max_epochs,
            not a.skip_refs)
