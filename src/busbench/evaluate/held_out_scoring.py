"""Final evaluation: fold models and their ensemble scored on the held-out test set at the
original resolution.

With ``eval.hd95_space: network`` (a published benchmark's convention) HD95 alone is measured in
the network's input square: the scored mask and the ground truth are placed there as the cache
places masks, letterbox padding included.

This is the one place in busbench that scores the test cases (``Split.held_out``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from torch import nn

from busbench.config import EvalConfig
from busbench.data.access import held_out_test_ids
from busbench.data.geometry import place_mask
from busbench.data.manifest import case_row
from busbench.data.prepared import PreparedData
from busbench.evaluate.inference import Compute, original_size_probabilities
from busbench.evaluate.postprocess import PostProcessing
from busbench.evaluate.reliability_counts import ReliabilityCounts
from busbench.metrics.per_image import MetricRules, image_metrics
from busbench.metrics.shape import shape_columns
from busbench.progress import progress


def score_test_set(models: Sequence[nn.Module], data: PreparedData, cfg: EvalConfig, compute: Compute,
                   variants: Mapping[str, PostProcessing],
                   calibration: ReliabilityCounts | None = None) -> pd.DataFrame:
    """One row per test image and variant (a named post-processing of the same prediction).

    ``models`` are averaged (one fold model, or all of them as an ensemble) with ``cfg.tta``. Each
    row carries the image's ``group`` from the split (its patient and duplicate images): images of
    one group are not independent, so the report resamples and pairs whole groups. Each row also
    carries the image's highest lesion probability (``max_prob``, the score of image-level lesion
    detection; post-processing does not change it) and the true and predicted lesion shapes
    (``shape_columns``). ``calibration`` collects the per-image probability-bin counts.
    """
    manifest, cache, group_of = data.manifest, data.cache, data.split.groups
    rows_by_id = manifest.frame.set_index("case_id", drop=False)
    rules = MetricRules(cfg.hd95, cfg.hd95_empty, cfg.nsd_tolerance)
    records = []
    case_ids = held_out_test_ids(data.split, manifest)  # the files scored against, checked by content
    predicted = original_size_probabilities(models, cache, case_ids, compute, cfg)
    for case_id, probability in progress(predicted, f"scoring {len(models)} model(s) on the test images",
                                         total=len(case_ids)):
        row = case_row(rows_by_id, case_id)
        truth = manifest.lesion(row)
        mask = probability >= cfg.threshold
        placement = cache.placement(case_id)
        if calibration is not None:
            calibration.add(case_id, group_of[case_id], probability, truth)
        for variant, post in variants.items():
            scored = post.apply(mask)
            on_network = (place_mask(scored, placement), place_mask(truth, placement)) \
                if cfg.hd95_space == "network" else None
            metrics = image_metrics(scored, truth, rules, hd95_masks=on_network)
            records.append({"variant": variant, "case_id": case_id, "group": group_of[case_id], "label": row["label"],
                            **metrics, "max_prob": float(probability.max()), **shape_columns(scored, truth)})
    return pd.DataFrame(records)
