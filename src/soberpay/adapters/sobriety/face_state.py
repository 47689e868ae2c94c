"""ResNet face-state analysis (KTV method step S102), thermal-camera modality, ONNX inference.

Pipeline for one image: preprocessing (sharpness, brightness, contrast; see ``thermal_preprocess``)
→ small ResNet feature extractor (ONNX, trained on Patras sober/drunk thermal faces) → similarity
matching against a **reference-feature store** (sober and drunk reference features with an index)
→ normal / abnormal / uncertain, a severity from the feature distance to the nearest sober
references, and a **face state report** (JSON + a readable summary).

Scoring: the k most similar references (cosine) vote with weights ``exp(sim / tau)``, each class
re-weighted by the inverse of its share of the store (the store is 1 sober : 3 drunk). The
abnormal probability is the weighted drunk share. Between ``uncertain_low`` and ``uncertain_high``
the state is "uncertain" (ask staff; never acted on automatically).

Honest scope: trained on 31 Greek adults' thermal images; cross-subject accuracy is modest (see
docs/research/sobriety-models.md); it does not apply to RGB webcam frames. Loading is lazy (nothing at
import time); the model folder is passed in.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from soberpay.adapters.onnx_cpu import cpu_session
from soberpay.adapters.sobriety.thermal_preprocess import (
    INPUT_H,
    INPUT_W,
    ThermalQuality,
    decode_grey,
    preprocess_thermal,
)
from soberpay.domain.thermal import ThermalFaceState, ViewScore, assess
from soberpay.errors import ConfigError, InvalidInput

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "face_state"
MODEL_FILE = "face_state_resnet.onnx"
STORE_FILE = "reference_store.npz"
CARD_FILE = "model_card.json"
HOG_MODEL_FILE = "face_state_hog.npz"  # the shipped live model (won the comparison; see thermal_compare)
HOG_CARD_FILE = "face_state_hog.json"

SEVERITY_LEVELS = ("none", "mild", "moderate", "severe")

# HOG over the whole preprocessed 80x64 input: 8x8 cells, 16x16 blocks, 9 orientations (Dalal-Triggs
# defaults) -> 9 x 7 blocks x 36 = 2268 values.
_HOG = cv2.HOGDescriptor((INPUT_W, INPUT_H), (16, 16), (8, 8), (8, 8), 9)


def hog_features(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """HOG descriptor of one preprocessed (1, H, W) input (zero mean, unit variance per image).

    The standardised image is mapped to grey levels over +-3 standard deviations first, because
    OpenCV's HOG takes 8-bit images.
    """
    img = np.asarray(x, dtype=np.float32).reshape(INPUT_H, INPUT_W)
    grey = np.clip((img + 3.0) / 6.0 * 255.0, 0.0, 255.0).astype(np.uint8)
    return np.asarray(_HOG.compute(grey), dtype=np.float32).ravel()


@dataclass(frozen=True)
class ReferenceHit:
    ref_id: str
    label: str  # "sober" | "drunk"
    view: str
    session: int
    similarity: float


@dataclass(frozen=True)
class FaceStateReport:
    state: str  # "normal" | "abnormal" | "uncertain"
    p_abnormal: float
    severity: str  # none | mild | moderate | severe
    severity_score: float  # 0..1 from the distance to the nearest sober references
    distance: float  # cosine distance to the nearest sober references (mean of top k_sober)
    nearest: tuple[ReferenceHit, ...]
    quality: dict[str, float | bool]
    explanation: str
    modality: str = "thermal"
    model_version: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["nearest"] = [asdict(h) for h in self.nearest]
        d["warnings"] = list(self.warnings)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def summary(self) -> str:
        lines = [
            f"Face state (thermal): {self.state.upper()}  P(abnormal)={self.p_abnormal:.2f}",
            f"Severity: {self.severity} ({self.severity_score:.2f}); distance to sober references "
            f"{self.distance:.3f}",
            "Nearest references: "
            + ", ".join(f"{h.ref_id} {h.label} view={h.view} sim={h.similarity:.2f}" for h in self.nearest[:5]),
            self.explanation,
        ]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


class ReferenceStore:
    """Reference features (L2-normalised rows) with labels, subject ids, views, sessions.

    The "index" is an exact cosine search (matrix-vector product) over per-view partitions; the
    store is a few hundred rows, where exact search is faster than any approximate index.
    """

    def __init__(
        self,
        features: npt.NDArray[np.float32],
        labels: npt.NDArray[np.int64],
        subjects: npt.NDArray[np.str_],
        views: npt.NDArray[np.str_],
        sessions: npt.NDArray[np.int64],
        k: int = 7,
        tau: float = 0.1,
        k_sober: int = 3,
    ) -> None:
        feats = np.asarray(features, dtype=np.float32)
        if feats.ndim != 2 or feats.shape[0] == 0:
            raise ConfigError("reference store is empty or malformed")
        norms = np.linalg.norm(feats, axis=1, keepdims=True)
        self.features = feats / np.maximum(norms, 1e-8)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.subjects = np.asarray(subjects).astype(str)
        self.views = np.asarray(views).astype(str)
        self.sessions = np.asarray(sessions, dtype=np.int64)
        self.k, self.tau, self.k_sober = k, tau, k_sober
        n_pos = max(int(self.labels.sum()), 1)
        n_neg = max(int((1 - self.labels).sum()), 1)
        self.class_weight = np.where(self.labels == 1, 0.5 / n_pos, 0.5 / n_neg)
        self.index: dict[str, npt.NDArray[np.int64]] = {
            v: np.flatnonzero(self.views == v) for v in sorted(set(self.views.tolist()))
        }
        # severity calibration: filled by ``calibrate_severity`` (or loaded)
        self.sober_dist_lo = 0.0
        self.sober_dist_hi = 1.0

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def _candidates(self, view: str | None, exclude_subject: str | None) -> npt.NDArray[np.int64]:
        idx = self.index.get(view, np.arange(len(self))) if view else np.arange(len(self))
        if exclude_subject is not None:
            idx = idx[self.subjects[idx] != exclude_subject]
        if idx.size == 0:
            raise InvalidInput("no reference features left to compare against")
        return idx

    def match(
        self, query: npt.NDArray[np.float32], view: str | None = None, exclude_subject: str | None = None
    ) -> tuple[float, float, list[tuple[int, float]]]:
        """Return (p_abnormal, sober_distance, [(row, similarity) of the k nearest])."""
        q = np.asarray(query, dtype=np.float32).ravel()
        q = q / max(float(np.linalg.norm(q)), 1e-8)
        idx = self._candidates(view, exclude_subject)
        sims = self.features[idx] @ q
        order = np.argsort(-sims)[: self.k]
        top = idx[order]
        w = np.exp((sims[order] - sims[order].max()) / self.tau) * self.class_weight[top]
        p = float((w * self.labels[top]).sum() / max(float(w.sum()), 1e-12))
        sober_sims = np.sort(sims[self.labels[idx] == 0])[::-1][: self.k_sober]
        dist = float(1.0 - sober_sims.mean()) if sober_sims.size else 1.0
        return p, dist, [(int(r), float(s)) for r, s in zip(top, sims[order], strict=True)]

    def calibrate_severity(self) -> None:
        """Sober-distance quantiles of the references themselves, each matched leave-own-subject-out."""
        dists = np.array(
            [
                self.match(self.features[i], view=str(self.views[i]), exclude_subject=str(self.subjects[i]))[1]
                for i in range(len(self))
            ]
        )
        self.sober_dist_lo = float(np.quantile(dists[self.labels == 0], 0.5))
        self.sober_dist_hi = float(np.quantile(dists[self.labels == 1], 0.9))
        if self.sober_dist_hi <= self.sober_dist_lo:
            self.sober_dist_hi = self.sober_dist_lo + 1e-3

    def severity(self, dist: float) -> float:
        return float(np.clip((dist - self.sober_dist_lo) / (self.sober_dist_hi - self.sober_dist_lo), 0.0, 1.0))

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            features=self.features.astype(np.float32),
            labels=self.labels,
            subjects=self.subjects,
            views=self.views,
            sessions=self.sessions,
            params=np.array([self.k, self.tau, self.k_sober, self.sober_dist_lo, self.sober_dist_hi]),
        )

    @classmethod
    def load(cls, path: Path) -> ReferenceStore:
        if not path.is_file():
            raise ConfigError(f"reference store not found: {path}")
        with np.load(path, allow_pickle=False) as z:
            k, tau, k_sober, lo, hi = (float(v) for v in z["params"])
            store = cls(z["features"], z["labels"], z["subjects"], z["views"], z["sessions"], int(k), tau, int(k_sober))
        store.sober_dist_lo, store.sober_dist_hi = lo, hi
        return store


class FaceStateAnalyzer:
    """``analyse(image) -> FaceStateReport`` with the shipped ONNX extractor and reference store."""

    def __init__(
        self,
        model_dir: Path | None = None,
        uncertain_low: float = 0.35,
        uncertain_high: float = 0.65,
        use_view_index: bool = True,
    ) -> None:
        if not 0.0 <= uncertain_low <= uncertain_high <= 1.0:
            raise ConfigError("need 0 <= uncertain_low <= uncertain_high <= 1")
        self.model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        self.uncertain_low, self.uncertain_high = uncertain_low, uncertain_high
        self.use_view_index = use_view_index
        self._session: Any = None
        self._store: ReferenceStore | None = None
        self._card: dict[str, Any] | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> FaceStateAnalyzer:
        """Build from ``Settings`` (``settings.sobriety.face_state_*``); nothing is loaded yet."""
        s = settings.sobriety
        return cls(s.face_state_model_dir, s.face_state_uncertain_low, s.face_state_uncertain_high)

    # -- lazy loading ---------------------------------------------------------------------------
    def _load(self) -> None:
        if self._session is not None:
            return
        onnx_path = self.model_dir / MODEL_FILE
        if not onnx_path.is_file():
            raise ConfigError(f"face-state model not found: {onnx_path}")
        self._session = cpu_session(onnx_path)
        self._store = ReferenceStore.load(self.model_dir / STORE_FILE)
        card_path = self.model_dir / CARD_FILE
        self._card = json.loads(card_path.read_text()) if card_path.is_file() else {}

    @property
    def store(self) -> ReferenceStore:
        self._load()
        assert self._store is not None
        return self._store

    @property
    def views(self) -> tuple[str, ...]:
        """Views the reference store (and the training data) cover: "e" eyes, "f" front, "r" profile."""
        return tuple(sorted(self.store.index))

    @property
    def card(self) -> dict[str, Any]:
        self._load()
        assert self._card is not None
        return self._card

    def embed(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(N, 1, INPUT_H, INPUT_W) preprocessed → (N, D) L2-normalised features."""
        self._load()
        if batch.ndim != 4 or batch.shape[1:] != (1, INPUT_H, INPUT_W):
            raise InvalidInput(f"expected (N, 1, {INPUT_H}, {INPUT_W}) input")
        out = self._session.run(None, {"image": batch.astype(np.float32)})[0]
        return np.asarray(out, dtype=np.float32)

    # -- public ---------------------------------------------------------------------------------
    def analyse(
        self,
        image: npt.NDArray[np.uint8] | bytes,
        view: str | None = None,
        exclude_subject: str | None = None,
    ) -> FaceStateReport:
        """Analyse one thermal face image (grey/BGR array or encoded bytes, decoded in memory).

        ``view`` ("e" eyes close-up, "f" frontal, "r" profile) restricts matching to references of
        the same view when known; ``exclude_subject`` leaves one subject's references out (evaluation).
        """
        grey = decode_grey(image) if isinstance(image, bytes | bytearray) else image
        x, quality = preprocess_thermal(grey)
        feat = self.embed(x[None])[0]
        store = self.store
        v = view if (self.use_view_index and view in store.index) else None
        p, dist, hits = store.match(feat, view=v, exclude_subject=exclude_subject)
        sev_score = store.severity(dist)
        unsupported_view = view is not None and view not in store.index
        if unsupported_view:
            state = "uncertain"  # the model was not trained on this view: never act on it
        elif p >= self.uncertain_high:
            state = "abnormal"
        elif p <= self.uncertain_low:
            state = "normal"
        else:
            state = "uncertain"
        severity = "none"
        if state != "normal":
            severity = SEVERITY_LEVELS[1 + min(2, int(sev_score * 3))] if sev_score > 0 else "mild"
        nearest = tuple(
            ReferenceHit(
                ref_id=f"ref-{r:04d}",
                label="drunk" if store.labels[r] == 1 else "sober",
                view=str(store.views[r]),
                session=int(store.sessions[r]),
                similarity=round(s, 4),
            )
            for r, s in hits
        )
        n_drunk = sum(1 for h in nearest if h.label == "drunk")
        explanation = (
            f"{n_drunk} of the {len(nearest)} most similar reference faces were recorded after drinking "
            f"(class-balanced weighted share {p:.2f}); the face is {dist:.3f} (cosine distance) from the "
            f"nearest sober references, severity {sev_score:.2f} on a 0-1 scale set by the reference "
            "distributions. Thermal modality only; a hint for staff, never a decision on its own."
        )
        warnings: list[str] = []
        if quality.bright_background_fixed:
            warnings.append("bright-background palette detected and normalised")
        if quality.sharpened:
            warnings.append("blurry image (sharpened before analysis)")
        if unsupported_view:
            warnings.append(
                f"view {view!r} is not supported by this model (trained on views {sorted(store.index)}); "
                "state forced to 'uncertain'"
            )
        return FaceStateReport(
            state=state,
            p_abnormal=round(p, 4),
            severity=severity,
            severity_score=round(sev_score, 4),
            distance=round(dist, 4),
            nearest=nearest,
            quality=_round_quality(quality),
            explanation=explanation,
            model_version=str(self.card.get("version", "")),
            warnings=tuple(warnings),
        )


class HogFaceState:
    """The live thermal face-state model: HOG + calibrated logistic regression per view, fused per visit.

    ``analyse({"f": image, ...})`` scores each view given (grey/BGR array or encoded bytes, decoded in
    memory) and returns the ``ThermalFaceState`` report. Loading is lazy; parameters are plain arrays.
    """

    def __init__(self, model_dir: Path | None = None, uncertain_low: float = 0.35, uncertain_high: float = 0.65):
        self.model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        self.uncertain_low, self.uncertain_high = uncertain_low, uncertain_high
        self._params: dict[str, dict[str, npt.NDArray[np.float64]]] | None = None
        self._prior_log_odds = 0.0
        self._version = ""

    @classmethod
    def from_settings(cls, settings: Any) -> HogFaceState:
        s = settings.sobriety
        return cls(s.face_state_model_dir, s.face_state_uncertain_low, s.face_state_uncertain_high)

    def _load(self) -> dict[str, dict[str, npt.NDArray[np.float64]]]:
        if self._params is None:
            path = self.model_dir / HOG_MODEL_FILE
            if not path.is_file():
                raise ConfigError(f"thermal face-state model not found: {path}")
            params: dict[str, dict[str, npt.NDArray[np.float64]]] = {}
            with np.load(path, allow_pickle=False) as z:
                for key in z.files:
                    view, _, name = key.partition("_")
                    params.setdefault(view, {})[name] = np.asarray(z[key], dtype=np.float64)
            card_path = self.model_dir / HOG_CARD_FILE
            card = json.loads(card_path.read_text()) if card_path.is_file() else {}
            prior = float(card.get("training_prior", 0.5))
            self._prior_log_odds = float(np.log(prior / (1.0 - prior)))
            self._version = str(card.get("version", ""))
            self._params = params
        return self._params

    @property
    def views(self) -> tuple[str, ...]:
        return tuple(sorted(self._load()))

    def view_evidence(self, image: npt.NDArray[np.uint8] | bytes, view: str) -> tuple[ViewScore, ThermalQuality]:
        params = self._load()
        if view not in params:
            raise InvalidInput(f"thermal view {view!r} not supported (model views: {sorted(params)})", field="view")
        p = params[view]
        grey = decode_grey(image) if isinstance(image, bytes | bytearray) else image
        x, quality = preprocess_thermal(grey)
        z = (hog_features(x).astype(np.float64) - p["mean"]) / p["scale"]
        decision = float(z @ p["coef"] + p["intercept"][0])
        a, b = p["platt"]
        log_odds = -(a * decision + b)  # Platt: P = 1 / (1 + exp(a·f + b))
        return ViewScore(view, log_odds - self._prior_log_odds), quality

    def analyse(self, images: dict[str, npt.NDArray[np.uint8] | bytes]) -> ThermalFaceState:
        """One visit's thermal views (any of "e", "f", "r") → the fused face-state report."""
        scores: list[ViewScore] = []
        warnings: list[str] = []
        for view in sorted(images):
            score, quality = self.view_evidence(images[view], view)
            scores.append(score)
            if quality.bright_background_fixed:
                warnings.append(f"{view}: bright-background palette detected and normalised")
            if quality.sharpened:
                warnings.append(f"{view}: blurry image (sharpened before analysis)")
        return assess(tuple(scores), self.uncertain_low, self.uncertain_high, self._version, tuple(warnings))


def _round_quality(q: ThermalQuality) -> dict[str, float | bool]:
    return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in q.to_dict().items()}


__all__ = ["FaceStateAnalyzer", "FaceStateReport", "HogFaceState", "ReferenceHit", "ReferenceStore", "hog_features"]
