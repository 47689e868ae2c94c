"""ResNet expression classifier for alcohol influence (KTV method step S103), ONNX inference.

Input: a (T, F) float array of per-frame features in ``EXPRESSION_FEATURES`` column order, sampled
at ``EXPRESSION_FPS`` (build it with ``expression_features.expression_sequence``). Output:
P(alcohol-influenced) in [0, 1].

The shipped model was trained on SYNTHETIC sequences only (no real RGB drunk data exists in this
project); treat its probability as a weak, unvalidated hint - see the model card and
docs/research/sobriety-models.md. The model is loaded lazily from the folder passed in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from soberpay.adapters.onnx_cpu import cpu_session
from soberpay.adapters.sobriety.features import EXPRESSION_FEATURES
from soberpay.errors import ConfigError, InvalidInput

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "expression"
MODEL_FILE = "expression_resnet1d.onnx"
CARD_FILE = "model_card.json"
MIN_FRAMES = 32


class ExpressionClassifier:
    """``predict_proba(seq)`` for one (T, F) sequence or a (N, T, F) batch."""

    synthetic = True

    def __init__(self, model_dir: Path | None = None) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        self._session: Any = None
        self._card: dict[str, Any] | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> ExpressionClassifier:
        """Build from ``Settings`` (``settings.sobriety.expression_model_dir``); nothing is loaded yet."""
        return cls(settings.sobriety.expression_model_dir)

    def _load(self) -> None:
        if self._session is not None:
            return
        path = self.model_dir / MODEL_FILE
        if not path.is_file():
            raise ConfigError(f"expression model not found: {path}")
        self._session = cpu_session(path)
        card_path = self.model_dir / CARD_FILE
        self._card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        cols = self._card.get("input", {}).get("columns")
        if cols is not None and tuple(cols) != EXPRESSION_FEATURES:
            raise ConfigError("expression model was trained on a different feature column order")

    @property
    def card(self) -> dict[str, Any]:
        self._load()
        assert self._card is not None
        return self._card

    def predict_proba(self, seq: npt.ArrayLike) -> npt.NDArray[np.float64] | float:
        arr = np.asarray(seq, dtype=np.float32)
        single = arr.ndim == 2
        batch = arr[None] if single else arr
        if batch.ndim != 3 or batch.shape[2] != len(EXPRESSION_FEATURES):
            raise InvalidInput(f"expected a (T, {len(EXPRESSION_FEATURES)}) feature sequence (EXPRESSION_FEATURES)")
        if batch.shape[1] < MIN_FRAMES:
            raise InvalidInput(f"need at least {MIN_FRAMES} frames, got {batch.shape[1]}")
        if not np.all(np.isfinite(batch)):
            raise InvalidInput("feature sequence contains NaN or inf")
        self._load()
        logit = np.asarray(self._session.run(None, {"features": batch})[0], dtype=np.float64)
        prob = 1.0 / (1.0 + np.exp(-np.clip(logit, -50.0, 50.0)))
        return float(prob[0]) if single else prob

    def score(self, seq: npt.ArrayLike) -> float:
        """P(alcohol-influenced) for one (T, F) sequence (the fusion vector's ``expression_score``)."""
        p = self.predict_proba(seq)
        if not isinstance(p, float):
            raise InvalidInput("score() takes one (T, F) sequence")
        return p


__all__ = ["ExpressionClassifier", "MIN_FRAMES"]
