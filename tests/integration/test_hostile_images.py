"""Decoding is bounded: every hostile or awkward file is refused or decoded small, fast, in bounded memory.

Measured in a child process so each file's peak memory is its own (see tests/support/decode_probe.py).
Issue 12's target: ≥ 30 hostile kinds, each answered in < 1 s with < 256 MB growth.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from soberpay.adapters.images import DEFAULT_MAX_SIDE

PROBE = Path(__file__).resolve().parents[1] / "support" / "decode_probe.py"


def test_hostile_corpus_is_bounded_in_time_and_memory() -> None:
    out = subprocess.run([sys.executable, str(PROBE)], capture_output=True, text=True, timeout=300, check=True)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) >= 30
    for r in rows:
        assert r["outcome"] in ("bad_image", "decoded"), r
        assert r["cpu_seconds"] < 1.0, r  # CPU, not wall time: other tests may share the cores
        assert r["peak_mb"] < 256, r
        if r["shape"] is not None:
            assert max(r["shape"][:2]) <= DEFAULT_MAX_SIDE, r
    refused = {r["name"] for r in rows if r["outcome"] == "bad_image"}
    assert "png 39.7 Mpx single colour" in refused  # over the product's pixel cap
    assert {"png bomb header 100k x 100k", "bmp header 60k x 60k", "pgm header 50k x 50k"} <= refused
