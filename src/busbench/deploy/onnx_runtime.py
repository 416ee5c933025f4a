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


CUDA_PROVIDER, CPU_PROVIDER = "CUDAExecutionProvider", "CPUExecutionProvider"


def _cuda_provider(device: torch.device) -> tuple[str, dict[str, int]]:
    """ONNX Runtime's CUDA provider on the GPU ``device`` is (the current one when not indexed), not GPU 0."""
    return CUDA_PROVIDER, {"device_id": torch.cuda.current_device() if device.index is None else device.index}


def check_cuda_session(providers: list[str], available: list[str], device: torch.device) -> None:
    """Refuse a session that runs on the CPU when ``device`` is a GPU: ONNX Runtime falls back to its
    CPU provider without an error where its CUDA provider cannot load, and a CPU session timed or run
    as the GPU one would be a false comparison."""
    if device.type != "cuda" or CUDA_PROVIDER in providers:
        return
    why = ("its CUDA provider failed to load (the CUDA or cuDNN libraries onnxruntime-gpu needs are missing or of "
           "another version; ONNX Runtime's own warning above says which)" if CUDA_PROVIDER in available else
           "the installed onnxruntime has no CUDA provider (the CPU-only package)")
    raise BusbenchError(f"device {device}: ONNX Runtime would run on the CPU ({', '.join(providers)}): {why}; install "
                        "the onnxruntime-gpu build for this machine's CUDA (pip uninstall onnxruntime; pip install "
                        "onnxruntime-gpu), or run with --device cpu")


class OnnxRunError(RuntimeError):
    """ONNX Runtime refused to run a graph on an input (a shape a traced graph cannot take)."""


class OnnxRuntimeModel(nn.Module):
    """An ONNX Runtime session on an exported model: its ``output`` (a fold model's logits, like the PyTorch
    model's) from images.

    It uses as many threads as torch does (``torch.get_num_threads()``), so the two engines are
    compared on equal terms, and CUDA (on the GPU ``device`` is) when the device is a GPU, refusing
    to run on the CPU then (``check_cuda_session``). ``providers`` are those the session runs with.
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
        available = list(ort.get_available_providers())
        requested: list[str | tuple[str, dict[str, int]]] = [CPU_PROVIDER]
        if device is not None and device.type == "cuda" and CUDA_PROVIDER in available:
            requested.insert(0, _cuda_provider(device))
        source = model if isinstance(model, bytes) else str(model)
        self.session = ort.InferenceSession(source, options, providers=requested)
        self.providers: list[str] = list(self.session.get_providers())
        if device is not None:
            check_cuda_session(self.providers, available, device)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        feed = {INPUT_NAME: images.detach().float().cpu().contiguous().numpy()}
        try:
            logits = self.session.run([self.output], feed)[0]
        except Exception as exc:  # ONNX Runtime's own errors derive from Exception alone: named here, once
            raise OnnxRunError(f"ONNX Runtime refused a {tuple(images.shape)} input: {exc}") from exc
        return torch.from_numpy(logits).to(images.device)
