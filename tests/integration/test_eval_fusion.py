"""The KTV-conditioned copy of the bundled photos and ``soberpay eval fusion --json`` on it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from soberpay.assets import asset_path
from soberpay.cli import app
from soberpay_lab.evaluation.ktv_conditions import CONDITIONS, build_samples


def test_samples_copy_and_fusion_cli(tmp_path: Path) -> None:
    out = tmp_path / "ktv"
    assert build_samples(asset_path("faces"), out, enhance=False) == 4
    obama = sorted(p.name for p in (out / "obama").iterdir())
    # the clean first photo sorts first (the gallery), then every photo in every condition
    assert obama[0] == "0_clean_obama.png" and len(obama) == 1 + 3 * len(CONDITIONS)
    assert len(list((out / "biden").iterdir())) == 1 + len(CONDITIONS)

    res = CliRunner().invoke(app, ["eval", "fusion", "--dataset", str(out), "--embedder", "sface", "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["n_people"] == 4 and payload["n_clips"] == 4 and payload["gates"] is True
    assert set(payload["tar"]) == {"best", "top-k mean", "top-k quality-weighted"}
    assert payload["n_impostor"] == 3 * (payload["n_clips"] - payload["failed_to_acquire"])
