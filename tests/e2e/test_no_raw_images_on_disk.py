"""Raw images and frames never touch disk: enrol + identify run under strace, and every file the
process opens for writing must be the database, its WAL/journal, or the key file. The data
directory is then scanned for image signatures. The same holds for uploads to a running server,
over 1 MiB (where Starlette would spool to a temporary file) and chunked."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from soberpay.assets import asset_path
from tests.conftest import need
from tests.support.servers import free_port

SCRIPT = r"""
import sys
from pathlib import Path
from soberpay.bootstrap import build_container
from soberpay.config import Settings
c = build_container(Settings(data_dir=Path(sys.argv[1])))
faces = Path(sys.argv[2])
g = c.identity.register(name="T", phone="13800000009", national_id="11010519491231002X", password="123456")
c.identity.grant_consent(g.id, "face_payment")
c.identity.enroll_images(g.id, [(faces / "obama.jpg").read_bytes(), (faces / "obama2.jpg").read_bytes()])
assert c.identity.identify((faces / "obama3.jpg").read_bytes()).guest_id == g.id
print("ok")
"""

WRITE_FLAGS = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC")
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM", b"RIFF")
ALLOWED = re.compile(r"(soberpay\.db(-wal|-shm|-journal)?|keys\.(json|tmp))$|^/dev/|^/proc/|/mpl/|\.pyc$|/__pycache__/")
# The server also creates its cookie-signing key.
SERVE_ALLOWED = re.compile(ALLOWED.pattern + r"|web_secret\.key$")


def _written(log: Path) -> set[str]:
    """Paths the traced processes opened for writing (successful opens only)."""
    written = set()
    for line in log.read_text().splitlines():
        if "= -1" in line or not WRITE_FLAGS.search(line):
            continue
        m = re.search(r'"([^"]+)"', line)
        if m:
            written.add(m.group(1))
    return written


def test_enrol_and_identify_write_no_image(tmp_path: Path) -> None:
    strace = shutil.which("strace")
    need(strace is not None, "strace is not installed (make test installs it)")
    data_dir = tmp_path / "var"
    log = tmp_path / "trace.log"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "MPLCONFIGDIR": str(tmp_path / "mpl")}
    proc = subprocess.run(
        [
            strace,
            "-f",
            "-qq",
            "-e",
            "trace=open,openat,creat",
            "-o",
            str(log),
            sys.executable,
            "-c",
            SCRIPT,
            str(data_dir),
            str(asset_path("faces")),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    unexpected = sorted(p for p in _written(log) if not ALLOWED.search(p))
    assert not unexpected, f"files opened for writing: {unexpected}"
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert not path.read_bytes()[:8].startswith(IMAGE_MAGIC), path


def _photo_over_one_mib() -> bytes:
    rng = np.random.default_rng(3)
    noise = Image.fromarray(rng.integers(0, 255, (1500, 1900, 3), dtype=np.uint8))
    buf = io.BytesIO()
    noise.save(buf, format="JPEG", quality=95)
    assert len(buf.getvalue()) > 1024 * 1024  # Starlette spools parts over 1 MiB to a temp file by default
    return buf.getvalue()


def test_served_uploads_over_one_mib_and_chunked_write_no_file(tmp_path: Path) -> None:
    """A real `soberpay serve` under strace: a > 1 MiB upload and a chunked upload (no Content-Length)."""
    strace = shutil.which("strace")
    need(strace is not None, "strace is not installed (make test installs it)")
    port = free_port()
    log = tmp_path / "trace.log"
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": str(tmp_path / "mpl"),
        "SOBERPAY_DATA_DIR": str(tmp_path / "var"),
        "SOBERPAY_WEB__RUN_ROOMS": "false",
    }
    cmd = [strace, "-f", "-qq", "-e", "trace=open,openat,creat", "-o", str(log)]
    cmd += [sys.executable, "-m", "soberpay", "serve", "--port", str(port)]
    server_log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(cmd, env=env, stdout=server_log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.5)
        photo = _photo_over_one_mib()
        r = httpx.post(url + "/api/face/quality", files={"file": ("f.jpg", photo, "image/jpeg")}, timeout=60)
        assert r.status_code == 200, r.text
        boundary = "b0undary"
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.jpg"\r\n'
        head += "Content-Type: image/jpeg\r\n\r\n"
        tail = f"\r\n--{boundary}--\r\n"

        def chunked() -> Iterator[bytes]:
            yield head.encode()
            for i in range(0, len(photo), 256 * 1024):
                yield photo[i : i + 256 * 1024]
            yield tail.encode()

        r = httpx.post(
            url + "/api/face/quality",
            content=chunked(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            timeout=60,
        )
        assert "content-length" not in {k.lower() for k in r.request.headers}
        assert r.status_code == 200, r.text
    finally:
        # Stop the traced server itself (strace's child); strace exits once its tracee has.
        for child in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split():
            os.kill(int(child), signal.SIGTERM)
        server.wait(60)
        server_log.close()
    unexpected = sorted(p for p in _written(log) if not SERVE_ALLOWED.search(p))
    assert not unexpected, f"files opened for writing: {unexpected}"
