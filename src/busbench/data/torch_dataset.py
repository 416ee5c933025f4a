"""PyTorch datasets over the cache, and the only function that serves fold training data.

``fold_datasets`` takes a ``DevelopmentSplit``, which has no test cases in it, so what it serves
for training and validation cannot include the held-out test set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from busbench.data.access import DevelopmentSplit
from busbench.data.cache import Cache


# (image, mask, seed) -> (image, mask): a random transform drawing only from ``seed``.
def image_batch(images: np.ndarray) -> torch.Tensor:
    """uint8 images (N, H, W) or (N, H, W, C) -> float tensor (N, C, H, W) in [0, 1]."""
    batch = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)
    return batch.unsqueeze(1) if batch.ndim == 3 else batch.permute(0, 3, 1, 2)


PairTransform = Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]]


class CachedSegmentationDataset(Dataset[dict[str, object]]):
    """Cached cases as ``{"image": (C,S,S) float in [0,1], "mask": (1,S,S) float 0/1, "case_id"}``.

    A transform gets a seed made of ``seed``, the epoch and the sample index, so the data of an
    epoch do not depend on worker scheduling or on where a run was resumed. The epoch comes with
    the index from an ``EpochSampler`` (an ``(epoch, index)`` pair), or else from ``set_epoch``.
    """

    def __init__(self, cache: Cache, case_ids: Sequence[str], transform: PairTransform | None = None,
                 seed: int = 0) -> None:
        self.cache = cache
        self.case_ids = list(case_ids)
        self.rows = cache.rows(self.case_ids)
        self.transform = transform
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, item: int | tuple[int, int]) -> dict[str, object]:
        """Sample ``i`` (``item``, or ``(epoch, i)``); an index past the end (``RepeatedSampler``) is case
        ``i % len`` again, with an augmentation of its own."""
        epoch, i = item if isinstance(item, tuple) else (self.epoch, item)
        row = i % len(self.rows)
        image = np.array(self.cache.images[self.rows[row]])  # a writable copy out of the memory map
        mask = np.array(self.cache.masks[self.rows[row]])
        if self.transform is not None:
            sample_seed = int(np.random.SeedSequence([self.seed, epoch, i]).generate_state(1)[0])
            image, mask = self.transform(image, mask, sample_seed)
        image_t = image_batch(image[None])[0]
        mask_t = torch.from_numpy(np.ascontiguousarray(mask)).float().unsqueeze(0)
        return {"image": image_t, "mask": mask_t, "case_id": self.case_ids[row]}


class RepeatedSampler(Sampler[int]):
    """``num_samples`` indices over ``size`` cases: whole random permutations one after another, the
    k-th offset by k x ``size`` so that every repeat of a case draws a fresh augmentation. Gives
    nnU-Net's fixed-length epochs (a number of iterations, not one pass over the data)."""

    def __init__(self, size: int, num_samples: int, generator: torch.Generator) -> None:
        self.size, self.num_samples, self.generator = size, num_samples, generator

    def __iter__(self) -> Iterator[int]:
        repeats = -(-self.num_samples // self.size)
        order = torch.cat([torch.randperm(self.size, generator=self.generator) + k * self.size for k in range(repeats)])
        return iter(order[: self.num_samples].tolist())

    def __len__(self) -> int:
        return self.num_samples


class EpochSampler(Sampler[tuple[int, int]]):
    """An epoch's training order, shuffled from ``seed + epoch``, each index paired with the epoch.

    The epoch travels to the loader's workers with every index, so persistent workers (whose copy
    of the dataset never sees the main process's ``set_epoch``) augment each epoch as a fresh
    loader, or no worker at all, would. ``num_samples`` gives fixed-length epochs (``RepeatedSampler``).
    """

    def __init__(self, size: int, seed: int, num_samples: int | None = None) -> None:
        self.size, self.seed, self.num_samples, self.epoch = size, seed, num_samples, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[int, int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        if self.num_samples is not None:
            order = list(RepeatedSampler(self.size, self.num_samples, generator))
        else:
            # the draw a DataLoader shuffling with this generator made first (its workers' base
            # seed), so that the orders are those of runs made before this sampler
            torch.empty((), dtype=torch.int64).random_(generator=generator)
            order = torch.randperm(self.size, generator=generator).tolist()
        return iter([(self.epoch, i) for i in order])

    def __len__(self) -> int:
        return self.size if self.num_samples is None else self.num_samples


def fold_datasets(
    development: DevelopmentSplit, cache: Cache, fold: int, train_transform: PairTransform | None = None,
    seed: int = 0,
) -> tuple[CachedSegmentationDataset, CachedSegmentationDataset]:
    """Training and validation datasets of fold model ``fold`` (development cases only)."""
    if not isinstance(development, DevelopmentSplit):
        raise TypeError("fold_datasets needs a DevelopmentSplit (busbench.data.access.development_split)")
    train = CachedSegmentationDataset(cache, development.train_ids(fold), train_transform, seed)
    val = CachedSegmentationDataset(cache, development.val_ids(fold))
    return train, val
