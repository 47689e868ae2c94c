"""Thermal face preprocessing for the ResNet face-state model (KTV method step S102: "adjust
sharpness, brightness and contrast"). numpy + OpenCV only; shared by training and ONNX inference.

Steps, in order (each is measured and reported in ``ThermalQuality``):

1. **Quality measurements** on the raw grey image: sharpness (variance of the Laplacian), brightness
   (mean grey), contrast (std grey).
2. **Palette normalisation.** Some Patras images (subjects 11-14) were exported with a different
   display range: a bright background around a darker head. When the image border is clearly
   brighter than the centre, the bright background connected to the border is replaced by the
   image's dark level, so "background = cold = dark" holds for every image.
3. **Sharpness.** Blurry images (Laplacian variance below ``BLUR_VARIANCE``) get an unsharp mask.
4. **Resize** to ``INPUT_W`` x ``INPUT_H`` (area interpolation; 160x128 → 80x64 keeps the aspect).
5. **Brightness/contrast.** Robust stretch between the 1st and 99th percentiles, then zero mean
   and unit variance per image (grey levels are display values, not temperatures, so absolute
   levels carry no calibrated meaning across images).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
import numpy.typing as npt

from soberpay.errors import BadImage

INPUT_W = 80
INPUT_H = 64
BLUR_VARIANCE = 350.0  # Laplacian variance below which the unsharp mask is applied (~15th pct on Patras)
BACKGROUND_MARGIN = 10.0  # border brighter than centre by this many grey levels → bright-background palette


@dataclass(frozen=True)
class ThermalQuality:
    sharpness: float
    brightness: float
    contrast: float
    bright_background_fixed: bool
    sharpened: bool

    def to_dict(self) -> dict[str, float | bool]:
        return asdict(self)


def to_grey(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Accept H×W grey or H×W×3 BGR uint8; return H×W grey."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or arr.size == 0:
        raise BadImage("expected a non-empty uint8 grey (H×W) or BGR (H×W×3) image")
    if arr.ndim == 3:
        if arr.shape[2] == 1:
            return np.ascontiguousarray(arr[:, :, 0])
        if arr.shape[2] != 3:
            raise BadImage("colour images must have 3 channels (BGR)")
        return np.asarray(cv2.cvtColor(arr, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    if min(arr.shape) < 16:
        raise BadImage("image too small (need at least 16 px per side)")
    return arr


def decode_grey(data: bytes) -> npt.NDArray[np.uint8]:
    """Decode image bytes in memory (never via a temporary file)."""
    if not data:
        raise BadImage("empty image data")
    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise BadImage("could not decode image")
    return np.asarray(img, dtype=np.uint8)


def _fix_bright_background(grey: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint8], bool]:
    h, w = grey.shape
    g = grey.astype(np.float32)
    e = max(2, min(h, w) // 20)
    border = np.concatenate([g[:e].ravel(), g[-e:].ravel(), g[:, :e].ravel(), g[:, -e:].ravel()])
    centre = g[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]
    if float(border.mean() - centre.mean()) <= BACKGROUND_MARGIN:
        return grey, False
    thr, bright = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    n, labels = cv2.connectedComponents(bright, connectivity=4)
    edge_labels = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])))
    edge_labels.discard(0)
    mask = np.isin(labels, list(edge_labels)) & (bright > 0)
    if not mask.any():
        return grey, False
    dark = np.percentile(g[~mask], 2) if (~mask).any() else 0.0
    out = grey.copy()
    out[mask] = np.uint8(max(0.0, min(255.0, dark)))
    return out, True


def preprocess_thermal(image: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float32], ThermalQuality]:
    """Return the (1, INPUT_H, INPUT_W) float32 model input and the quality record."""
    grey = to_grey(image)
    g = grey.astype(np.float32)
    sharpness = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    brightness = float(g.mean())
    contrast = float(g.std())
    fixed_img, fixed = _fix_bright_background(grey)
    work = fixed_img.astype(np.float32)
    sharpened = sharpness < BLUR_VARIANCE
    if sharpened:
        blur = cv2.GaussianBlur(work, (0, 0), 2.0)
        work = np.asarray(cv2.addWeighted(work, 1.8, blur, -0.8, 0.0), dtype=np.float32)
    small = np.asarray(cv2.resize(work, (INPUT_W, INPUT_H), interpolation=cv2.INTER_AREA), dtype=np.float32)
    lo, hi = np.percentile(small, [1.0, 99.0])
    stretched = np.clip((small - lo) / max(float(hi - lo), 1e-3), 0.0, 1.0)
    normed = (stretched - stretched.mean()) / max(float(stretched.std()), 1e-3)
    quality = ThermalQuality(sharpness, brightness, contrast, fixed, sharpened)
    out: npt.NDArray[np.float32] = normed[None].astype(np.float32)
    return out, quality


__all__ = ["INPUT_H", "INPUT_W", "ThermalQuality", "decode_grey", "preprocess_thermal", "to_grey"]
