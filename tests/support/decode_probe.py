"""Child process for the decoding bound test: decode each corpus entry, report time and peak RSS growth.

Peak RSS is reset between files through /proc/self/clear_refs (Linux), so each figure is that file's own.
Prints one JSON object per line: name, outcome (bad_image | decoded | error), seconds, cpu_seconds, peak_mb, shape.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from soberpay.adapters.images import decode_image
    from soberpay.errors import BadImage
    from tests.support.hostile_images import corpus

    items = list(corpus())
    decode_image(items[-2][1])  # warm up the codecs
    for name, data in items:
        Path("/proc/self/clear_refs").write_text("5")
        base = _rss_kb("VmRSS")
        t0, c0 = time.perf_counter(), time.process_time()
        shape: list[int] | None = None
        try:
            shape = list(decode_image(data).shape)
            outcome = "decoded"
        except BadImage:
            outcome = "bad_image"
        except Exception as exc:  # anything else is a bug the test reports
            outcome = f"error: {type(exc).__name__}: {exc}"
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        peak_mb = (_rss_kb("VmHWM") - base) / 1024
        row = {"name": name, "outcome": outcome, "seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak_mb}
        print(json.dumps({**row, "shape": shape}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
