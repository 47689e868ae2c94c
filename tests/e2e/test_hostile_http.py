"""Hostile uploads over HTTP against a real ``soberpay serve`` process (issue 12's targets, measured).

- each file of the hostile corpus (tests/support/hostile_images.py) sent to face identification
  → a 4xx answer costing the server < 1 s of CPU, with < 256 MB growth of its peak RSS (wall time is
  printed too; on a shared machine it measures the neighbours);
- 32 parallel uploads of the worst case (a 16-megapixel PNG, at the pixel cap) → every answer a 4xx or
  503 ``busy`` (the bounded model pool), and the server's peak RSS stays under 1 GB.

Peak RSS is the server's ``VmHWM``, reset before each file through ``/proc/<pid>/clear_refs``.
A long run (real models, ~1 min): marked slow; its figures are in docs/security.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from soberpay.assets import asset_path
from tests.support.hostile_images import corpus, flat_png
from tests.support.servers import free_port

pytestmark = pytest.mark.slow


def _mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, all threads


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := current RSS


def test_hostile_corpus_over_http_is_bounded(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SOBERPAY_DATA_DIR": str(tmp_path / "var"),
        "SOBERPAY_WEB__RUN_ROOMS": "false",
        "SOBERPAY_WEB__IDENTIFY_RATE_PER_MIN": "10000",
    }
    soberpay = [sys.executable, "-m", "soberpay"]
    made = subprocess.run(
        [*soberpay, "staff", "room-add", "r1", "--name", "Room 1"], env=env, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    out = subprocess.run([*soberpay, "staff", "room-token", "r1"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    token = next(w for w in out.stdout.split() if w.startswith("sprt_"))
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([*soberpay, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api/rooms/r1/identify/face"
    auth = {"Authorization": f"Bearer {token}"}
    rows = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.5)
        face = (asset_path("faces") / "obama.jpg").read_bytes()
        warm = httpx.post(url, files={"file": ("f.jpg", face, "image/jpeg")}, headers=auth, timeout=120)
        assert warm.status_code in (401, 422), warm.text  # models loaded; nobody enrolled
        baseline = _mb(server.pid, "VmRSS")
        for name, data in corpus():
            _reset_peak(server.pid)
            before = _mb(server.pid, "VmRSS")
            cpu = _cpu_seconds(server.pid)
            started = time.perf_counter()
            r = httpx.post(url, files={"file": ("f", data, "application/octet-stream")}, headers=auth, timeout=60)
            seconds = time.perf_counter() - started
            cpu = _cpu_seconds(server.pid) - cpu
            growth = _mb(server.pid, "VmHWM") - before
            rows.append(
                {
                    "name": name,
                    "status": r.status_code,
                    "seconds": round(seconds, 3),
                    "cpu_seconds": round(cpu, 2),
                    "growth_mb": round(growth),
                }
            )
        _reset_peak(server.pid)
        worst = flat_png(4000, 4000)

        def upload(_: int) -> int:
            files = {"file": ("w.png", worst, "image/png")}
            return httpx.post(url, files=files, headers=auth, timeout=120).status_code

        started = time.perf_counter()
        with ThreadPoolExecutor(32) as pool:
            statuses = list(pool.map(upload, range(32)))
        parallel = {
            "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
            "seconds": round(time.perf_counter() - started, 2),
            "peak_rss_mb": round(_mb(server.pid, "VmHWM")),
            "baseline_rss_mb": round(baseline),
        }
    finally:
        server.terminate()
        server.wait(60)
        log.close()
    print(json.dumps({"files": rows, "parallel": parallel}, indent=1))
    assert len(rows) >= 30
    for row in rows:
        assert 400 <= row["status"] < 500, row
        assert row["cpu_seconds"] < 1.0, row  # server CPU: wall time depends on who else shares the cores
        assert row["growth_mb"] < 256, row
    assert set(statuses) <= {400, 401, 422, 503}, statuses
    assert parallel["peak_rss_mb"] < 1024, parallel
