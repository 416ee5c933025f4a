"""ONNX Runtime behind ``nn.Module``'s call, so ``predict``'s ensemble, TTA and post-processing code
runs unchanged with either engine and only the network's forward differs.

Needs the ``busbench[onnx]`` extra (``onnx``, ``onnxruntime``), imported only when used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from busbench.errors import BusbenchError

INPUT_NAME = "image"  # float32 (batch, channels, size, size), pixels / 255
OUTPUT_NAME = "logits"  # float32 (batch, 1, size, size); sigmoid gives the lesion probability
ENGINES = ("pytorch", "onnxruntime")


def import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise BusbenchError("--engine onnxruntime and `busbench export onnx` need onnxruntime and onnx, which are "
                            "not installed; pip install 'busbench[onnx]'") from exc
    return onnxruntime


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise BusbenchError(f"--engine {engine!r}: choose {' or '.join(ENGINES)}")


class OnnxRuntimeModel(nn.Module):
    """An ONNX Runtime session on an exported model: its ``output`` (a fold model's logits, like the PyTorch
    model's) from images.

    It uses as many threads as torch does (``torch.get_num_threads()``), so the two engines are
    compared on equal terms, and CUDA when the device is a GPU and onnxruntime-gpu is installed.
    """

    def __init__(self, model: bytes | Path, device: torch.device | None = None, output: str = OUTPUT_NAME,
                 quiet: bool = False) -> None:
        super().__init__()
        self.output = output
        ort = import_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        if quiet:  # a trial run whose failure is expected and handled: no error line from ONNX Runtime
            options.log_severity_level = 4
        providers = ["CPUExecutionProvider"]
        if device is not None and device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        source = model if isinstance(model, bytes) else str(model)
        self.session = ort.InferenceSession(source, options, providers=providers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        feed = {INPUT_NAME: images.detach().float().cpu().contiguous().numpy()}
        logits = self.session.run([self.output], feed)[0]
        return torch.from_numpy(logits).to(images.device)
