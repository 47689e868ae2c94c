"""A corpus of hostile and awkward image files, made in memory (nothing here is a real face).

Used by the decoding bound test and by the HTTP hardening tests: each entry is (name, bytes). The
kinds follow what an attacker or a broken client sends: decompression bombs (small files declaring
huge bitmaps), truncated and corrupt data, unusual but valid encodings (CMYK, 16-bit, EXIF-rotated,
animated, palette with transparency) and polyglots (an image that is also an archive or a page).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator

import numpy as np
from PIL import Image


def _save(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png_declaring(width: int, height: int, *, bit_depth: int = 8, colour: int = 2, idat: bytes | None = None) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    body = idat if idat is not None else zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def flat_png(width: int, height: int, *, bit_depth: int = 8, colour: int = 2) -> bytes:
    """A complete, valid single-colour PNG: tiny on the wire, width×height in memory."""
    channels = {0: 1, 2: 3, 6: 4}[colour]
    row = b"\x00" + b"\x7f" * (width * channels * bit_depth // 8)
    comp = zlib.compressobj(9)
    parts = [comp.compress(row) for _ in range(height)]
    parts.append(comp.flush())
    return png_declaring(width, height, bit_depth=bit_depth, colour=colour, idat=b"".join(parts))


def corpus() -> Iterator[tuple[str, bytes]]:
    rng = np.random.default_rng(7)
    noise = Image.fromarray(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8))
    jpeg = _save(noise, "JPEG", quality=90)
    big_jpeg = _save(Image.new("RGB", (5000, 3000), (90, 60, 40)), "JPEG", quality=80)  # 15 Mpx, under the cap
    yield "empty", b""
    yield "one byte", b"\xff"
    yield "text", b"hello, this is not an image\n" * 10
    yield "html", b"<html><body><script>alert(1)</script></body></html>"
    yield "svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"></svg>'
    yield "png bomb header 100k x 100k", png_declaring(100_000, 100_000)
    yield "png bomb header 2^31 wide", png_declaring(2**31 - 1, 1)
    yield "png 39.7 Mpx single colour", flat_png(7300, 5440)
    yield "png 16 Mpx single colour (at the cap)", flat_png(4000, 4000)
    yield "png 16-bit 15 Mpx greyscale", flat_png(5000, 3000, bit_depth=16, colour=0)
    yield "png rgba 12 Mpx", flat_png(4000, 3000, colour=6)
    yield "png truncated", flat_png(640, 480)[:-40]
    yield "png bad crc", png_declaring(640, 480)[:-5] + b"\x00\x00\x00\x00\x00"
    yield "jpeg truncated", jpeg[: len(jpeg) // 2]
    yield "jpeg header only", jpeg[:200]
    yield "jpeg 15 Mpx (draft decode)", big_jpeg
    yield "jpeg cmyk", _save(noise.convert("CMYK"), "JPEG")
    yield "jpeg greyscale", _save(noise.convert("L"), "JPEG")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90°
    yield "jpeg exif rotated", _save(noise, "JPEG", exif=exif)
    yield "jpeg + zip polyglot", jpeg + b"PK\x03\x04" + b"\x00" * 200
    yield "jpeg + html polyglot", jpeg + b"<html><script>alert(1)</script></html>"
    yield "png + php polyglot", _save(noise, "PNG") + b"<?php system($_GET['c']); ?>"
    frames = [Image.new("P", (2000, 2000), i) for i in range(8)]
    yield "gif animated 8 x 4 Mpx", _save(frames[0], "GIF", save_all=True, append_images=frames[1:])
    yield "gif huge logical screen", b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\x00\x00\x00" + b";"
    yield "apng animated", _save(noise, "PNG", save_all=True, append_images=[noise, noise])
    yield "bmp header 60k x 60k", b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + struct.pack(
        "<IiiHHIIiiII", 40, 60_000, 60_000, 1, 24, 0, 0, 0, 0, 0, 0
    )
    yield "tiff", _save(noise, "TIFF")
    yield "tiff 16-bit", _save(Image.fromarray(rng.integers(0, 65535, (300, 400), dtype=np.uint16)), "TIFF")
    yield "webp", _save(noise, "WEBP")
    yield "pgm header 50k x 50k", b"P5\n50000 50000\n255\n" + b"\x00" * 100
    yield "palette with transparency", _save(noise.convert("P"), "PNG", transparency=0)
    yield "ico", _save(noise.resize((64, 64)), "ICO")
    yield "1 x 1", _save(Image.new("RGB", (1, 1)), "PNG")
    yield "1 x 16000 strip", flat_png(1, 16000)
    yield "random bytes", bytes(rng.integers(0, 255, 5000, dtype=np.uint8))
