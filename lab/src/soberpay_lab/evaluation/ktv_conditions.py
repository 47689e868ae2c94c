"""Write a KTV-conditioned copy of a one-folder-per-person face dataset (e.g. ORL): dim, coloured light,
small, blurred — one condition per image, cycling, deterministic. ``--enhance`` also applies the runtime
low-light preprocessing candidate (``lowlight.py``) so ``soberpay eval faces`` measures before/after.

Usage: ``python -m soberpay_lab.evaluation.ktv_conditions SRC OUT [--enhance]``
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import cv2
import numpy as np

CONDITIONS = ("dim", "magenta", "blue", "small", "blur", "dim_magenta")


def ktv(image: Any, condition: str, rng: np.random.Generator) -> Any:
    img = image.astype(np.float32)
    if "dim" in condition:
        img = 255.0 * (img / 255.0) ** 1.8 * 0.45  # a dark room: crushed shadows, low level
    if "magenta" in condition:
        img *= (1.0, 0.45, 1.0)  # BGR: green removed
    if condition == "blue":
        img *= (1.0, 0.6, 0.35)
    img = img + rng.normal(0, 4.0 if "dim" in condition else 2.0, img.shape)  # sensor noise, worse in the dark
    out = np.clip(img, 0, 255).astype(np.uint8)
    if condition == "small":
        h, w = out.shape[:2]
        out = cv2.resize(cv2.resize(out, (w // 2, h // 2), interpolation=cv2.INTER_AREA), (w, h))
    if condition == "blur":
        out = cv2.GaussianBlur(out, (0, 0), 1.6)
    return out


def build(src: Path, out: Path, enhance: bool, seed: int = 11) -> int:
    from soberpay_lab.evaluation.lowlight import enhance_low_light

    rng = np.random.default_rng(seed)
    n = 0
    for person in sorted(p for p in src.iterdir() if p.is_dir()):
        files = sorted(f for f in person.iterdir() if f.suffix.lower() in {".pgm", ".jpg", ".png"})
        for i, f in enumerate(files):
            image = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if image is None:
                continue
            # the first image (the gallery in `eval faces`) stays clean: enrolment happens at a lit kiosk
            img = image if i == 0 else ktv(image, CONDITIONS[(i + n) % len(CONDITIONS)], rng)
            if enhance:
                img = enhance_low_light(img)
            (out / person.name).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(out / person.name / (f.stem + ".png")), img)
        n += 1
    return n


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--enhance", action="store_true")
    args = ap.parse_args(argv)
    print(build(args.src, args.out, args.enhance), "people written to", args.out)


if __name__ == "__main__":
    main()
