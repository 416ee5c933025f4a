"""Device and mixed-precision choices (the CUDA branches are exercised where a GPU is present)."""

from __future__ import annotations

import pytest
import torch

from busbench.errors import BusbenchError
from busbench.train.device import autocast_dtype, resolve_device


def test_cpu_defaults_to_full_precision_and_accepts_bf16() -> None:
    cpu = torch.device("cpu")
    assert autocast_dtype("auto", cpu) is None
    assert autocast_dtype("off", cpu) is None
    assert autocast_dtype("bf16", cpu) is torch.bfloat16
    with pytest.raises(BusbenchError, match="train.amp=fp16 needs a CUDA device"):
        autocast_dtype("fp16", cpu)


def test_device_resolution() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(BusbenchError, match="no CUDA device; set train.device=cpu"):
            resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_autocast_dtype() -> None:
    cuda = torch.device("cuda")
    expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    assert autocast_dtype("auto", cuda) is expected
    assert autocast_dtype("fp16", cuda) is torch.float16


def test_multi_gpu_needs_two_cuda_devices() -> None:
    from torch import nn

    from busbench.train.trainer import spread_over_gpus

    if torch.cuda.device_count() >= 2:
        assert isinstance(spread_over_gpus(nn.Conv2d(1, 1, 1).cuda(), torch.device("cuda")), nn.DataParallel)
        return
    with pytest.raises(BusbenchError, match="train.multi_gpu needs at least 2 CUDA devices"):
        spread_over_gpus(nn.Conv2d(1, 1, 1), torch.device("cpu"))
