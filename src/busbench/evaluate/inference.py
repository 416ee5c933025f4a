"""Inference: fold-model ensembles with test-time augmentation, mapped back to the original size.

TTA averages the probabilities of the plain image and of each listed view (``hflip``,
``vflip``, ``rot180``), each mapped back before averaging; any combination can be listed. An
ensemble averages the probabilities of several models (the k fold models) the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from busbench.config import EvalConfig
from busbench.data.cache import Cache
from busbench.data.geometry import to_original
from busbench.data.torch_dataset import image_batch
from busbench.errors import BusbenchError
from busbench.models.precision import autocast

TTA_VIEWS = ("hflip", "vflip", "rot180")
FLIP_DIMS = {"hflip": (-1,), "vflip": (-2,), "rot180": (-2, -1)}


def _view(x: Tensor, name: str | None) -> Tensor:
    """The image seen through a TTA view; every view is its own inverse."""
    return x if name is None else torch.flip(x, FLIP_DIMS[name])


def check_views(tta: Sequence[str], setting: str) -> None:
    """Refuse a TTA view busbench does not know, naming ``setting`` (``--tta``, ``eval.tta``) and the choices."""
    unknown = sorted(set(tta) - set(TTA_VIEWS))
    if unknown:
        raise BusbenchError(f"{setting} {unknown}: unknown views; choose from {', '.join(TTA_VIEWS)}")


@torch.no_grad()
def ensemble_probabilities(models: Sequence[nn.Module], images: Tensor, tta: Sequence[str] = (),
                           dtype: torch.dtype | None = None) -> Tensor:
    """Mean lesion probability (N, H, W) over ``models`` and the plain + TTA views of ``images``."""
    check_views(tta, "eval.tta")
    views: list[str | None] = [None, *dict.fromkeys(tta)]
    total = torch.zeros(images.shape[0], *images.shape[2:], device=images.device)
    for model in models:
        model.eval()
        for view in views:
            with autocast(images.device, dtype):
                logits = model(_view(images, view))
            total += _view(torch.sigmoid(logits.float()), view)[:, 0]
    return total / (len(models) * len(views))


def cached_batches(cache: Cache, case_ids: list[str], batch_size: int,
                   device: torch.device) -> Iterator[tuple[list[str], Tensor]]:
    """Batches of cached network inputs (float in [0, 1], N x C x S x S) on ``device``."""
    rows = cache.rows(case_ids)
    for start in range(0, len(rows), batch_size):
        images = image_batch(cache.images[rows[start:start + batch_size]]).to(device)
        yield case_ids[start:start + batch_size], images


@dataclass(frozen=True)
class Compute:
    """Where inference runs, and in what autocast precision (None: fp32)."""

    device: torch.device
    dtype: torch.dtype | None = None


def original_size_probabilities(models: Sequence[nn.Module], cache: Cache, case_ids: list[str], compute: Compute,
                                evaluation: EvalConfig) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (case_id, lesion probability at the original image size) for each case, in batches of
    ``eval.batch_size`` with the views of ``eval.tta``."""
    for ids, images in cached_batches(cache, case_ids, evaluation.batch_size, compute.device):
        probabilities = ensemble_probabilities(models, images, evaluation.tta, compute.dtype).cpu().numpy()
        for case_id, probability in zip(ids, probabilities):
            yield case_id, to_original(probability, cache.placement(case_id))
