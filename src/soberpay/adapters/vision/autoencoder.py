"""ONNX embedder for the semi-supervised convolutional autoencoder face model (finance patent claims 1-4).

The model is trained by ``soberpay train face-model`` (``soberpay_lab.training.autoencoder``, torch) and
exported to ONNX; this adapter runs it with onnxruntime only, so inference never imports torch.

Preprocessing is defined here once and imported by the training code, so that training crops and
inference crops are made the same way:

1. 5-landmark similarity alignment to the 112x112 ArcFace/SFace template (the same reference points
   as OpenCV's ``FaceRecognizerSF.alignCrop``);
2. grey, area-resized to ``INPUT_SIZE`` (64x64), scaled to [0, 1].

The ONNX graph takes ``input`` of shape (N, 1, 64, 64) float32 and returns ``embedding`` (N, D),
already L2-normalised.
"""

from __future__ import annotations

import json
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from soberpay.errors import ConfigError, FaceError
from soberpay.ports import DetectedFace, Embedding, ImageBGR

__all__ = [
    "ALIGN_SIZE",
    "INPUT_SIZE",
    "REFERENCE_LANDMARKS_112",
    "AutoencoderEmbedder",
    "align_face",
    "default_model_path",
    "face_tensor",
    "similarity_transform",
]

ALIGN_SIZE = 112
INPUT_SIZE = 64
# Reference landmark positions in a 112x112 crop (right eye, left eye, nose, mouth right, mouth left),
# as used by OpenCV's FaceRecognizerSF::alignCrop and ArcFace.
REFERENCE_LANDMARKS_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
EMBEDDING_DIM = 128
MODEL_FILENAME = "autoencoder_face.onnx"
CARD_FILENAME = "model_card.json"


def similarity_transform(src: npt.NDArray[np.float64], dst: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Least-squares similarity (rotation, uniform scale, translation) mapping ``src`` onto ``dst``.

    Umeyama (1991); returns the 2x3 matrix for ``cv2.warpAffine``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    n = src.shape[0]
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s_c, d_c = src - mu_s, dst - mu_d
    cov = d_c.T @ s_c / n
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(cov) < 0:
        d[1] = -1.0
    rot = u @ np.diag(d) @ vt
    var_s = (s_c**2).sum() / n
    scale = float((sig * d).sum() / var_s) if var_s > 0 else 1.0
    t = mu_d - scale * rot @ mu_s
    m = np.zeros((2, 3), dtype=np.float64)
    m[:, :2] = scale * rot
    m[:, 2] = t
    return m


def align_face(image: ImageBGR, face: DetectedFace, size: int = ALIGN_SIZE) -> ImageBGR:
    """Warp the face to the canonical 112x112 pose from its 5 landmarks (in memory, never saved)."""
    if len(face.landmarks) != 5:
        raise FaceError("the autoencoder embedder needs 5 face landmarks", n_landmarks=len(face.landmarks))
    src = np.asarray(face.landmarks, dtype=np.float64)
    dst = REFERENCE_LANDMARKS_112 * (size / ALIGN_SIZE)
    m = similarity_transform(src, dst)
    out: ImageBGR = np.asarray(
        cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT),
        dtype=np.uint8,
    )
    return out


def face_tensor(aligned: ImageBGR, input_size: int = INPUT_SIZE) -> npt.NDArray[np.float32]:
    """Aligned BGR (or grey) crop -> (1, input_size, input_size) float32 grey in [0, 1]."""
    grey = cv2.cvtColor(aligned, cv2.COLOR_BGR2GRAY) if aligned.ndim == 3 else aligned
    small = cv2.resize(grey, (input_size, input_size), interpolation=cv2.INTER_AREA)
    return (small.astype(np.float32) / 255.0)[None, :, :]


def default_model_path() -> Path:
    """The model shipped in the package (``soberpay/models/autoencoder/autoencoder_face.onnx``)."""
    return Path(str(resources.files("soberpay") / "models" / "autoencoder" / MODEL_FILENAME))


class AutoencoderEmbedder:
    """``Embedder`` port over the exported autoencoder's supervised-head embedding (onnxruntime)."""

    name = "autoencoder"

    def __init__(self, model_path: Path | str | None = None, *, num_threads: int = 1) -> None:
        self.model_path = Path(model_path) if model_path is not None else default_model_path()
        self._num_threads = num_threads
        self._session: Any = None
        self._lock = threading.Lock()
        self.dim = EMBEDDING_DIM  # confirmed from the graph when the model loads
        self._input_size = INPUT_SIZE

    @classmethod
    def from_settings(cls, settings: Any) -> AutoencoderEmbedder:
        """Build from ``Settings`` (uses ``identity.autoencoder_model`` if set, else the shipped file)."""
        return cls(settings.identity.autoencoder_model)

    def _load(self) -> Any:
        if self._session is not None:
            return self._session
        with self._lock:
            if self._session is None:
                if not self.model_path.is_file():
                    raise ConfigError(
                        f"autoencoder model not found: {self.model_path} (train it with "
                        "`soberpay train face-model` or set identity.autoencoder_model)",
                        path=str(self.model_path),
                    )
                import onnxruntime as ort

                opts = ort.SessionOptions()
                opts.intra_op_num_threads = self._num_threads
                opts.inter_op_num_threads = 1
                try:
                    sess = ort.InferenceSession(
                        str(self.model_path), sess_options=opts, providers=["CPUExecutionProvider"]
                    )
                except Exception as exc:  # onnxruntime raises its own non-public exception types
                    raise ConfigError(f"cannot load autoencoder model {self.model_path}: {exc}") from exc
                shape = sess.get_inputs()[0].shape
                if isinstance(shape[-1], int):
                    self._input_size = int(shape[-1])
                out_dim = sess.get_outputs()[0].shape[-1]
                if isinstance(out_dim, int):
                    self.dim = int(out_dim)
                self._session = sess
        return self._session

    def embed_tensors(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Run the ONNX graph on preprocessed crops (N, 1, S, S) -> (N, D) unit vectors."""
        sess = self._load()
        out = sess.run(None, {sess.get_inputs()[0].name: np.ascontiguousarray(batch, dtype=np.float32)})[0]
        emb = np.asarray(out, dtype=np.float32)
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        unit: npt.NDArray[np.float32] = (emb / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit

    def embed(self, image: ImageBGR, face: DetectedFace) -> Embedding:
        self._load()
        x = face_tensor(align_face(image, face), self._input_size)
        e: Embedding = self.embed_tensors(x[None])[0]
        return e

    def model_card(self) -> dict[str, Any] | None:
        """The JSON model card next to the ONNX file, if present."""
        card = self.model_path.with_name(CARD_FILENAME)
        if card.is_file():
            data: dict[str, Any] = json.loads(card.read_text(encoding="utf-8"))
            return data
        return None
