"""Checkpoints hold tensors and plain data only, and every load refuses a file that would run code."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from busbench.data.duplicates import DuplicateSettings
from busbench.data.manifest import Manifest
from busbench.errors import BusbenchError
from busbench.train import checkpoint
from busbench.train.init_source import check_init_source


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
