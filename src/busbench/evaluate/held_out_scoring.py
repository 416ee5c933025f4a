"""Final evaluation: fold models and their ensemble scored on the held-out test set at the
original resolution.

With ``eval.hd95_space: network`` (a published benchmark's convention) HD95 alone is measured in
the network's input square: the scored mask and the ground truth are placed there as the cache
places masks, letterbox padding included.

This is the one place in busbench that reads the test cases (``held_out_test_ids``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from busbench.config import EvalConfig
from busbench.data.access import held_out_test_ids
from busbench.data.cache import Cache
from busbench.data.geometry import place_mask
from busbench.data.manifest import Manifest
from busbench.data.split.split_file import read_split
from busbench.evaluate.inference import original_size_probabilities
from busbench.evaluate.metrics import image_metrics
from busbench.evaluate.postprocess import PostProcessing


def score_test_set(models: Sequence[nn.Module], manifest: Manifest, split_path: Path, cache: Cache,
                   cfg: EvalConfig, device: torch.device, variants: Mapping[str, PostProcessing],
                   dtype: torch.dtype | None = None) -> pd.DataFrame:
    """One row per test image and variant (a named post-processing of the same prediction).

    ``models`` are averaged (one fold model, or all of them as an ensemble) with ``cfg.tta``. Each
    row carries the image's ``group`` from the split (its patient and duplicate images): images of
    one group are not independent, so the report resamples and pairs whole groups.
    """
    case_ids = held_out_test_ids(split_path, manifest)
    group_of = {case["case_id"]: int(case["group"]) for case in read_split(split_path, manifest)["cases"]}
    rows_by_id = manifest.frame.set_index("case_id", drop=False)
    records = []
    for case_id, probability in original_size_probabilities(models, cache, case_ids, device, cfg.batch_size,
                                                            dtype, cfg.tta):
        row = rows_by_id.loc[case_id]
        truth = manifest.lesion(row)
        mask = probability >= cfg.threshold
        placement = cache.placement(case_id)
        for variant, post in variants.items():
            scored = post.apply(mask)
            on_network = (place_mask(scored, placement), place_mask(truth, placement)) \
                if cfg.hd95_space == "network" else None
            metrics = image_metrics(scored, truth, cfg.hd95, hd95_empty=cfg.hd95_empty, hd95_masks=on_network)
            records.append({"variant": variant, "case_id": case_id, "group": group_of[case_id], "label": row["label"],
                            **metrics})
    return pd.DataFrame(records)
