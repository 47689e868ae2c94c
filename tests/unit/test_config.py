from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from soberpay.config import Settings


def test_defaults(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert s.embedder == "sface"
    assert s.resolved_database_url == f"sqlite:///{(tmp_path / 'soberpay.db').resolve()}"
    assert 0 < s.match_threshold < 1


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOBERPAY_EMBEDDER", "dlib")
    monkeypatch.setenv("SOBERPAY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SOBERPAY_IDENTITY__MIN_MARGIN", "0.1")
    s = Settings()
    assert s.embedder == "dlib" and s.data_dir == tmp_path and s.identity.min_margin == 0.1
    assert s.match_threshold == s.identity.match_threshold["dlib"]


def test_toml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "soberpay.toml"
    cfg.write_text('embedder = "dlib"\n[payment]\nhigh_price_threshold_fen = 20000\n')
    monkeypatch.setenv("SOBERPAY_CONFIG", str(cfg))
    s = Settings()
    assert s.embedder == "dlib" and s.payment.high_price_threshold_fen == 20000
    monkeypatch.setenv("SOBERPAY_EMBEDDER", "sface")  # environment beats the file
    assert Settings().embedder == "sface"


@pytest.mark.parametrize(
    "kwargs",
    [{"embedder": "facenet"}, {"identity": {"min_margin": 2.0}}, {"identity": {"no_such_key": 1}}, {"bogus": 1}],
)
def test_invalid_settings_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**kwargs)  # type: ignore[arg-type]


def test_each_threshold_is_defined_once() -> None:
    from soberpay.config import PaymentSettings, SobrietySettings

    shared = set(PaymentSettings.model_fields) & set(SobrietySettings.model_fields)
    assert shared == set(), f"defined in both sections: {shared}"


def test_moved_thresholds_still_read_from_their_old_place(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "soberpay.toml"
    cfg.write_text("[payment]\ndrunk_probability = 0.8\n[sobriety]\nrecovery_dwell_seconds = 60\n")
    monkeypatch.setenv("SOBERPAY_CONFIG", str(cfg))
    monkeypatch.setenv("SOBERPAY_PAYMENT__SOBER_PROBABILITY", "0.2")
    s = Settings()
    assert s.sobriety.drunk_probability == 0.8 and s.sobriety.sober_probability == 0.2
    assert s.payment.recovery_dwell_seconds == 60
    # set differently in the old and the new place: refused rather than guessed
    monkeypatch.setenv("SOBERPAY_SOBRIETY__DRUNK_PROBABILITY", "0.9")
    with pytest.raises(ValidationError, match="set it once"):
        Settings()
