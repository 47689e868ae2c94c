"""Patras-style thermal folders: parsing, subject-disjoint splits, metrics, and ``eval thermal``.

A folder "laid out like patras_thermal" holds JPEGs (any sub-folders) named
``<ID>_<name>_<session>_<view>_<sex>_<age>_<field7>[_<suffix>].jpg``; session 1 = sober, 2-4 = 20/40/60
minutes after drinking (label "drunk" = session >= 2). No manifest is needed. If a ``manifest.csv``
with a ``quirk`` column is present, rows tagged ``hand_not_face`` are left out. Byte-identical
files are found by hashing and left out as a group (at least one of them carries a wrong label).
The subject's first name in the file name is never kept.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from soberpay.errors import InvalidInput, NotFound

FILE_RE = re.compile(
    r"^(?P<sid>\d{1,3})_(?P<name>[^_]+)_(?P<session>[1-4])_(?P<view>[efr])_(?P<sex>[MF])_(?P<age>\d+)"
    r"_(?P<field7>\d+)(?:_(?P<suffix>\d{3}))?\.jpe?g$",
    re.IGNORECASE,
)
VIEWS = ("e", "f", "r")


@dataclass(frozen=True)
class ThermalSample:
    path: Path
    rel: str
    subject_id: str
    session: int
    view: str
    sex: str

    @property
    def drunk(self) -> int:
        return int(self.session >= 2)


@dataclass
class ThermalFolder:
    samples: list[ThermalSample]
    skipped: dict[str, list[str]] = field(default_factory=dict)

    @property
    def subjects(self) -> list[str]:
        return sorted({s.subject_id for s in self.samples})


def _manifest_quirks(root: Path) -> dict[str, str]:
    path = root / "manifest.csv"
    if not path.is_file():
        return {}
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "path" not in reader.fieldnames or "quirk" not in reader.fieldnames:
            return {}
        return {row["path"]: row["quirk"] for row in reader if row.get("quirk")}


def scan_thermal_folder(root: Path | str, views: Sequence[str] = VIEWS) -> ThermalFolder:
    """Parse a Patras-style folder. Raises NotFound / InvalidInput when nothing usable is there."""
    root = Path(root)
    if not root.is_dir():
        raise NotFound(f"dataset folder not found: {root}")
    quirks = _manifest_quirks(root)
    skipped: dict[str, list[str]] = defaultdict(list)
    parsed: list[ThermalSample] = []
    by_hash: dict[str, list[int]] = defaultdict(list)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in (".jpg", ".jpeg")):
        rel = path.relative_to(root).as_posix()
        m = FILE_RE.match(path.name)
        if m is None:
            skipped["unparsed_name"].append(rel)
            continue
        if quirks.get(rel) == "hand_not_face":
            skipped["hand_not_face"].append(rel)
            continue
        view = m["view"].lower()
        if view not in views:
            skipped["other_view"].append(rel)
            continue
        sample = ThermalSample(
            path=path,
            rel=rel,
            subject_id=f"{int(m['sid']):02d}",
            session=int(m["session"]),
            view=view,
            sex=m["sex"].upper(),
        )
        by_hash[hashlib.sha256(path.read_bytes()).hexdigest()].append(len(parsed))
        parsed.append(sample)
    dup = {i for group in by_hash.values() if len(group) > 1 for i in group}
    for i in sorted(dup):
        skipped["byte_identical_duplicate"].append(parsed[i].rel)
    samples = [s for i, s in enumerate(parsed) if i not in dup]
    if not samples:
        raise InvalidInput(f"no Patras-style thermal images found in {root}")
    return ThermalFolder(samples=samples, skipped=dict(skipped))


def stratified_subject_split(
    samples: Sequence[ThermalSample], test_fraction: float = 0.3, seed: int = 0
) -> tuple[list[str], list[str]]:
    """Randomised 70/30 split of SUBJECTS, stratified by sex; returns (train_ids, test_ids)."""
    if not 0.0 < test_fraction < 1.0:
        raise InvalidInput("test_fraction must be in (0, 1)")
    rng = np.random.default_rng(seed)
    strata: dict[str, list[str]] = defaultdict(list)
    for sid, sex in sorted({(s.subject_id, s.sex) for s in samples}):
        strata[sex].append(sid)
    train: list[str] = []
    test: list[str] = []
    for sex in sorted(strata):
        ids = list(strata[sex])
        rng.shuffle(ids)
        n_test = max(1, round(len(ids) * test_fraction)) if len(ids) > 1 else 0
        test += ids[:n_test]
        train += ids[n_test:]
    return sorted(train), sorted(test)


def subject_group_folds(samples: Sequence[ThermalSample], n_folds: int = 5, seed: int = 0) -> list[list[str]]:
    """Shuffle subjects and deal them into ``n_folds`` groups, sex-stratified (GroupKFold by subject)."""
    rng = np.random.default_rng(seed)
    strata: dict[str, list[str]] = defaultdict(list)
    for sid, sex in sorted({(s.subject_id, s.sex) for s in samples}):
        strata[sex].append(sid)
    folds: list[list[str]] = [[] for _ in range(n_folds)]
    k = 0
    for sex in sorted(strata):
        ids = list(strata[sex])
        rng.shuffle(ids)
        for sid in ids:
            folds[k % n_folds].append(sid)
            k += 1
    return [sorted(f) for f in folds]


def binary_metrics(y_true: npt.ArrayLike, score: npt.ArrayLike, threshold: float = 0.5) -> dict[str, float]:
    """accuracy, balanced accuracy, recall, precision, F1 at ``threshold`` and ROC-AUC (NaN if one class)."""
    y = np.asarray(y_true, dtype=int)
    s = np.asarray(score, dtype=float)
    pred = (s >= threshold).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    n = max(len(y), 1)
    recall = tp / (tp + fn) if tp + fn else float("nan")
    spec = tn / (tn + fp) if tn + fp else float("nan")
    precision = tp / (tp + fp) if tp + fp else 0.0
    f1 = 2 * precision * recall / (precision + recall) if (precision + recall) and not math.isnan(recall) else 0.0
    return {
        "accuracy": (tp + tn) / n,
        "balanced_accuracy": (recall + spec) / 2 if not (math.isnan(recall) or math.isnan(spec)) else float("nan"),
        "recall": recall,
        "specificity": spec,
        "precision": precision,
        "f1": f1,
        "auc": roc_auc(y, s),
    }


def roc_auc(y_true: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """Mann-Whitney ROC-AUC with ties counted half; NaN when only one class is present."""
    y = np.asarray(y_true, dtype=int)
    s = np.asarray(score, dtype=float)
    pos, neg = s[y == 1], s[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def evaluate_thermal_folder(
    root: Path | str,
    score_image: Callable[[ThermalSample, bytes], float],
    views: Sequence[str] = VIEWS,
    threshold: float = 0.5,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Score every usable image with ``score_image(sample, jpeg_bytes) -> P(abnormal)``."""
    folder = scan_thermal_folder(root, views=views)
    y: list[int] = []
    s: list[float] = []
    for i, sample in enumerate(folder.samples):
        s.append(float(score_image(sample, sample.path.read_bytes())))
        y.append(sample.drunk)
        if progress is not None:
            progress(i + 1, len(folder.samples))
    metrics = binary_metrics(y, s, threshold)
    return {
        "accuracy": metrics["accuracy"],
        "recall": metrics["recall"],
        "f1": metrics["f1"],
        "auc": metrics["auc"],
        "balanced_accuracy": metrics["balanced_accuracy"],
        "specificity": metrics["specificity"],
        "n_subjects": len(folder.subjects),
        "n_images": len(folder.samples),
        "n_drunk": int(sum(y)),
        "skipped": {k: len(v) for k, v in folder.skipped.items()},
    }


def plot_cv_roc(predictions: Sequence[dict[str, Any]], path: Path | str, title: str) -> Path:
    """ROC curve (pooled and per held-out fold) of subject-held-out predictions, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def curve(y: npt.NDArray[np.int64], s: npt.NDArray[np.float64]) -> tuple[list[float], list[float]]:
        fpr, tpr = [0.0], [0.0]
        for t in sorted(set(s.tolist()), reverse=True):
            pred = s >= t
            tpr.append(float((pred & (y == 1)).sum() / max((y == 1).sum(), 1)))
            fpr.append(float((pred & (y == 0)).sum() / max((y == 0).sum(), 1)))
        return fpr, tpr

    y = np.array([p["y"] for p in predictions], dtype=np.int64)
    s = np.array([p["p_knn"] for p in predictions], dtype=np.float64)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    folds = sorted({p.get("fold", 0) for p in predictions})
    for f in folds:
        m = np.array([p.get("fold", 0) == f for p in predictions])
        if len(folds) > 1 and len(set(y[m].tolist())) == 2:
            fx, fy = curve(y[m], s[m])
            ax.plot(fx, fy, lw=0.8, alpha=0.5, label=f"fold {f + 1} (AUC {roc_auc(y[m], s[m]):.2f})")
    fx, fy = curve(y, s)
    ax.plot(fx, fy, lw=2.0, color="black", label=f"pooled (AUC {roc_auc(y, s):.2f})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    ax.set_xlabel("false positive rate (sober flagged)")
    ax.set_ylabel("true positive rate (after drinking flagged)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


__all__ = [
    "VIEWS",
    "plot_cv_roc",
    "ThermalFolder",
    "ThermalSample",
    "binary_metrics",
    "evaluate_thermal_folder",
    "roc_auc",
    "scan_thermal_folder",
    "stratified_subject_split",
    "subject_group_folds",
]
