"""Checkpoints hold tensors and plain data only, every load refuses a file that would run code, and they
load on the CPU whatever the training device and resume with fewer GPUs visible."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from test_trainer import Interrupted, fold_inputs, tiny_config  # noqa: F401  (fold_inputs: a fixture)

from busbench.data.duplicates.links import DuplicateSettings
from busbench.data.manifest import Manifest
from busbench.errors import BusbenchError
from busbench.train import checkpoint
from busbench.train.callbacks import EpochRecord
from busbench.train.init_source import check_init_source
from busbench.train.trainer import FoldJob, train_fold

CPU = torch.device("cpu")


def test_rng_states_mapped_off_the_cpu_cannot_be_restored(tmp_path: Path) -> None:
    """The mechanism of the CUDA resume crash: map_location="meta" goes through the same check as a GPU."""
    path = tmp_path / "state.pt"
    checkpoint.save_atomic({"rng": checkpoint.rng_state()}, path)
    moved = torch.load(path, map_location="meta", weights_only=False)["rng"]
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        checkpoint.restore_rng(moved)
    checkpoint.restore_rng(checkpoint.load(path)["rng"])  # loaded on the CPU: restorable


def test_resume_loads_last_pt_on_the_cpu(fold_inputs, tmp_path: Path,  # noqa: F811
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A resume asks torch.load for the CPU, not the training device: any other map_location is
    played here by "meta", which fails as CUDA does."""
    development, cache = fold_inputs
    cfg = tiny_config(epochs=2)

    def stop(record: EpochRecord) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        train_fold(cfg.training_recipe(), FoldJob(development, cache, 1, tmp_path), CPU, [stop])
    real_load = torch.load

    def load_as_on_a_gpu(path: object, map_location: object = None, **kwargs: object) -> object:
        return real_load(path, map_location="cpu" if map_location == "cpu" and isinstance(map_location, str)
                         else "meta", **kwargs)

    monkeypatch.setattr(checkpoint.torch, "load", load_as_on_a_gpu)
    state = train_fold(cfg.training_recipe(), FoldJob(development, cache, 1, tmp_path), CPU)
    assert state.finished and state.epoch == 2


def test_cuda_rng_states_are_restored_for_the_visible_gpus_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Saved with 2 GPUs, resumed with CUDA_VISIBLE_DEVICES=0: one state restored, no crash."""
    restored: list[int] = []

    def set_state(state: torch.Tensor, device: int | str = "cuda") -> None:
        index = int(device) if not isinstance(device, str) else 0
        if index >= 1:
            raise RuntimeError(f"CUDA error: invalid device ordinal {index}")  # as torch does with one GPU
        restored.append(index)

    state = {**checkpoint.rng_state(), "cuda": [torch.zeros(16, dtype=torch.uint8), torch.ones(16, dtype=torch.uint8)]}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_rng_state", set_state)
    monkeypatch.setattr(torch.cuda.random, "set_rng_state", set_state)  # what set_rng_state_all calls
    checkpoint.restore_rng(state)
    assert restored == [0]


class _Payload:
    """Unpickling this object runs code: it writes the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


def test_rng_state_survives_a_weights_only_load(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.normal()  # a cached Gaussian is part of numpy's state
    checkpoint.save_atomic({"rng": checkpoint.rng_state()}, tmp_path / "last.pt")
    expected = (random.random(), np.random.normal(), torch.rand(2).tolist())
    checkpoint.restore_rng(torch.load(tmp_path / "last.pt", weights_only=True)["rng"])
    assert (random.random(), np.random.normal(), torch.rand(2).tolist()) == expected


def test_init_from_a_crafted_checkpoint_is_refused_without_running_it(tmp_path: Path,
                                                                      synthetic_manifest: Manifest) -> None:
    crafted, marker = tmp_path / "best.pt", tmp_path / "payload-ran"
    torch.save({"model": {}, "training_images": _Payload(marker)}, crafted)
    with pytest.raises(BusbenchError, match=rf"^{crafted}: refused, it holds Python objects"):
        check_init_source(crafted, "refuse", synthetic_manifest, ["syn_00000"], DuplicateSettings(), "split.json")
    assert not marker.exists()
