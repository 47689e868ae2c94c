"""ONNX Runtime adapter for the behaviour LSTM (implements ``soberpay.domain.behaviour.BehaviourScorer``).

Loads lazily on first use; the shipped model lives in ``soberpay/models/behaviour/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from soberpay.adapters.onnx_cpu import cpu_session
from soberpay.domain.behaviour import N_FEATURES
from soberpay.errors import ConfigError, InvalidInput

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "behaviour" / "behaviour_lstm.onnx"


class OnnxBehaviourScorer:
    def __init__(self, model_path: Path | None = None, threads: int = 1) -> None:
        self.model_path = Path(model_path) if model_path else DEFAULT_MODEL
        self._threads = threads
        self._session: Any = None

    def _load(self) -> Any:
        if self._session is None:
            if not self.model_path.is_file():
                raise ConfigError(f"behaviour model not found: {self.model_path} (run `soberpay train behaviour`)")
            self._session = cpu_session(self.model_path, intra_op_threads=self._threads, inter_op_threads=1)
        return self._session

    def score(self, rows: Sequence[Sequence[float]]) -> float:
        if not rows:
            return 0.0
        x = np.asarray(rows, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != N_FEATURES:
            raise InvalidInput(f"behaviour features must be T x {N_FEATURES}")
        out = self._load().run(None, {"events": x[None, :, :]})[0]
        return float(np.clip(np.asarray(out).reshape(-1)[0], 0.0, 1.0))
