"""Autoencoder face model (finance patent claims 1-4): shapes, loss terms, gamma bounds, convergence rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from soberpay.errors import InvalidInput  # noqa: E402
from soberpay_lab.training.autoencoder import (  # noqa: E402
    ConvAutoencoderFaceNet,
    ConvergenceMonitor,
    MarginHead,
    ModelConfig,
    PlateauDetector,
    TrainConfig,
    augment_batch,
    loss_b_terms,
    total_loss,
    train_model,
    validate_gamma,
)

TINY = ModelConfig(input_size=32, channels=(4, 8, 16), embedding_dim=8)


def _model(cfg: ModelConfig = TINY, n_classes: int = 3) -> ConvAutoencoderFaceNet:
    torch.manual_seed(0)
    return ConvAutoencoderFaceNet(cfg, n_classes).eval()


# --- shapes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cfg", "side"),
    [(ModelConfig(), 64), (TINY, 32)],
)
def test_levels_match_mirror_by_mirror(cfg: ModelConfig, side: int) -> None:
    model = _model(cfg)
    out = model(torch.rand(2, 1, side, side))
    c1, c2, c3 = cfg.channels
    assert out["d1"].shape == (2, c1, side // 2, side // 2)
    assert out["d2"].shape == (2, c2, side // 4, side // 4)
    assert out["d3"].shape == (2, c3, side // 8, side // 8)
    # claim 3: Loss1(d3, u1), Loss2(d2, u2), Loss3(d1, u3)
    assert out["u1"].shape == out["d3"].shape
    assert out["u2"].shape == out["d2"].shape
    assert out["u3"].shape == out["d1"].shape
    assert out["embedding"].shape == (2, cfg.embedding_dim)


def test_decoder_starts_from_conv3_output_and_head_reads_d3() -> None:
    model = _model()
    x = torch.rand(2, 1, 32, 32)
    d1, d2, d3 = model.encode(x)
    u1, u2, u3 = model.decode(d3)
    out = model(x)
    assert torch.allclose(out["u3"], u3)
    assert torch.allclose(model.embed(x), model.fc(d3))


def test_input_size_must_allow_three_halvings() -> None:
    with pytest.raises(InvalidInput):
        ModelConfig(input_size=60)


# --- loss terms -----------------------------------------------------------------------------


def test_loss_b_terms_zero_on_perfect_reconstruction_and_positive_otherwise() -> None:
    d = (torch.rand(2, 4, 16, 16) + 0.1, torch.rand(2, 8, 8, 8) + 0.1, torch.rand(2, 16, 4, 4) + 0.1)
    l1, l2, l3 = loss_b_terms(d, (d[2], d[1], d[0]))
    assert float(l1) == pytest.approx(0.0) and float(l2) == pytest.approx(0.0) and float(l3) == pytest.approx(0.0)
    zeros = (torch.zeros_like(d[2]), torch.zeros_like(d[1]), torch.zeros_like(d[0]))
    l1, l2, l3 = loss_b_terms(d, zeros)
    # normalised MSE: predicting zeros costs exactly 1 per level (up to eps)
    assert [round(float(v), 4) for v in (l1, l2, l3)] == [1.0, 1.0, 1.0]


def test_loss_b_is_scale_invariant_and_targets_get_no_gradient() -> None:
    d1 = torch.rand(2, 4, 16, 16, requires_grad=True)
    d2 = torch.rand(2, 8, 8, 8, requires_grad=True)
    d3 = torch.rand(2, 16, 4, 4, requires_grad=True)
    u = (torch.rand(2, 16, 4, 4), torch.rand(2, 8, 8, 8), torch.rand(2, 4, 16, 16, requires_grad=True))
    a = sum(loss_b_terms((d1, d2, d3), u))
    b = sum(loss_b_terms((d1 * 10, d2 * 10, d3 * 10), tuple(x * 10 for x in u)))
    assert float(a.detach()) == pytest.approx(float(b.detach()), rel=1e-4)
    a.backward()
    assert d1.grad is None and d2.grad is None and d3.grad is None  # stop-gradient on targets
    assert u[2].grad is not None


def test_loss_b_rejects_mismatched_levels() -> None:
    d = (torch.rand(1, 4, 16, 16), torch.rand(1, 8, 8, 8), torch.rand(1, 16, 4, 4))
    with pytest.raises(ValueError, match="shapes differ"):
        loss_b_terms(d, (d[2], d[1], torch.rand(1, 4, 8, 8)))


def test_total_loss_mixes_with_gamma() -> None:
    a, b = torch.tensor(2.0), torch.tensor(10.0)
    assert float(total_loss(a, b, 0.7)) == pytest.approx(0.7 * 2 + 0.3 * 10)
    assert float(total_loss(a, b, 1.0)) == pytest.approx(2.0)


@pytest.mark.parametrize("gamma", [0.5, 0.0, 0.3, -1.0, 1.0001, 2.0, math.nan])
def test_gamma_outside_bounds_is_rejected(gamma: float) -> None:
    with pytest.raises(InvalidInput):
        validate_gamma(gamma)
    with pytest.raises(InvalidInput):
        TrainConfig(gamma=gamma)


@pytest.mark.parametrize("gamma", [0.5001, 0.55, 0.7, 0.99, 1.0])
def test_gamma_inside_bounds_is_accepted(gamma: float) -> None:
    assert validate_gamma(gamma) == gamma
    assert TrainConfig(gamma=gamma).gamma == gamma


def test_gamma_one_can_be_refused_outside_ablations() -> None:
    with pytest.raises(InvalidInput):
        validate_gamma(1.0, allow_supervised_only=False)


@pytest.mark.parametrize("kind", ["cosface", "arcface"])
def test_margin_heads_penalise_only_the_true_class(kind: str) -> None:
    head = MarginHead(4, 3, kind, scale=10.0, margin=0.3)  # type: ignore[arg-type]
    emb = torch.randn(5, 4)
    y = torch.tensor([0, 1, 2, 0, 1])
    plain = head(emb)
    margin = head(emb, y)
    onehot = torch.nn.functional.one_hot(y, 3).bool()
    assert torch.allclose(plain[~onehot], margin[~onehot])
    assert bool((margin[onehot] < plain[onehot]).all())


# --- convergence ----------------------------------------------------------------------------


def _run(det: PlateauDetector, values: list[float]) -> list[bool]:
    return [det.update(v) for v in values]


def test_plateau_detector_finds_the_knee_of_a_decaying_curve() -> None:
    curve = [0.1 + 2.0 * math.exp(-t / 5) for t in range(60)]
    det = PlateauDetector(rel_tol=0.02, patience=5, alpha=0.3)
    flags = _run(det, curve)
    assert det.converged_at is not None
    # the raw curve's 5-epoch relative drop falls below 2 % near t = 32; the EMA adds some lag
    assert 30 <= det.converged_at <= 50
    assert not any(flags[: det.converged_at - 1])
    assert flags[-1]


def test_plateau_detector_does_not_fire_while_loss_keeps_falling() -> None:
    det = PlateauDetector(rel_tol=0.02, patience=5)
    flags = _run(det, [1.0 * 0.97**t for t in range(80)])  # 3 % per epoch, ~14 % per window
    assert not any(flags)
    assert det.converged_at is None


def test_plateau_detector_tolerates_noise_around_a_flat_loss() -> None:
    rng = np.random.default_rng(0)
    det = PlateauDetector(rel_tol=0.02, patience=5, alpha=0.3)
    flags = _run(det, list(0.5 + 0.01 * rng.standard_normal(40)))
    assert det.converged_at is not None and det.converged_at <= 12
    assert sum(flags) >= 25


def test_plateau_detector_needs_a_full_window_and_finite_losses() -> None:
    det = PlateauDetector(patience=5)
    assert _run(det, [1.0] * 5) == [False] * 5
    assert det.update(1.0)
    with pytest.raises(FloatingPointError):
        det.update(float("nan"))
    with pytest.raises(InvalidInput):
        PlateauDetector(patience=0)


def test_monitor_requires_loss_a_and_every_loss_b_term() -> None:
    mon = ConvergenceMonitor(rel_tol=0.02, patience=3, alpha=1.0)
    state: dict[str, bool] = {}
    for t in range(10):
        falling = 0.8**t
        state = mon.update({"loss_a": 1.0, "loss1": 1.0, "loss2": falling, "loss3": 1.0})
    assert state["loss_a"] and state["loss1"] and state["loss3"]
    assert not state["loss2"] and not state["loss_b"] and not state["all"]
    for _ in range(4):
        state = mon.update({"loss_a": 1.0, "loss1": 1.0, "loss2": 0.1, "loss3": 1.0})
    assert state["loss_b"] and state["all"]
    assert mon.converged_epoch["loss_a"] == 4
    assert mon.converged_epoch["loss_b"] == 14


def test_monitor_for_supervised_only_tracks_loss_a_alone() -> None:
    mon = ConvergenceMonitor(patience=2, alpha=1.0, track_b=False)
    for _ in range(3):
        state = mon.update({"loss_a": 1.0, "loss1": 9.0, "loss2": 9.0, "loss3": 9.0})
    assert state["all"] and "loss_b" not in state


# --- augmentation and tiny training runs --------------------------------------------------------


def test_augment_batch_is_seeded_and_stays_in_range() -> None:
    x = torch.rand(4, 1, 32, 32)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a, b = augment_batch(x, g1), augment_batch(x, g2)
    assert a.shape == x.shape and torch.equal(a, b)
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0


def _synthetic_faces(n_per: int = 6, n_classes: int = 3, side: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic blobs: one bright square per class at a class-specific place, plus noise."""
    rng = np.random.default_rng(0)
    xs, ys = [], []
    for c in range(n_classes):
        for _ in range(n_per):
            img = 0.2 * rng.random((side, side))
            r = 4 + 8 * c
            img[r : r + 8, r : r + 8] += 0.7
            xs.append(img[None])
            ys.append(c)
    return np.clip(np.array(xs, np.float32), 0, 1), np.array(ys, np.int64)


def _tiny_config(**kw: object) -> TrainConfig:
    base: dict[str, object] = {
        "model": TINY,
        "batch_labelled": 6,
        "batch_unlabelled": 6,
        "max_epochs": 2,
        "min_epochs": 0,
        "threads": 1,
        "seed": 1,
    }
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


def test_two_epoch_run_hits_the_cap_when_the_losses_have_not_settled() -> None:
    x, y = _synthetic_faces()
    res = train_model(x, y, x[:6], _tiny_config(patience=5))
    assert len(res.history) == 2
    assert not res.converged and res.stop_reason == "max_epochs"
    h = res.history[-1]
    assert h.loss_b == pytest.approx(h.loss1 + h.loss2 + h.loss3, rel=1e-5)
    assert h.loss == pytest.approx(0.7 * h.loss_a + 0.3 * h.loss_b, rel=1e-4)


def test_two_epoch_run_stops_on_the_plateau_rule_with_a_loose_tolerance() -> None:
    x, y = _synthetic_faces()
    res = train_model(x, y, x[:6], _tiny_config(max_epochs=10, patience=1, rel_tol=10.0))
    assert res.converged and len(res.history) == 2
    assert res.convergence_epoch["loss_a"] == 2 and res.convergence_epoch["loss_b"] == 2
    assert res.history[-1].plateau["all"]


def test_training_is_reproducible_with_a_seed() -> None:
    x, y = _synthetic_faces()
    a = train_model(x, y, x[:6], _tiny_config())
    b = train_model(x, y, x[:6], _tiny_config())
    assert [e.loss for e in a.history] == [e.loss for e in b.history]


def test_supervised_only_ablation_leaves_the_decoder_untrained() -> None:
    x, y = _synthetic_faces()
    res = train_model(x, y, None, _tiny_config(gamma=1.0))
    torch.manual_seed(1)
    fresh = ConvAutoencoderFaceNet(TINY, 3)
    for name in ("conv4", "conv5", "conv6"):
        for p_new, p_old in zip(
            getattr(res.model, name)[0].parameters(), getattr(fresh, name)[0].parameters(), strict=True
        ):
            assert torch.equal(p_new, p_old)
