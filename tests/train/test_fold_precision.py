"""A fold keeps its precision across a resume on another kind of device (a requeued job on a mixed
cluster), or is refused with one line where the device cannot compute it."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from test_trainer import fold_inputs, tiny_config  # noqa: F401  (fold_inputs: a fixture)

from busbench.errors import BusbenchError
from busbench.layout.folders import FoldFolder
from busbench.train import checkpoint, fold_precision
from busbench.train import device as device_module
from busbench.train.callbacks import EpochRecord
from busbench.train.device import Precision
from busbench.train.fold_precision import fold_precision as precision_of
from busbench.train.trainer import FoldJob, train_fold

CPU, CUDA = torch.device("cpu"), torch.device("cuda")
LAST = Path("run/fold-1/last.pt")
FP16_SCALER = {"scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000,
               "_growth_tracker": 0}


class Interrupted(Exception):
    pass


def _stop_after_one(record: EpochRecord) -> None:
    if record.epoch == 1:
        raise Interrupted


def _gpu(monkeypatch: pytest.MonkeyPatch, native_bf16: bool) -> None:
    """An A100/H100 (native bf16) or a V100/T4 (emulated) as far as ``amp: auto`` asks."""
    monkeypatch.setattr(device_module, "native_bf16", lambda device: native_bf16)


@pytest.mark.parametrize(("native", "saved", "expected"), [
    (False, {"precision": "bf16", "scaler": {}}, torch.bfloat16),  # started on an H100, requeued on a V100
    (True, {"precision": "fp16", "scaler": FP16_SCALER}, torch.float16),  # the other way round
    (True, {"precision": "bf16", "scaler": {}}, torch.bfloat16),  # the same kind
    (True, {"scaler": FP16_SCALER}, torch.float16),  # an older last.pt: a scaler state means fp16
    (True, {"scaler": {}}, torch.bfloat16),
])
def test_a_resumed_fold_keeps_the_precision_it_started_in(monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture, native: bool,
                                                         saved: dict[str, object], expected: torch.dtype) -> None:
    _gpu(monkeypatch, native)
    auto = torch.bfloat16 if native else torch.float16
    with caplog.at_level(logging.INFO, logger="busbench"):
        assert precision_of("auto", CUDA, saved, LAST).dtype is expected
    warnings = [r.getMessage() for r in caplog.records]
    if expected is auto:
        assert warnings == []
    else:
        name = {torch.bfloat16: "bf16", torch.float16: "fp16"}[expected]
        assert warnings == [f"warning: continuing in {name}: {LAST} was trained in {name}, and a fold keeps its "
                            f"precision ({precision_of('auto', CUDA, None, LAST).reason} for a new fold)"]
    assert precision_of("auto", CUDA, None, LAST).dtype is auto  # a new fold: amp's choice


def test_an_older_last_pt_without_fp16_cannot_resume_in_fp16(monkeypatch: pytest.MonkeyPatch) -> None:
    _gpu(monkeypatch, False)
    with pytest.raises(BusbenchError, match=r"^run/fold-1/last.pt: saved by an older busbench, .* trained in bf16 or "
                                            r"fp32, not in fp16 \(.*\); resume it on the kind of device it started "
                                            r"on, or delete run/fold-1 to restart the fold from its first epoch"):
        precision_of("auto", CUDA, {"scaler": {}}, LAST)


def test_a_precision_the_device_cannot_compute_is_refused(cpu_bf16: Callable[[bool], None]) -> None:
    cpu_bf16(False)
    with pytest.raises(BusbenchError, match=r"^run/fold-1/last.pt: the fold trains in fp16, which cpu cannot continue "
                                            r"\(the CPU has no fast fp16\); resume it on a device that computes fp16 "
                                            r"\(a GPU\), or delete run/fold-1 to restart the fold .* in fp32$"):
        precision_of("auto", CPU, {"precision": "fp16", "scaler": FP16_SCALER}, LAST)
    with pytest.raises(BusbenchError, match=r"which cpu cannot continue \(the CPU lacks native bf16"):
        precision_of("auto", CPU, {"precision": "bf16", "scaler": {}}, LAST)
    with pytest.raises(BusbenchError, match=r"records an unknown precision 'fp8'; delete run/fold-1"):
        precision_of("auto", CPU, {"precision": "fp8"}, LAST)
    cpu_bf16(True)
    assert precision_of("off", CPU, {"precision": "bf16", "scaler": {}}, LAST).dtype is torch.bfloat16


def _interrupted_fold(fold_inputs, folder: Path, cpu_bf16: Callable[[bool], None], native: bool) -> FoldJob:  # noqa: F811
    """Fold 1 stopped after its first of two epochs, trained under ``amp: auto`` on a CPU with (or without)
    native bf16."""
    development, cache = fold_inputs
    job = FoldJob(development, cache, 1, folder)
    cpu_bf16(native)
    with pytest.raises(Interrupted):
        train_fold(tiny_config(epochs=2).training_recipe(), job, CPU, [_stop_after_one])
    return job


def test_a_bf16_fold_resumed_where_auto_gives_fp16_finishes_in_bf16(
        fold_inputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        cpu_bf16: Callable[[bool], None]) -> None:
    """The reported crash: the fp16 run's gradient scaler could not load the bf16 run's empty state."""
    job = _interrupted_fold(fold_inputs, tmp_path, cpu_bf16, True)
    saved = checkpoint.load(FoldFolder(tmp_path).last_pt)
    assert saved["precision"] == "bf16" and saved["scaler"] == {}
    as_a_v100 = Precision(torch.float16, "train.amp=auto: the GPU only emulates bf16, so fp16 with a gradient scaler")
    monkeypatch.setattr(fold_precision, "choose_precision", lambda amp, device: as_a_v100)
    state = train_fold(tiny_config(epochs=2).training_recipe(), job, CPU)
    assert state.finished and state.epoch == 2
    assert checkpoint.load(FoldFolder(tmp_path).last_pt)["precision"] == "bf16"


def test_an_fp32_fold_is_not_switched_to_bf16(fold_inputs, tmp_path: Path,  # noqa: F811
                                              cpu_bf16: Callable[[bool], None]) -> None:
    job = _interrupted_fold(fold_inputs, tmp_path, cpu_bf16, False)
    cpu_bf16(True)  # resumed on a CPU where auto gives bf16
    assert train_fold(tiny_config(epochs=2).training_recipe(), job, CPU).finished
    assert checkpoint.load(FoldFolder(tmp_path).last_pt)["precision"] == "fp32"


def test_a_bf16_fold_is_refused_on_a_cpu_that_would_emulate_bf16(fold_inputs, tmp_path: Path,  # noqa: F811
                                                                 cpu_bf16: Callable[[bool], None]) -> None:
    job = _interrupted_fold(fold_inputs, tmp_path, cpu_bf16, True)
    cpu_bf16(False)
    last, folder = re.escape(str(FoldFolder(tmp_path).last_pt)), re.escape(str(tmp_path))
    with pytest.raises(BusbenchError, match=rf"^{last}: the fold trains in bf16, which cpu cannot continue .*; resume "
                                            rf"it on a device that computes bf16 \(a GPU\), or delete {folder} to"):
        train_fold(tiny_config(epochs=2).training_recipe(), job, CPU)
