"""ONNX export helper (legacy TorchScript exporter, ``dynamo=False``: simplest for these small nets)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from torch import nn


def export_onnx(
    model: nn.Module,
    example: torch.Tensor,
    path: Path | str,
    input_name: str = "input",
    output_name: str = "output",
    dynamic_axes: dict[int, str] | None = None,
    opset: int = 17,
) -> Path:
    """Export ``model`` (eval mode, CPU) with a dynamic batch axis (plus any extra ``dynamic_axes``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    m = copy.deepcopy(model).cpu().eval()
    axes = {0: "batch", **(dynamic_axes or {})}
    with torch.no_grad():
        torch.onnx.export(
            m,
            (example,),
            str(path),
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes={input_name: axes, output_name: {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )
    return path


def parity_max_abs_diff(model: nn.Module, path: Path | str, x: torch.Tensor) -> float:
    """Largest absolute difference between torch and onnxruntime outputs on ``x``."""
    import onnxruntime as ort

    m = copy.deepcopy(model).cpu().eval()
    with torch.no_grad():
        ref = m(x).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    return float(np.max(np.abs(ref - got)))


__all__ = ["export_onnx", "parity_max_abs_diff"]
