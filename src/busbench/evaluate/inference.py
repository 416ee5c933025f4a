"""Inference on cached inputs, with probabilities mapped back to each image's original size."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from busbench.data.cache import Cache
from busbench.data.geometry import to_original
from busbench.train.device import autocast


@torch.no_grad()
def original_size_probabilities(model: nn.Module, cache: Cache, case_ids: list[str], device: torch.device,
                                batch_size: int = 16, dtype: torch.dtype | None = None,
                                channels_last: bool = False) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (case_id, lesion probability at the original image size) for each case."""
    model.eval()
    rows = cache.rows(case_ids)
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        images = torch.from_numpy(np.array(cache.images[chunk])).float().div_(255.0)
        images = images.unsqueeze(1) if images.ndim == 3 else images.permute(0, 3, 1, 2)
        images = images.to(device)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with autocast(device, dtype):
            logits = model(images)
        probabilities = torch.sigmoid(logits.float())[:, 0].cpu().numpy()
        for case_id, probability in zip(case_ids[start:start + batch_size], probabilities):
            yield case_id, to_original(probability, cache.placement(case_id))
