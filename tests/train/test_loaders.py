"""Fold loaders: persistent workers give each epoch exactly the augmented batches of a loader without workers."""

from __future__ import annotations

import cv2
import torch
from test_trainer import fold_inputs  # noqa: F401  (a fixture)

from busbench.augment import PairAugmentation
from busbench.config import TrainConfig
from busbench.data.torch_dataset import CachedSegmentationDataset
from busbench.train.loaders import PREFETCH_BATCHES, training_loader, validation_loader

CPU = torch.device("cpu")


def _epochs(loader: torch.utils.data.DataLoader, epochs: list[int]) -> list[list[torch.Tensor]]:
    batches = []
    for epoch in epochs:
        loader.dataset.set_epoch(epoch)  # what reaches the main process's copy only (the trainer once relied on it)
        loader.sampler.set_epoch(epoch)
        batches.append([batch["image"] for batch in loader])
    return batches


def test_persistent_workers_augment_each_epoch_as_without_workers(fold_inputs) -> None:  # noqa: F811
    development, cache = fold_inputs
    dataset = CachedSegmentationDataset(cache, development.train_ids(1)[:12], PairAugmentation("strong"), seed=7)
    plain = training_loader(dataset, TrainConfig(workers=0, batch_size=4), CPU, seed=11)
    workers = training_loader(dataset, TrainConfig(workers=2, batch_size=4), CPU, seed=11)
    assert workers.persistent_workers and workers.prefetch_factor == PREFETCH_BATCHES
    expected, got = _epochs(plain, [1, 2, 3]), _epochs(workers, [1, 2, 3])
    for epoch_expected, epoch_got in zip(expected, got):
        assert len(epoch_expected) == len(epoch_got) == 3
        assert all(torch.equal(a, b) for a, b in zip(epoch_expected, epoch_got))
    assert not torch.equal(expected[0][0], expected[1][0])  # each epoch its own order and augmentation


def test_fixed_length_epochs_and_validation_loader(fold_inputs) -> None:  # noqa: F811
    development, cache = fold_inputs
    dataset = CachedSegmentationDataset(cache, development.train_ids(1)[:5], PairAugmentation("light"), seed=1)
    loader = training_loader(dataset, TrainConfig(workers=0, batch_size=2, iterations_per_epoch=4), CPU, seed=3)
    assert len(loader) == 4 and sum(len(b["image"]) for b in loader) == 8
    val = validation_loader(dataset, TrainConfig(workers="auto", batch_size=2), CPU)
    assert val.num_workers == 0 and [b["case_id"] for b in val][0] == dataset.case_ids[:2]


def test_drop_last_sets_the_batches_per_epoch(fold_inputs) -> None:  # noqa: F811
    development, cache = fold_inputs
    dataset = CachedSegmentationDataset(cache, development.train_ids(1)[:5], PairAugmentation("none"), seed=1)
    assert TrainConfig().drop_last  # busbench's behaviour before the setting existed
    dropped = training_loader(dataset, TrainConfig(workers=0, batch_size=2), CPU, seed=3)
    kept = training_loader(dataset, TrainConfig(workers=0, batch_size=2, drop_last=False), CPU, seed=3)
    assert len(dropped) == 2 and [len(b["image"]) for b in dropped] == [2, 2]
    assert len(kept) == 3 and [len(b["image"]) for b in kept] == [2, 2, 1]
    only = training_loader(dataset, TrainConfig(workers=0, batch_size=8), CPU, seed=3)  # a single partial batch
    assert [len(b["image"]) for b in only] == [5]


class OpenCVThreads(torch.utils.data.Dataset):
    """Each item: how many threads OpenCV may use where the item is loaded."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> int:
        return cv2.getNumThreads()


def test_each_worker_runs_opencv_on_one_thread() -> None:
    before = cv2.getNumThreads()
    cv2.setNumThreads(4)  # several, whatever this machine's cores: what forked workers would inherit
    try:
        loader = validation_loader(OpenCVThreads(), TrainConfig(workers=2, batch_size=1), CPU)  # type: ignore[arg-type]
        assert [int(batch) for batch in loader] == [1, 1, 1, 1]
        assert cv2.getNumThreads() == 4  # the training process keeps its own
    finally:
        cv2.setNumThreads(before)
