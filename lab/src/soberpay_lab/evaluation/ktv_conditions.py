"""Write a KTV-conditioned copy of face pictures: dim, coloured light, small, blurred — deterministic.
``--enhance`` also applies the low-light preprocessing candidate (``lowlight.py``) so ``soberpay eval
faces`` measures before/after.

* a one-folder-per-person dataset (e.g. ORL): one condition per image, cycling;
* ``--samples``: a folder of loose photos (the bundled ``src/soberpay/assets/faces``), one person per
  file name without its digits (``obama2.jpg`` → ``obama``); each photo is written once in every
  condition, and the person's first photo also clean (the gallery). These photos are 640 px, so
  ``small`` loses 4× resolution here (2× on ORL's 92×112) to bring faces near the 40 px gate.

Usage: ``python -m soberpay_lab.evaluation.ktv_conditions SRC OUT [--enhance] [--samples]``
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np

CONDITIONS = ("dim", "magenta", "blue", "small", "blur", "dim_magenta")


def ktv(image: Any, condition: str, rng: np.random.Generator, shrink: int = 2) -> Any:
    """``image`` under one KTV ``condition``; ``small`` loses resolution by ``shrink`` (down, then back up)."""
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
        out = cv2.resize(cv2.resize(out, (w // shrink, h // shrink), interpolation=cv2.INTER_AREA), (w, h))
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


def build_samples(src: Path, out: Path, enhance: bool, seed: int = 11) -> int:
    from soberpay_lab.evaluation.lowlight import enhance_low_light

    rng = np.random.default_rng(seed)
    photos = sorted(f for f in src.iterdir() if f.suffix.lower() in {".jpg", ".jpeg", ".png"})
    people: dict[str, list[Path]] = {}
    for f in photos:
        people.setdefault(re.sub(r"\d+$", "", f.stem), []).append(f)
    for person, files in people.items():
        (out / person).mkdir(parents=True, exist_ok=True)
        for j, f in enumerate(files):
            image = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if image is None:
                continue
            # "0_" sorts first: the clean first photo is the gallery in `eval faces` (a lit kiosk)
            variants = ([("0_clean", image)] if j == 0 else []) + [
                (f"1_{c}", ktv(image, c, rng, shrink=4)) for c in CONDITIONS
            ]
            for name, img in variants:
                cv2.imwrite(str(out / person / f"{name}_{f.stem}.png"), enhance_low_light(img) if enhance else img)
    return len(people)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--enhance", action="store_true")
    ap.add_argument("--samples", action="store_true", help="SRC is a folder of loose photos, not one per person")
    args = ap.parse_args(argv)
    n = (build_samples if args.samples else build)(args.src, args.out, args.enhance)
    print(n, "people written to", args.out)


if __name__ == "__main__":
    main()
