"""Safe image decoding: good formats decode to BGR uint8, every kind of bad input is a BadImage."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from soberpay.adapters.images import decode_image, load_image_file, pad_small_image
from soberpay.assets import read_asset
from soberpay.errors import BadImage

LIMITS = {"max_bytes": 20_000_000, "max_pixels": 40_000_000}


def _encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width×height but carries only a tiny IDAT (a decompression bomb header)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def test_decodes_sample_jpeg_to_bgr() -> None:
    img = decode_image(read_asset("faces", "obama.jpg"), **LIMITS)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert img.flags["C_CONTIGUOUS"]


def test_channel_order_is_bgr() -> None:
    red = Image.new("RGB", (8, 8), (255, 0, 0))
    img = decode_image(_encode(red, "PNG"), **LIMITS)
    assert tuple(img[0, 0]) == (0, 0, 255)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16", "CMYK", "LA"])
def test_other_modes_become_bgr(mode: str) -> None:
    src = Image.new("RGB", (10, 6), (10, 200, 30)).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else ("TIFF" if mode == "I;16" else "PNG")
    img = decode_image(_encode(src, fmt), **LIMITS)
    assert img.shape == (6, 10, 3) and img.dtype == np.uint8


def test_transparent_pixels_become_white() -> None:
    src = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    img = decode_image(_encode(src, "PNG"), **LIMITS)
    assert img.min() == 255


def test_pgm_greyscale(tmp_path: Path) -> None:
    src = Image.fromarray(np.arange(0, 240, dtype=np.uint8).reshape(12, 20))
    img = decode_image(_encode(src, "PPM"), **LIMITS)
    assert img.shape == (12, 20, 3)
    assert np.array_equal(img[:, :, 0], img[:, :, 2])


def test_zero_bytes() -> None:
    with pytest.raises(BadImage, match="empty"):
        decode_image(b"", **LIMITS)


def test_random_bytes() -> None:
    data = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    with pytest.raises(BadImage, match="not a recognised image"):
        decode_image(data, **LIMITS)


def test_text_is_not_an_image() -> None:
    with pytest.raises(BadImage):
        decode_image(b"hello, I am definitely a photo", **LIMITS)


def test_truncated_jpeg() -> None:
    data = read_asset("faces", "obama.jpg")
    with pytest.raises(BadImage, match="truncated|corrupt"):
        decode_image(data[: len(data) // 2], **LIMITS)


def test_truncated_png() -> None:
    data = _encode(Image.new("RGB", (300, 300), (1, 2, 3)), "PNG", compress_level=0)
    with pytest.raises(BadImage):
        decode_image(data[: len(data) // 3], **LIMITS)


def test_too_many_bytes() -> None:
    with pytest.raises(BadImage, match="too large"):
        decode_image(b"\xff" * 2_000, max_bytes=1_000, max_pixels=10_000)


def test_decompression_bomb_header_rejected_before_decoding() -> None:
    bomb = _png_header_only(100_000, 100_000)  # claims 10 gigapixels in ~100 bytes
    assert len(bomb) < 200
    with pytest.raises(BadImage, match="pixel limit"):
        decode_image(bomb, **LIMITS)


def test_pixel_cap_applies_to_real_images() -> None:
    data = _encode(Image.new("RGB", (200, 200)), "PNG")
    with pytest.raises(BadImage, match="pixel limit"):
        decode_image(data, max_bytes=1_000_000, max_pixels=39_999)
    assert decode_image(data, max_bytes=1_000_000, max_pixels=40_000).shape == (200, 200, 3)


def test_exif_orientation_applied() -> None:
    src = Image.new("RGB", (40, 20), (0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    img = decode_image(_encode(src, "JPEG", exif=exif), **LIMITS)
    assert img.shape[:2] == (40, 20)


def test_not_bytes() -> None:
    with pytest.raises(BadImage):
        decode_image("obama.jpg", **LIMITS)  # type: ignore[arg-type]


def test_load_image_file(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(_encode(Image.new("RGB", (5, 7)), "PNG"))
    assert load_image_file(path, **LIMITS).shape == (7, 5, 3)
    with pytest.raises(BadImage, match="not found"):
        load_image_file(tmp_path / "missing.jpg", **LIMITS)
    with pytest.raises(BadImage, match="too large"):
        load_image_file(path, max_bytes=10, max_pixels=1_000)


def test_pad_small_image() -> None:
    small = np.zeros((112, 92, 3), np.uint8)
    out = pad_small_image(small)
    assert out.shape == (112 * 2 * 3 // 2, 92 * 2 * 3 // 2, 3)
    big = np.zeros((480, 640, 3), np.uint8)
    assert pad_small_image(big) is big
