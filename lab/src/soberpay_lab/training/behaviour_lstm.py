"""Behaviour LSTM: trains on SYNTHETIC visits (soberpay_lab.training.synthetic_visits), split by guest,
evaluates precision / recall / F1 on held-out SYNTHETIC guests, exports ONNX + a JSON model card.

Input: one visit's event sequence encoded by ``soberpay.domain.behaviour.encode_sequence``
([1, T, N_FEATURES] float32). Output: anomaly score in 0..1 (sigmoid of the last step's logit).
Small on purpose (1 layer, 32 hidden units): trains in well under 2 minutes on 2 CPU cores.
"""

from __future__ import annotations

import json
import random
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from soberpay.domain.behaviour import FEATURE_NAMES, MAX_EVENTS, N_FEATURES
from soberpay_lab.training.synthetic_visits import make_synthetic_dataset, prefixes

Progress = Callable[[str, int, int], None]


class BehaviourLSTM(nn.Module):
    def __init__(self, n_features: int = N_FEATURES, hidden: int = 32) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [1, T, F] → [1] (export path, no padding)
        out, _ = self.lstm(x)
        return torch.sigmoid(self.head(out[:, -1, :])).squeeze(-1)

    def logits_padded(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        logits: torch.Tensor = self.head(h[-1]).squeeze(-1)
        return logits


@dataclass(frozen=True)
class BehaviourConfig:
    n_guests: int = 240
    visits_per_guest: int = 6
    anomaly_rate: float = 0.3
    epochs: int = 8
    batch_size: int = 64
    hidden: int = 32
    lr: float = 3e-3
    threshold: float = 0.5
    seed: int = 7
    threads: int = 2


def _batches(data: list[tuple[list[list[float]], int]], size: int, rng: random.Random, shuffle: bool) -> Any:
    idx = list(range(len(data)))
    if shuffle:
        rng.shuffle(idx)
    for i in range(0, len(idx), size):
        chunk = [data[j] for j in idx[i : i + size]]
        lengths = torch.tensor([len(rows) for rows, _ in chunk])
        x = torch.zeros(len(chunk), int(lengths.max()), N_FEATURES)
        for k, (rows, _) in enumerate(chunk):
            x[k, : len(rows)] = torch.tensor(rows)
        y = torch.tensor([float(lbl) for _, lbl in chunk])
        yield x, lengths, y


def _metrics(scores: list[float], labels: list[int], threshold: float) -> dict[str, float]:
    tp = sum(1 for s, y in zip(scores, labels, strict=True) if s >= threshold and y == 1)
    fp = sum(1 for s, y in zip(scores, labels, strict=True) if s >= threshold and y == 0)
    fn = sum(1 for s, y in zip(scores, labels, strict=True) if s < threshold and y == 1)
    tn = len(labels) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "n": len(labels),
    }


def _score(model: BehaviourLSTM, data: list[tuple[list[list[float]], int]]) -> list[float]:
    model.eval()
    out: list[float] = []
    with torch.no_grad():
        for x, lengths, _ in _batches(data, 256, random.Random(0), shuffle=False):
            out.extend(torch.sigmoid(model.logits_padded(x, lengths)).tolist())
    return out


def train_behaviour(
    out_dir: Path, config: BehaviourConfig | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    cfg = config or BehaviourConfig()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = random.Random(cfg.seed)
    t0 = time.perf_counter()
    guests, visits = make_synthetic_dataset(cfg.n_guests, cfg.visits_per_guest, cfg.anomaly_rate, cfg.seed)
    ids = [g.guest_id for g in guests]
    rng.shuffle(ids)
    n_test = len(ids) * 15 // 100
    test_ids, val_ids = set(ids[:n_test]), set(ids[n_test : 2 * n_test])
    split: dict[str, list[tuple[list[list[float]], int]]] = {"train": [], "val": [], "test": []}
    test_full: list[tuple[list[list[float]], int]] = []
    for v in visits:
        part = "test" if v.guest_id in test_ids else "val" if v.guest_id in val_ids else "train"
        examples = prefixes(v, rng, k=2)
        split[part].extend(examples)
        if part == "test":
            test_full.append(examples[-1])  # the whole visit
    model = BehaviourLSTM(hidden=cfg.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    pos = sum(lbl for _, lbl in split["train"])
    pos_weight = torch.tensor((len(split["train"]) - pos) / max(pos, 1))
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    n_batches = (len(split["train"]) + cfg.batch_size - 1) // cfg.batch_size
    best_state, best_f1 = None, -1.0
    history = []
    for epoch in range(cfg.epochs):
        model.train()
        total = 0.0
        for b, (x, lengths, y) in enumerate(_batches(split["train"], cfg.batch_size, rng, shuffle=True)):
            opt.zero_grad()
            loss = loss_fn(model.logits_padded(x, lengths), y)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
            if progress:
                progress("train behaviour LSTM (synthetic)", epoch * n_batches + b + 1, cfg.epochs * n_batches)
        val = _metrics(_score(model, split["val"]), [lbl for _, lbl in split["val"]], cfg.threshold)
        history.append({"epoch": epoch + 1, "loss": round(total / len(split["train"]), 4), "val_f1": val["f1"]})
        if val["f1"] > best_f1:
            best_f1 = val["f1"]
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    assert best_state is not None
    model.load_state_dict(best_state)
    test_prefix = _metrics(_score(model, split["test"]), [lbl for _, lbl in split["test"]], cfg.threshold)
    test_visit = _metrics(_score(model, test_full), [lbl for _, lbl in test_full], cfg.threshold)
    val_metrics = _metrics(_score(model, split["val"]), [lbl for _, lbl in split["val"]], cfg.threshold)
    # Baseline on the same held-out guests: the method's spending rule alone (any order > 2x own mean).
    rule_prefix = _metrics([_rule_score(rows) for rows, _ in split["test"]], [lbl for _, lbl in split["test"]], 0.5)
    rule_visit = _metrics([_rule_score(rows) for rows, _ in test_full], [lbl for _, lbl in test_full], 0.5)
    train_seconds = time.perf_counter() - t0

    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / "behaviour_lstm.onnx"
    export_onnx(model, onnx_path)
    card = {
        "name": "behaviour_lstm",
        "data": "SYNTHETIC visits from soberpay_lab.training.synthetic_visits (no real guests); see its docstring",
        "split": "by guest: 70 % train / 15 % validation (model selection) / 15 % held-out test guests",
        "input": {"shape": ["1", f"T (1..{MAX_EVENTS})", N_FEATURES], "features": list(FEATURE_NAMES)},
        "output": "anomaly score 0..1 (sigmoid); payment.behaviour_threshold decides",
        "threshold": cfg.threshold,
        "config": asdict(cfg),
        "n_guests": {"train": len(ids) - 2 * n_test, "val": n_test, "test": n_test},
        "n_examples": {k: len(v) for k, v in split.items()},
        "metrics_synthetic_test_prefixes": test_prefix,
        "metrics_synthetic_test_full_visits": test_visit,
        "metrics_synthetic_val_prefixes": val_metrics,
        "baseline_rule_2x_mean_test_prefixes": rule_prefix,
        "baseline_rule_2x_mean_test_full_visits": rule_visit,
        "history": history,
        "train_seconds": round(train_seconds, 1),
        "torch": torch.__version__,
        "caveat": "Numbers are on SYNTHETIC data generated by our own assumptions; they show the model learns "
        "the generated pattern, not that it detects intoxication in real guests.",
    }
    (out_dir / "behaviour_lstm.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card


_LOG2 = 0.6931471805599453


def _rule_score(rows: list[list[float]]) -> float:
    """1.0 when any order is above twice the guest's own mean (feature 0 is log(amount / mean))."""
    return 1.0 if any(r[0] > _LOG2 for r in rows) else 0.0


def export_onnx(model: BehaviourLSTM, path: Path) -> None:
    model.eval()
    example = torch.zeros(1, 5, N_FEATURES)
    with warnings.catch_warnings():  # tracer notes about LSTM batch size: inference always uses batch 1
        warnings.simplefilter("ignore")
        _export(model, example, path)


def _export(model: BehaviourLSTM, example: torch.Tensor, path: Path) -> None:
    torch.onnx.export(
        model,
        (example,),
        str(path),
        input_names=["events"],
        output_names=["score"],
        dynamic_axes={"events": {1: "steps"}},
        opset_version=17,
        dynamo=False,
    )


__all__ = ["BehaviourConfig", "BehaviourLSTM", "export_onnx", "train_behaviour"]
