"""Autoencoder face model: torch vs ONNX parity, and the shipped model through the Embedder port."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from soberpay.adapters.vision.autoencoder import (
    AutoencoderEmbedder,
    align_face,
    default_model_path,
    face_tensor,
    similarity_transform,
)
from soberpay.errors import ConfigError
from soberpay.ports import DetectedFace, Embedder

ASSET_FACE = Path(__file__).resolve().parents[2] / "src" / "soberpay" / "assets" / "faces" / "obama.jpg"


def test_torch_and_onnx_embeddings_agree_on_a_tiny_model(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from soberpay_lab.training.autoencoder import ConvAutoencoderFaceNet, ModelConfig, embed_numpy, export_onnx

    torch.manual_seed(0)
    model = ConvAutoencoderFaceNet(ModelConfig(input_size=32, channels=(4, 8, 16), embedding_dim=8), 5)
    # move batch-norm statistics away from their defaults so the export has to carry them
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(8, 1, 32, 32))
    path = export_onnx(model, tmp_path / "tiny.onnx")
    x = np.random.default_rng(0).random((5, 1, 32, 32)).astype(np.float32)
    ref = embed_numpy(model, x)
    emb = AutoencoderEmbedder(path)
    got = emb.embed_tensors(x)
    assert got.shape == (5, 8)
    assert np.abs(got - ref).max() < 1e-5
    assert emb.dim == 8


def _detect(image: np.ndarray) -> DetectedFace:
    from soberpay.adapters.vision.yunet import YuNetDetector

    faces = YuNetDetector().detect(image)
    assert faces, "YuNet found no face in the bundled sample"
    return max(faces, key=lambda f: f.score)


def test_shipped_model_loads_and_returns_unit_embeddings() -> None:
    import cv2

    path = default_model_path()
    assert path.is_file(), f"shipped model missing: {path}"
    assert path.stat().st_size < 8_000_000
    embedder = AutoencoderEmbedder()
    assert isinstance(embedder, Embedder)
    assert embedder.name == "autoencoder"
    image = cv2.imdecode(np.frombuffer(ASSET_FACE.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    face = _detect(image)
    e = embedder.embed(image, face)
    assert e.dtype == np.float32 and e.shape == (embedder.dim,)
    assert float(np.linalg.norm(e)) == pytest.approx(1.0, abs=1e-5)
    # the same face in a slightly shifted frame stays very similar (alignment absorbs the shift)
    shifted = np.roll(image, 3, axis=1)
    e2 = embedder.embed(shifted, _detect(shifted))
    assert float(e @ e2) > 0.9
    card = embedder.model_card()
    assert card is not None and card["split"]["kind"] == "subject-disjoint"


def test_alignment_maps_landmarks_onto_the_template() -> None:
    from soberpay.adapters.vision.autoencoder import REFERENCE_LANDMARKS_112

    src = REFERENCE_LANDMARKS_112 * 2.0 + np.array([30.0, 10.0])
    m = similarity_transform(src, REFERENCE_LANDMARKS_112)
    mapped = (m[:, :2] @ src.T).T + m[:, 2]
    assert np.allclose(mapped, REFERENCE_LANDMARKS_112, atol=1e-6)
    img = np.zeros((300, 300, 3), np.uint8)
    face = DetectedFace((0, 0, 10, 10), tuple(map(tuple, src.tolist())), 0.9)  # type: ignore[arg-type]
    crop = align_face(img, face)
    assert crop.shape == (112, 112, 3)
    t = face_tensor(crop)
    assert t.shape == (1, 64, 64) and t.dtype == np.float32


def test_missing_model_is_a_config_error(tmp_path: Path) -> None:
    emb = AutoencoderEmbedder(tmp_path / "nope.onnx")
    face = DetectedFace((0, 0, 10, 10), ((1, 1), (2, 1), (1.5, 2), (1, 3), (2, 3)), 0.9)
    with pytest.raises(ConfigError):
        emb.embed(np.zeros((50, 50, 3), np.uint8), face)


def test_inference_path_never_imports_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from soberpay.adapters.vision.autoencoder import AutoencoderEmbedder\n"
        "e = AutoencoderEmbedder()\n"
        "v = e.embed_tensors(np.zeros((1, 1, 64, 64), np.float32))\n"
        "assert v.shape == (1, e.dim)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
