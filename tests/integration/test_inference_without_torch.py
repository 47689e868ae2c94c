"""Inference never imports torch: identity, payments, sobriety and the web app run on onnxruntime."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import sys
from pathlib import Path
import soberpay.cli  # every command module registers on import
from soberpay.assets import read_asset
from soberpay.bootstrap import build_container
from soberpay.config import Settings
from soberpay.web.app import create_app
c = build_container(Settings(data_dir=Path(sys.argv[1])))
g = c.identity.register(name="T", phone="13800000009", national_id="11010519491231002X", password="123456")
c.identity.grant_consent(g.id, "face_payment")
c.identity.enroll_images(g.id, [read_asset("faces", "obama.jpg")])
assert c.identity.identify(read_asset("faces", "obama3.jpg")).guest_id == g.id
_ = c.payments
from soberpay.adapters.sobriety.expression import ExpressionClassifier
from soberpay.adapters.sobriety.fusion import FusionModel
from soberpay.adapters.sobriety.face_state import FaceStateAnalyzer
from soberpay.adapters.vision.autoencoder import AutoencoderEmbedder
create_app(c)
bad = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
print("TORCH" if bad else "CLEAN")
"""


def test_inference_paths_do_not_import_torch(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "var")], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("CLEAN"), proc.stdout
