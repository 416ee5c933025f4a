"""Every registered model exported to ONNX and run in ONNX Runtime gives PyTorch's probabilities."""

from __future__ import annotations

import pytest
import torch

from busbench.deploy.onnx_export import export_checked
from busbench.deploy.onnx_graphs import PARITY_TOLERANCE, Shapes, onnx_bytes
from busbench.deploy.onnx_runtime import OUTPUT_NAME, OnnxRuntimeModel
from busbench.errors import BusbenchError
from busbench.models import available_models, build_model

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

MODELS = available_models()  # busbench's own, and MONAI's when it is installed
NAMES = sorted(MODELS)
# The models the exporter cannot take, and why (each must still fail with this one-line reason). None at
# present: all 37 (busbench's 30, MONAI's 7) export at opset 17 (torch 2.13, TorchScript exporter) within it.
NOT_EXPORTABLE: dict[str, str] = {}


def smallest_size(name: str) -> int:
    entry = MODELS[name]
    return next(side for side in range(max(entry.min_size, 32), 1024, entry.size_multiple) if entry.accepts(side))


@pytest.mark.parametrize("name", NAMES)
def test_onnx_export_matches_pytorch(name: str) -> None:
    entry = MODELS[name]
    size = smallest_size(name)
    torch.manual_seed(0)
    model = build_model(name, in_channels=1, **{**entry.test_kwargs, **entry.size_kwargs(size)}).eval()
    if name in NOT_EXPORTABLE:
        reason = NOT_EXPORTABLE[name]
        with pytest.raises(BusbenchError, match=rf"^model '{name}' cannot be exported to ONNX .*{reason}"):
            export_checked(model, 1, size, name)
        return
    _, difference = export_checked(model, 1, size, name)  # batch 3 against the export's batch 2: dynamic
    assert difference <= PARITY_TOLERANCE


class _Untraceable(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.numpy()  # type: ignore[return-value]


class _Drifting(torch.nn.Module):
    """A model whose exported graph differs from its eager forward (a Python-side counter is traced as a constant)."""

    calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return x[:, :1] * self.calls


def test_a_model_that_cannot_be_exported_or_differs_is_one_line() -> None:
    with pytest.raises(BusbenchError, match=r"^model 'odd' cannot be exported to ONNX \(opset 17\): [^\n]+$"):
        onnx_bytes(_Untraceable(), Shapes(1, 32, None), "odd", OUTPUT_NAME, dynamic=False)
    with pytest.raises(BusbenchError, match=r"^model 'drift': its ONNX export differs from PyTorch by [^\n]+$"):
        export_checked(_Drifting(), 1, 32, "drift")


def test_the_runtime_takes_any_batch_size() -> None:
    torch.manual_seed(0)
    model = build_model("unet", in_channels=1, base_channels=4).eval()
    runtime = OnnxRuntimeModel(onnx_bytes(model, Shapes(1, 32, None), "unet", OUTPUT_NAME, dynamic=False))
    for batch in (1, 5):
        assert runtime(torch.rand(batch, 1, 32, 32)).shape == (batch, 1, 32, 32)
