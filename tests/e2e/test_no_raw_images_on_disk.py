"""Raw images and frames never touch disk: enrol + identify run under strace, and every file the
process opens for writing must be the database, its WAL/journal, or the key file. The data
directory is then scanned for image signatures."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from soberpay.assets import asset_path
from tests.conftest import need

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
    written = set()
    for line in log.read_text().splitlines():
        if "= -1" in line or not WRITE_FLAGS.search(line):
            continue
        m = re.search(r'"([^"]+)"', line)
        if m:
            written.add(m.group(1))
    allowed = re.compile(
        r"(soberpay\.db(-wal|-shm|-journal)?|keys\.(json|tmp))$|^/dev/|^/proc/|/mpl/|\.pyc$|/__pycache__/"
    )
    unexpected = sorted(p for p in written if not allowed.search(p))
    assert not unexpected, f"files opened for writing: {unexpected}"
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert not path.read_bytes()[:8].startswith(IMAGE_MAGIC), path
