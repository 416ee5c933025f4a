"""``train.compile`` (training and validation) and ``eval.compile`` (test inference): the network
through ``torch.compile``.

Off by default: it costs a compilation per model and mode (training, evaluation) before the first
step, and on the 2-core development CPU (AMD EPYC, bf16 autocast, channels-last, 256 px, batch 8)
it slowed training (UNeXt 12.8 instead of 29.9 images/s, CMUNeXt 0.87 instead of 1.12) while it
sped up inference (UNeXt 41.8 instead of 32.4, CMUNeXt 6.8 instead of 3.9), after 67-129 s of
compiling per model (benchmarks/train_speed.py --compile measures training). The compiled module
shares its parameters with the original, so the optimiser, the checkpoints (written from the
original) and ``load_state_dict`` are unaffected.
"""

from __future__ import annotations

import os
import shutil

import torch
from torch import nn

from busbench.errors import BusbenchError

CPU_COMPILERS = ("g++", "clang++", "c++")
CUDA_COMPILERS = ("cc", "gcc", "clang")  # Triton builds a small C launcher per kernel


def compile_network(network: nn.Module, enabled: bool, device: torch.device, backend: str = "inductor",
                    setting: str = "train.compile") -> nn.Module:
    """``network`` compiled when ``enabled``, else itself.

    Inductor writes C++ for the CPU, and Triton compiles a C launcher on CUDA: without a compiler
    either would fail at the first step, deep in a traceback, so that is checked here.
    """
    if not enabled:
        return network
    if backend == "inductor" and device.type == "cpu":
        _need_compiler(CPU_COMPILERS, "CXX", "C++", "g++", setting)
    if backend == "inductor" and device.type == "cuda":
        _need_compiler(CUDA_COMPILERS, "CC", "C", "gcc", setting)
    compiled = torch.compile(network, backend=backend)
    assert isinstance(compiled, nn.Module)  # an OptimizedModule; torch.compile's stubs only say callable
    return compiled


def _need_compiler(names: tuple[str, ...], variable: str, language: str, package: str, setting: str) -> None:
    if not (os.environ.get(variable) or any(shutil.which(name) for name in names)):
        raise BusbenchError(f"{setting}=true needs a {language} compiler (one of {', '.join(names)} on PATH, or "
                            f"{variable} set); install one (e.g. apt-get install {package}) or set {setting}=false")
