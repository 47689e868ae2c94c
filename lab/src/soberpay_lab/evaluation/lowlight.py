"""A low-light preprocessing CANDIDATE for KTV rooms: grey-world white balance, gamma, luminance CLAHE.

Measured before/after with ``python -m soberpay_lab.evaluation.ktv_conditions`` + ``soberpay eval
faces``: on KTV-conditioned ORL it made SFace worse (docs/guide/liveness.md), so the runtime pipeline
does not use it; it stays here so the measurement can be repeated on venue footage.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

__all__ = ["LOW_LIGHT_MEAN", "enhance_low_light"]

LOW_LIGHT_MEAN = 90.0  # mean L (0..255) below which a picture counts as dim
TINT_RATIO = 1.25  # strongest / weakest channel mean above which the light counts as coloured
TARGET_MEAN = 120.0


def enhance_low_light(image: Any) -> Any:
    """The picture unchanged when it is neither dim nor tinted; else balanced, brightened and CLAHE'd."""
    small = image[:: max(1, image.shape[0] // 120), :: max(1, image.shape[1] // 120)].reshape(-1, 3)
    means = np.maximum(small.astype(np.float32).mean(axis=0), 1.0)
    lum = float(cv2.cvtColor(small.reshape(1, -1, 3), cv2.COLOR_BGR2LAB)[..., 0].mean())
    tinted = float(means.max() / means.min()) > TINT_RATIO
    if lum >= LOW_LIGHT_MEAN and not tinted:
        return image
    out = image.astype(np.float32)
    if tinted:  # grey world: KTV lights are strongly coloured
        out *= float(means.mean()) / means
    out = np.clip(out, 0, 255).astype(np.uint8)
    lab = cv2.cvtColor(out, cv2.COLOR_BGR2LAB)
    light = lab[..., 0]
    mean = max(float(light.mean()), 1.0)
    if mean < TARGET_MEAN:  # gamma that maps the mean luminance to the target
        gamma = float(np.log(TARGET_MEAN / 255.0) / np.log(mean / 255.0))
        table = np.clip(255.0 * (np.arange(256) / 255.0) ** gamma, 0, 255).astype(np.uint8)
        light = cv2.LUT(light, table)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(light)
    return np.asarray(cv2.cvtColor(lab, cv2.COLOR_LAB2BGR), dtype=np.uint8)
