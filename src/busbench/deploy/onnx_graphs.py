"""The graphs `busbench export onnx` writes: one per fold model (logits), and with ``--ensemble`` one
file holding every fold model and every TTA view (the mean probability), each carrying busbench's
settings in its metadata (``metadata_props``, key ``busbench``: JSON) so that the file alone says
how to prepare an image and read its output.

Spatial axes are dynamic where the architecture takes any multiple of its down-sampling (no builder
argument fixes the side): the export is then checked at a second, non-square shape as well, and
exported fixed where it differs there.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from busbench.deploy.onnx_runtime import INPUT_NAME, OnnxRuntimeModel
from busbench.errors import BusbenchError
from busbench.evaluate.inference import FLIP_DIMS, ensemble_probabilities
from busbench.log import logger
from busbench.models.registry import resolve_model

OPSET = 17
PARITY_TOLERANCE = 1e-4  # max |probability difference| between PyTorch and ONNX Runtime on random images
METADATA_KEY = "busbench"  # busbench_postprocess.METADATA_KEY, which reads it
PROBABILITY_NAME = "probability"  # the ensemble file's output: (batch, 1, H, W), already averaged


class EnsembleWithViews(nn.Module):
    """Fold models and TTA views in one graph: the mean of sigmoid(logits) over every model and the
    plain + TTA views, each flipped back, as ``ensemble_probabilities`` computes it."""

    def __init__(self, models: Sequence[nn.Module], tta: Sequence[str]) -> None:
        super().__init__()
        self.folds = nn.ModuleList(models)
        self.views: list[tuple[int, ...]] = [(), *(FLIP_DIMS[view] for view in dict.fromkeys(tta))]

    def forward(self, images: Tensor) -> Tensor:
        # the views go through each model as one batch, so that each model's weights appear once in the graph
        seen = torch.cat([torch.flip(images, dims) if dims else images for dims in self.views])
        batch, total = images.shape[0], torch.zeros_like(images[:, :1])
        for model in self.folds:
            probabilities = torch.sigmoid(model(seen))
            for index, dims in enumerate(self.views):
                probability = probabilities[index * batch:(index + 1) * batch]
                total = total + (torch.flip(probability, dims) if dims else probability)
        return total / (len(self.folds) * len(self.views))


@dataclass(frozen=True)
class Shapes:
    """The input the export traces at (``size``) and, for dynamic spatial axes, a second one it is
    checked at (``other``: height, width); None: fixed at ``size``."""

    channels: int
    size: int
    other: tuple[int, int] | None


def shapes_for(model_name: str, channels: int, size: int) -> Shapes:
    """Dynamic height and width where the registry says any multiple of ``size_multiple`` fits."""
    entry = resolve_model(model_name)
    dynamic = not entry.size_kwarg and not entry.plugin
    return Shapes(channels, size, (size + entry.size_multiple, size) if dynamic else None)


def onnx_bytes(model: nn.Module, shapes: Shapes, name: str, output: str, dynamic: bool) -> bytes:
    """``model`` as an ONNX file with a dynamic batch (and height, width); one line why where it cannot be."""
    buffer = io.BytesIO()
    example = torch.rand(2, shapes.channels, shapes.size, shapes.size)
    axes = {0: "batch", 2: "height", 3: "width"} if dynamic else {0: "batch"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice and tracer warnings
        try:
            # the TorchScript exporter writes to a file object too; torch's annotation names paths only
            torch.onnx.export(model.eval(), (example,), buffer,  # type: ignore[arg-type]
                              dynamo=False, opset_version=OPSET, input_names=[INPUT_NAME], output_names=[output],
                              dynamic_axes={INPUT_NAME: axes, output: axes})
        except Exception as exc:  # the exporter raises many types; each is reported the same way
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise BusbenchError(f"model {name!r} cannot be exported to ONNX (opset {OPSET}): {reason}") from exc
    return buffer.getvalue()


@torch.no_grad()
def probability_difference(reference: nn.Module, exported: nn.Module, shape: tuple[int, ...]) -> float:
    """Max |probability difference| of two probability-giving modules on seeded random images."""
    images = torch.rand(*shape, generator=torch.Generator().manual_seed(0))
    return float((reference(images) - exported(images)).abs().max())


@dataclass(frozen=True)
class Exported:
    data: bytes
    difference: float  # max |probability difference| against PyTorch
    dynamic: bool  # height and width dynamic (else fixed at the input size)


def export_parity(model: nn.Module, reference: nn.Module, shapes: Shapes, name: str, output: str,
                  to_probability: bool) -> Exported:
    """``model`` exported and checked against ``reference`` (probabilities) at batch 3 (not the traced 2),
    and at the second shape for dynamic axes; exported fixed where the dynamic file differs there; refused
    above ``PARITY_TOLERANCE``."""
    def runtime(data: bytes, quiet: bool = False) -> nn.Module:
        session = OnnxRuntimeModel(data, output=output, quiet=quiet)
        return nn.Sequential(session, nn.Sigmoid()) if to_probability else session

    square = (3, shapes.channels, shapes.size, shapes.size)
    if shapes.other is not None:
        data = onnx_bytes(model, shapes, name, output, dynamic=True)
        try:
            other = probability_difference(reference, runtime(data, quiet=True), (3, shapes.channels, *shapes.other))
        except RuntimeError as refused:  # a traced size inside the network (torch's shape error) or the graph
            # (OnnxRunError): exported fixed-size instead; a bug of another kind (TypeError, ...) is not hidden
            logger.info(f"{name}: no ONNX graph with dynamic sides ({shapes.other} refused: {refused}); exported at "
                        f"{shapes.size} px fixed")
            other = float("inf")
        if other <= PARITY_TOLERANCE:
            difference = max(other, probability_difference(reference, runtime(data), square))
            return _checked(Exported(data, difference, True), name)
    data = onnx_bytes(model, shapes, name, output, dynamic=False)
    return _checked(Exported(data, probability_difference(reference, runtime(data), square), False), name)


def _checked(exported: Exported, name: str) -> Exported:
    if not exported.difference <= PARITY_TOLERANCE:
        raise BusbenchError(f"model {name!r}: its ONNX export differs from PyTorch by {exported.difference:.2e} in "
                            f"probability (more than {PARITY_TOLERANCE:.0e}); use --engine pytorch for it")
    return exported


class _EnsembleReference(nn.Module):
    """busbench's own ensemble (``ensemble_probabilities``) as a module giving (N, 1, H, W)."""

    def __init__(self, models: Sequence[nn.Module], tta: Sequence[str]) -> None:
        super().__init__()
        self.models, self.tta = list(models), list(tta)

    def forward(self, images: Tensor) -> Tensor:
        return ensemble_probabilities(self.models, images, self.tta)[:, None]


def export_ensemble(models: Sequence[nn.Module], tta: Sequence[str], shapes: Shapes, name: str) -> Exported:
    """The fold models and TTA views as one graph, checked against ``ensemble_probabilities``."""
    graph = EnsembleWithViews(models, tta).eval()
    return export_parity(graph, _EnsembleReference(models, tta), shapes, name, PROBABILITY_NAME, to_probability=False)


def export_fold(model: nn.Module, shapes: Shapes, name: str, output: str) -> Exported:
    """One fold model (logits), checked against PyTorch's sigmoid(logits)."""
    return export_parity(model, nn.Sequential(model.eval(), nn.Sigmoid()), shapes, name, output, to_probability=True)


def with_metadata(data: bytes, spec: dict[str, object], extra: dict[str, str]) -> bytes:
    """The ONNX file with ``spec`` as JSON under ``METADATA_KEY`` and ``extra`` as plain entries."""
    import onnx

    model = onnx.load_from_string(data)
    del model.metadata_props[:]
    for key, value in {METADATA_KEY: json.dumps(spec), **extra}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    serialised: bytes = model.SerializeToString()
    return serialised
