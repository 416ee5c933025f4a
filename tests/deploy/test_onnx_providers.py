"""ONNX Runtime's execution providers: the session's own list is recorded, CUDA is asked for on the GPU
the device names, and a session that fell back to the CPU when a GPU was asked for is refused."""

from __future__ import annotations

import pytest
import torch

from busbench.deploy.onnx_graphs import Shapes, onnx_bytes
from busbench.deploy.onnx_runtime import OUTPUT_NAME, OnnxRuntimeModel
from busbench.errors import BusbenchError
from busbench.models import build_model

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

CPU_ONLY = ["CPUExecutionProvider"]
WITH_CUDA = ["CUDAExecutionProvider", "CPUExecutionProvider"]


@pytest.fixture(scope="module")
def exported() -> bytes:
    torch.manual_seed(0)
    model = build_model("unet", in_channels=1, base_channels=4).eval()
    return onnx_bytes(model, Shapes(1, 32, None), "unet", OUTPUT_NAME, dynamic=False)


def test_the_session_runs_on_the_cpu_provider_here(exported: bytes) -> None:
    runtime = OnnxRuntimeModel(exported, torch.device("cpu"))
    assert runtime.providers == CPU_ONLY == runtime.session.get_providers()


class FakeSession:
    """An InferenceSession that records the providers asked for and reports ``runs_on`` as its own."""

    asked: list[object] = []
    runs_on: list[str] = []

    def __init__(self, source: object, options: object, providers: list[object]) -> None:
        FakeSession.asked = providers

    def get_providers(self) -> list[str]:
        return self.runs_on


def _fake_onnxruntime(monkeypatch: pytest.MonkeyPatch, available: list[str], runs_on: list[str]) -> None:
    monkeypatch.setattr(ort, "get_available_providers", lambda: available)
    monkeypatch.setattr(ort, "InferenceSession", FakeSession)
    monkeypatch.setattr(FakeSession, "runs_on", runs_on)


def test_a_cuda_session_runs_on_the_gpu_the_device_names(exported: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_onnxruntime(monkeypatch, WITH_CUDA, WITH_CUDA)
    runtime = OnnxRuntimeModel(exported, torch.device("cuda:1"))
    assert FakeSession.asked == [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]
    assert runtime.providers == WITH_CUDA
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 2)  # set by torch.cuda.set_device
    OnnxRuntimeModel(exported, torch.device("cuda"))
    assert FakeSession.asked[0] == ("CUDAExecutionProvider", {"device_id": 2})


@pytest.mark.parametrize(("available", "why"), [
    (WITH_CUDA, r"its CUDA provider failed to load \(the CUDA or cuDNN libraries onnxruntime-gpu needs"),
    (CPU_ONLY, r"the installed onnxruntime has no CUDA provider \(the CPU-only package\)"),
])
def test_a_cpu_fallback_is_refused_when_a_gpu_was_asked_for(exported: bytes, monkeypatch: pytest.MonkeyPatch,
                                                            available: list[str], why: str) -> None:
    """ONNX Runtime drops to its CPU provider without an error where CUDA cannot load."""
    _fake_onnxruntime(monkeypatch, available, CPU_ONLY)
    with pytest.raises(BusbenchError, match=rf"^device cuda:0: ONNX Runtime would run on the CPU "
                                            rf"\(CPUExecutionProvider\): {why}.*; install the onnxruntime-gpu build "
                                            rf"for this machine's CUDA .*, or run with --device cpu$"):
        OnnxRuntimeModel(exported, torch.device("cuda:0"))
    assert OnnxRuntimeModel(exported, torch.device("cpu")).providers == CPU_ONLY  # what the CPU asks for
